"""Payment objects (``pay_``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = ["Payment", "PaymentStatus"]


class PaymentStatus(OpenEnum):
    """``created -> processing -> completed | failed``; ``created -> canceled``."""

    CREATED = "created"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Payment(NuveraModel):
    """A payment from a customer to one of its beneficiaries."""

    id: str
    object: str
    customer_id: str
    beneficiary_id: str
    amount: Decimal
    currency: str
    status: PaymentStatus
    reference: str | None
    description: str | None
    failure_reason: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
