"""Document objects (``doc_``): identity and supporting files of a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = ["Document", "DocumentType"]


class DocumentType(OpenEnum):
    """The kind of document."""

    PASSPORT = "passport"
    ID_CARD = "id_card"
    DRIVERS_LICENSE = "drivers_license"
    PROOF_OF_ADDRESS = "proof_of_address"
    BANK_STATEMENT = "bank_statement"
    OTHER = "other"


@dataclass(frozen=True)
class Document(NuveraModel):
    """An uploaded document's metadata (the bytes come from ``download``)."""

    id: str
    object: str
    customer_id: str
    type: DocumentType
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
