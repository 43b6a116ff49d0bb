"""Typed models of the Nuvera API objects: frozen dataclasses parsed from JSON.

Money is ``Decimal``, timestamps aware UTC ``datetime``,
statuses [`OpenEnum`][nuvera_client.models.OpenEnum] members (unknown future values are
accepted), and fields this SDK version does not know are kept in ``.extra``;
``to_dict()`` round-trips.
"""

from nuvera_client.models._base import JSONValue, NuveraModel, OpenEnum
from nuvera_client.models.beneficiaries import (
    BankAccount,
    Beneficiary,
    BeneficiaryStatus,
    BeneficiaryType,
    CryptoWallet,
    DeletedBeneficiary,
)
from nuvera_client.models.crypto import CryptoAsset, CryptoNetwork, CryptoStatus
from nuvera_client.models.customers import (
    Customer,
    CustomerStatus,
    CustomerType,
    KycStatus,
)
from nuvera_client.models.documents import Document, DocumentType
from nuvera_client.models.payments import Payment, PaymentStatus
from nuvera_client.models.screening import (
    ScreeningMatch,
    ScreeningResult,
    ScreeningStatus,
    SubjectType,
)
from nuvera_client.models.support import (
    Attachment,
    MessageAuthor,
    SupportMessage,
    SupportTicket,
    TicketPriority,
    TicketStatus,
)

__all__ = [
    "Attachment",
    "BankAccount",
    "Beneficiary",
    "BeneficiaryStatus",
    "BeneficiaryType",
    "CryptoAsset",
    "CryptoNetwork",
    "CryptoStatus",
    "CryptoWallet",
    "Customer",
    "CustomerStatus",
    "CustomerType",
    "DeletedBeneficiary",
    "Document",
    "DocumentType",
    "JSONValue",
    "KycStatus",
    "MessageAuthor",
    "NuveraModel",
    "OpenEnum",
    "Payment",
    "PaymentStatus",
    "ScreeningMatch",
    "ScreeningResult",
    "ScreeningStatus",
    "SubjectType",
    "SupportMessage",
    "SupportTicket",
    "TicketPriority",
    "TicketStatus",
]
