"""Owns support tickets and messages (JSON or multipart with attachments), close."""

from __future__ import annotations

import sqlite3
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import validation_failed
from nuvera_client.sandbox._routes import customers
from nuvera_client.sandbox._routes._common import (
    check_query,
    empty_action_body,
    fresh_id,
    invalid_state,
    iso,
    iso_or_none,
    json_body,
    json_reply,
    media_type,
    now_ts,
    one,
    rows,
    stored,
    unsupported_media_type,
)
from nuvera_client.sandbox._routes._files import (
    Upload,
    read_form,
    read_upload,
    store_content,
)
from nuvera_client.sandbox._routes._pagination import page_params
from nuvera_client.sandbox._routes._tables import OwnedTable
from nuvera_client.sandbox._routes._validation import (
    MISSING,
    Validator,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS support_tickets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    customer_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS support_tickets_app ON support_tickets (application_id, seq);
CREATE TABLE IF NOT EXISTS support_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS support_messages_ticket
    ON support_messages (application_id, ticket_id, seq);
CREATE TABLE IF NOT EXISTS support_attachments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB
);
CREATE INDEX IF NOT EXISTS support_attachments_message
    ON support_attachments (message_id, seq);
"""

PRIORITIES = ("low", "normal", "high", "urgent")
MAX_BODY_CHARS = 10000
NUVERA_REPLY = (
    "Thanks for your message. A Nuvera support agent will get back to you shortly. "
    "(This is an automatic reply from the local sandbox.)"
)

_TICKET_COLUMNS = (
    "seq, id, subject, status, priority, customer_id, created_at, updated_at, closed_at"
)
_MESSAGE_COLUMNS = "seq, id, ticket_id, author, body, created_at"


def render_ticket(row: dict[str, Any]) -> JSON:
    """Render a stored ticket."""
    return {
        "id": row["id"],
        "object": "support_ticket",
        "subject": row["subject"],
        "status": row["status"],
        "priority": row["priority"],
        "customer_id": row["customer_id"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "closed_at": iso_or_none(row["closed_at"]),
    }


def _render_message(db: sqlite3.Connection, row: dict[str, Any]) -> JSON:
    attachments = rows(
        db,
        "SELECT id, filename, content_type, size, sha256 FROM support_attachments"
        " WHERE message_id = ? ORDER BY seq",
        (row["id"],),
    )
    return {
        "id": row["id"],
        "object": "support_message",
        "ticket_id": row["ticket_id"],
        "author": row["author"],
        "body": row["body"],
        "attachments": [{"object": "attachment", **item} for item in attachments],
        "created_at": iso(row["created_at"]),
    }


_TICKETS = OwnedTable("tkt", "support ticket", "support_tickets", _TICKET_COLUMNS)
_MESSAGES = OwnedTable("msg", "message", "support_messages", _MESSAGE_COLUMNS)


async def _add_message(
    ctx: RequestContext, ticket_id: str, body: str, uploads: list[Upload]
) -> str:
    """Store a partner message, its attachments and the sandbox reply; return its id."""
    now = now_ts(ctx)
    message_id = fresh_id(ctx, "msg")
    ctx.db.execute(
        "INSERT INTO support_messages (id, application_id, ticket_id, author, body,"
        " created_at) VALUES (?, ?, ?, 'partner', ?, ?)",
        (message_id, ctx.application_id, ticket_id, body, now),
    )
    for upload in uploads:
        cursor = ctx.db.execute(
            "INSERT INTO support_attachments (id, application_id, message_id, filename,"
            " content_type, size, sha256, content)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, zeroblob(?))",
            (
                fresh_id(ctx, "att"),
                ctx.application_id,
                message_id,
                upload.filename,
                upload.content_type,
                upload.size,
                upload.sha256,
                upload.size,
            ),
        )
        if cursor.lastrowid is None:
            raise RuntimeError("attachment insert returned no row id")
        store_content(ctx.db, "support_attachments", cursor.lastrowid, upload)
    # The sandbox's support desk answers every partner message at once.
    ctx.db.execute(
        "INSERT INTO support_messages (id, application_id, ticket_id, author, body,"
        " created_at) VALUES (?, ?, ?, 'nuvera', ?, ?)",
        (fresh_id(ctx, "msg"), ctx.application_id, ticket_id, NUVERA_REPLY, now),
    )
    ctx.db.execute(
        "UPDATE support_tickets SET updated_at = ? WHERE application_id = ? AND id = ?",
        (now, ctx.application_id, ticket_id),
    )
    return message_id


async def create_ticket(ctx: RequestContext) -> Reply:
    """POST /v1/support/tickets: ``subject`` and ``body`` (the first message)."""
    check_query(ctx)
    body = json_body(ctx)
    v = Validator(body, ("subject", "body", "priority", "customer_id"))
    subject = v.string("subject", required=True, max_len=200)
    text = v.string("body", required=True, max_len=MAX_BODY_CHARS)
    priority = v.choice("priority", PRIORITIES)
    customer_id = v.ref_id("customer_id", "cus", nullable=True)
    if (
        isinstance(customer_id, str)
        and customers.CUSTOMERS.find(ctx.db, ctx.application_id, customer_id) is None
    ):
        v.fail("customer_id", "no such customer")
    v.raise_if_errors()
    now = now_ts(ctx)
    ticket_id = fresh_id(ctx, "tkt")
    ctx.db.execute(
        "INSERT INTO support_tickets (id, application_id, subject, status, priority,"
        " customer_id, created_at, updated_at, closed_at)"
        " VALUES (?, ?, ?, 'open', ?, ?, ?, ?, NULL)",
        (
            ticket_id,
            ctx.application_id,
            subject,
            "normal" if priority is MISSING else priority,
            None if customer_id is MISSING else customer_id,
            now,
            now,
        ),
    )
    await _add_message(ctx, ticket_id, text, [])
    return json_reply(render_ticket(_TICKETS.written(ctx, ticket_id)), 201)


async def list_tickets(ctx: RequestContext) -> Reply:
    """GET /v1/support/tickets: newest first."""
    return _TICKETS.list_reply(ctx, page_params(ctx, "tkt"), render_ticket)


async def retrieve_ticket(ctx: RequestContext) -> Reply:
    """GET /v1/support/tickets/{id}."""
    check_query(ctx)
    return json_reply(render_ticket(_TICKETS.existing(ctx)))


async def close_ticket(ctx: RequestContext) -> Reply:
    """POST /v1/support/tickets/{id}/close: 409 if already closed."""
    check_query(ctx)
    row = _TICKETS.existing(ctx)
    empty_action_body(ctx)
    if row["status"] != "open":
        raise invalid_state("support ticket", row["status"], "close")
    now = now_ts(ctx)
    ctx.db.execute(
        "UPDATE support_tickets SET status = 'closed', closed_at = ?, updated_at = ?"
        " WHERE seq = ?",
        (now, now, row["seq"]),
    )
    return json_reply(render_ticket(_TICKETS.written(ctx, row["id"])))


async def list_messages(ctx: RequestContext) -> Reply:
    """GET /v1/support/tickets/{id}/messages: oldest first."""
    ticket = _TICKETS.existing(ctx)
    return _MESSAGES.list_reply(
        ctx,
        page_params(ctx, "msg"),
        lambda row: _render_message(ctx.db, row),
        [("ticket_id = ?", ticket["id"])],
        oldest_first=True,
    )


async def _multipart_message(ctx: RequestContext) -> tuple[str, list[Upload]]:
    form = await read_form(ctx, text_fields=("body",), file_fields=("attachments",))
    errors = form.errors
    text = form.texts.get("body")
    if text is None:
        errors.setdefault("body", "required")
    elif not text:
        errors.setdefault("body", "must not be empty")
    elif len(text) > MAX_BODY_CHARS:
        errors.setdefault("body", f"must be at most {MAX_BODY_CHARS} characters")
    if errors:
        raise validation_failed(errors)
    uploads = [
        read_upload(part, ctx.max_body_bytes, "attachments")
        for part in form.files.get("attachments", [])
    ]
    return text or "", uploads


async def create_message(ctx: RequestContext) -> Reply:
    """POST /v1/support/tickets/{id}/messages: JSON ``{"body"}`` or multipart."""
    check_query(ctx)
    ticket = _TICKETS.existing(ctx)
    kind = media_type(ctx)
    if kind == "multipart/form-data":
        text, uploads = await _multipart_message(ctx)
    elif kind == "application/json":
        v = Validator(json_body(ctx), ("body",))
        text = v.string("body", required=True, max_len=MAX_BODY_CHARS)
        v.raise_if_errors()
        uploads = []
    else:
        raise unsupported_media_type(["application/json", "multipart/form-data"], kind)
    if ticket["status"] != "open":
        raise invalid_state("support ticket", ticket["status"], "add a message to")
    message_id = await _add_message(ctx, ticket["id"], text, uploads)
    row = stored(
        one(
            ctx.db,
            _MESSAGES.select + " WHERE id = ?",
            (message_id,),
        )
    )
    return json_reply(_render_message(ctx.db, row), 201)
