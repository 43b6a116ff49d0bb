"""Support tickets (``tkt_``), their messages (``msg_``) and attachments (``att_``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = [
    "Attachment",
    "MessageAuthor",
    "SupportMessage",
    "SupportTicket",
    "TicketPriority",
    "TicketStatus",
]


class TicketStatus(OpenEnum):
    """Whether the ticket accepts messages."""

    OPEN = "open"
    CLOSED = "closed"


class TicketPriority(OpenEnum):
    """How urgent the ticket is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MessageAuthor(OpenEnum):
    """Who wrote a message."""

    PARTNER = "partner"
    NUVERA = "nuvera"


@dataclass(frozen=True)
class SupportTicket(NuveraModel):
    """A conversation with Nuvera support."""

    id: str
    object: str
    subject: str
    status: TicketStatus
    priority: TicketPriority
    customer_id: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Attachment(NuveraModel):
    """A file attached to a support message."""

    id: str
    object: str
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SupportMessage(NuveraModel):
    """One message of a support ticket."""

    id: str
    object: str
    ticket_id: str
    author: MessageAuthor
    body: str
    attachments: tuple[Attachment, ...]
    created_at: datetime
