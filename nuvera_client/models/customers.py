"""Customer objects (``cus_``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = ["Customer", "CustomerStatus", "CustomerType", "KycStatus"]


class CustomerType(OpenEnum):
    """Whether the customer is a person or a company."""

    INDIVIDUAL = "individual"
    BUSINESS = "business"


class CustomerStatus(OpenEnum):
    """The customer's account status."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class KycStatus(OpenEnum):
    """Identity verification progress (read-only)."""

    NOT_STARTED = "not_started"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Customer(NuveraModel):
    """A partner's customer."""

    id: str
    object: str
    type: CustomerType
    name: str
    email: str
    phone: str | None
    country: str | None
    external_id: str | None
    status: CustomerStatus
    kyc_status: KycStatus
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
