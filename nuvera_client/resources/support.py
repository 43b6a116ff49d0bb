"""Support tickets and messages (``/v1/support/tickets``): SUPPORT_READ / _WRITE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client._resource import (
    AsyncResource,
    Call,
    ExtraBody,
    ExtraHeaders,
    ExtraQuery,
    FileInput,
    FilePart,
    SyncResource,
    TimeoutTypes,
    body_fields,
    query_params,
)
from nuvera_client.models.support import SupportMessage, SupportTicket, TicketPriority

if TYPE_CHECKING:
    from nuvera_client._resource import AsyncCaller, SyncCaller

__all__ = [
    "AsyncSupport",
    "AsyncTicketMessages",
    "AsyncTickets",
    "Support",
    "TicketMessages",
    "Tickets",
]

_TICKETS = "/v1/support/tickets"
_MESSAGES = "/v1/support/tickets/{id}/messages"


def _list_tickets(
    cursor: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[SupportTicket]]:
    return Call(
        "GET",
        _TICKETS,
        parse=page_parser(SupportTicket.from_dict),
        query=query_params(limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _create_ticket(
    body: dict[str, object],
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[SupportTicket]:
    return Call(
        "POST",
        _TICKETS,
        parse=SupportTicket.from_dict,
        json=body,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve_ticket(
    ticket_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[SupportTicket]:
    return Call(
        "GET",
        "/v1/support/tickets/{id}",
        {"id": ticket_id},
        parse=SupportTicket.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _close_ticket(
    ticket_id: str,
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[SupportTicket]:
    return Call(
        "POST",
        "/v1/support/tickets/{id}/close",
        {"id": ticket_id},
        parse=SupportTicket.from_dict,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _list_messages(
    cursor: str | None,
    ticket_id: str,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[SupportMessage]]:
    return Call(
        "GET",
        _MESSAGES,
        {"id": ticket_id},
        parse=page_parser(SupportMessage.from_dict),
        query=query_params(limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _create_message(
    ticket_id: str,
    body: str,
    attachments: Sequence[FileInput] | None,
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[SupportMessage]:
    if not attachments:
        return Call(
            "POST",
            _MESSAGES,
            {"id": ticket_id},
            parse=SupportMessage.from_dict,
            json={"body": body},
            idempotency_key=idempotency_key,
            max_retries=max_retries,
            timeout=timeout,
        )
    return Call(
        "POST",
        _MESSAGES,
        {"id": ticket_id},
        parse=SupportMessage.from_dict,
        form={"body": body},
        files=tuple(FilePart("attachments", a) for a in attachments),
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


class TicketMessages(SyncResource):
    """The messages of a support ticket (oldest first)."""

    def list(
        self,
        ticket_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[SupportMessage]:
        """List a ticket's messages; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_messages(c, ticket_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def create(
        self,
        ticket_id: str,
        *,
        body: str,
        attachments: Sequence[FileInput] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportMessage:
        """Post a message; ``attachments`` are paths, bytes or binary file objects."""
        return self._send(
            _create_message(
                ticket_id, body, attachments, idempotency_key, max_retries, timeout
            ),
            extra_headers,
            extra_query,
            extra_body,
        )


class Tickets(SyncResource):
    """Support tickets; their messages are at ``messages``.

    See [`TicketMessages`][nuvera_client.resources.support.TicketMessages].
    """

    def __init__(self, client: SyncCaller) -> None:
        super().__init__(client)
        self.messages = TicketMessages(client)
        """The messages of a ticket."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[SupportTicket]:
        """List tickets, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_tickets(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def create(
        self,
        *,
        subject: str,
        body: str,
        priority: TicketPriority | str | None = None,
        customer_id: str | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Open a ticket; ``body`` becomes its first message."""
        fields = body_fields(
            subject=subject, body=body, priority=priority, customer_id=customer_id
        )
        return self._send(
            _create_ticket(fields, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def retrieve(
        self,
        ticket_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Fetch one ticket by id."""
        return self._send(
            _retrieve_ticket(ticket_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def close(
        self,
        ticket_id: str,
        *,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Close a ticket (closing a closed ticket is 409 ``invalid_state``)."""
        return self._send(
            _close_ticket(ticket_id, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class Support:
    """Support: ``tickets`` (and ``tickets.messages``).

    See [`Tickets`][nuvera_client.resources.support.Tickets].
    """

    def __init__(self, client: SyncCaller) -> None:
        self.tickets = Tickets(client)
        """Support tickets."""


class AsyncTicketMessages(AsyncResource):
    """The messages of a support ticket (oldest first)."""

    def list(
        self,
        ticket_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[SupportMessage]:
        """List a ticket's messages; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_messages(c, ticket_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def create(
        self,
        ticket_id: str,
        *,
        body: str,
        attachments: Sequence[FileInput] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportMessage:
        """Post a message; ``attachments`` are paths, bytes or binary file objects."""
        return await self._send(
            _create_message(
                ticket_id, body, attachments, idempotency_key, max_retries, timeout
            ),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncTickets(AsyncResource):
    """Support tickets; their messages are at ``messages``.

    See [`AsyncTicketMessages`][nuvera_client.resources.support.AsyncTicketMessages].
    """

    def __init__(self, client: AsyncCaller) -> None:
        super().__init__(client)
        self.messages = AsyncTicketMessages(client)
        """The messages of a ticket."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[SupportTicket]:
        """List tickets, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_tickets(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def create(
        self,
        *,
        subject: str,
        body: str,
        priority: TicketPriority | str | None = None,
        customer_id: str | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Open a ticket; ``body`` becomes its first message."""
        fields = body_fields(
            subject=subject, body=body, priority=priority, customer_id=customer_id
        )
        return await self._send(
            _create_ticket(fields, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def retrieve(
        self,
        ticket_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Fetch one ticket by id."""
        return await self._send(
            _retrieve_ticket(ticket_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def close(
        self,
        ticket_id: str,
        *,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> SupportTicket:
        """Close a ticket (closing a closed ticket is 409 ``invalid_state``)."""
        return await self._send(
            _close_ticket(ticket_id, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncSupport:
    """Support: ``tickets`` (and ``tickets.messages``).

    See [`AsyncTickets`][nuvera_client.resources.support.AsyncTickets].
    """

    def __init__(self, client: AsyncCaller) -> None:
        self.tickets = AsyncTickets(client)
        """Support tickets."""
