"""Owns customers: create, list (filters), retrieve, update; KYC status storage."""

from __future__ import annotations

import re
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._routes import screening
from nuvera_client.sandbox._routes._common import (
    check_query,
    dump_metadata,
    fresh_id,
    iso,
    json_body,
    json_reply,
    load_metadata,
    now_ts,
    one,
)
from nuvera_client.sandbox._routes._formats import is_email
from nuvera_client.sandbox._routes._pagination import (
    filter_choice,
    page_params,
)
from nuvera_client.sandbox._routes._tables import OwnedTable
from nuvera_client.sandbox._routes._validation import (
    MISSING,
    Validator,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    phone TEXT,
    country TEXT,
    external_id TEXT,
    status TEXT NOT NULL,
    kyc_status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_email
    ON customers (application_id, email_key);
CREATE UNIQUE INDEX IF NOT EXISTS customers_external_id
    ON customers (application_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS customers_app ON customers (application_id, seq);
"""

TYPES = ("individual", "business")
STATUSES = ("active", "suspended", "closed")
KYC_STATUSES = ("not_started", "pending", "verified", "rejected")

PHONE_RE = re.compile(r"\+[0-9]{7,15}")
COUNTRY_RE = re.compile(r"[A-Z]{2}")

_CREATE_FIELDS = (
    "type",
    "name",
    "email",
    "phone",
    "country",
    "external_id",
    "metadata",
)
_UPDATE_FIELDS = (*_CREATE_FIELDS[1:], "status")
_COLUMNS = (
    "seq, id, type, name, email, phone, country, external_id, status, kyc_status,"
    " metadata, created_at, updated_at"
)


def render(row: dict[str, Any]) -> JSON:
    """Render a stored customer."""
    return {
        "id": row["id"],
        "object": "customer",
        "type": row["type"],
        "name": row["name"],
        "email": row["email"],
        "phone": row["phone"],
        "country": row["country"],
        "external_id": row["external_id"],
        "status": row["status"],
        "kyc_status": row["kyc_status"],
        "metadata": load_metadata(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


CUSTOMERS = OwnedTable("cus", "customer", "customers", _COLUMNS)


def _check_fields(v: Validator, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if creating:
        values["type"] = v.choice("type", TYPES, required=True)
    values["name"] = v.string("name", required=creating, max_len=200)
    values["email"] = v.string(
        "email",
        required=creating,
        max_len=254,
        check=is_email,
        pattern_message="must be an email address",
    )
    values["phone"] = v.string(
        "phone",
        nullable=True,
        max_len=16,
        pattern=PHONE_RE,
        pattern_message="must be E.164: + and 7 to 15 digits",
    )
    values["country"] = v.string(
        "country",
        nullable=True,
        max_len=2,
        pattern=COUNTRY_RE,
        pattern_message="must be an ISO 3166-1 alpha-2 code in uppercase",
    )
    values["external_id"] = v.string("external_id", nullable=True, max_len=100)
    values["metadata"] = v.metadata()
    if not creating:
        values["status"] = v.choice("status", STATUSES)
    return {name: value for name, value in values.items() if value is not MISSING}


def _check_unique(
    ctx: RequestContext, v: Validator, values: dict[str, Any], own_id: str | None
) -> None:
    email = values.get("email")
    if email is not None and v.ok("email"):
        clash = one(
            ctx.db,
            "SELECT id FROM customers WHERE application_id = ? AND email_key = ?",
            (ctx.application_id, email.lower()),
        )
        if clash is not None and clash["id"] != own_id:
            v.fail("email", "already exists")
    external_id = values.get("external_id")
    if external_id is not None and v.ok("external_id"):
        clash = one(
            ctx.db,
            "SELECT id FROM customers WHERE application_id = ? AND external_id = ?",
            (ctx.application_id, external_id),
        )
        if clash is not None and clash["id"] != own_id:
            v.fail("external_id", "already exists")


async def create_customer(ctx: RequestContext) -> Reply:
    """POST /v1/customers: 201 with the new customer (and its screening result)."""
    check_query(ctx)
    body = json_body(ctx)
    v = Validator(body, _CREATE_FIELDS)
    values = _check_fields(v, creating=True)
    _check_unique(ctx, v, values, None)
    v.raise_if_errors()
    now = now_ts(ctx)
    customer_id = fresh_id(ctx, "cus")
    ctx.db.execute(
        "INSERT INTO customers (id, application_id, type, name, email, email_key,"
        " phone, country, external_id, status, kyc_status, metadata, created_at,"
        " updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 'not_started', ?, ?, ?)",
        (
            customer_id,
            ctx.application_id,
            values["type"],
            values["name"],
            values["email"],
            values["email"].lower(),
            values.get("phone"),
            values.get("country"),
            values.get("external_id"),
            dump_metadata(values.get("metadata")),
            now,
            now,
        ),
    )
    screening.screen(ctx, "customer", customer_id, values["name"])
    return json_reply(render(CUSTOMERS.written(ctx, customer_id)), 201)


async def list_customers(ctx: RequestContext) -> Reply:
    """GET /v1/customers: newest first; filters email, external_id, status."""
    page = page_params(ctx, "cus", ["email", "external_id", "status"])
    where: list[tuple[str, Any]] = []
    email = ctx.query_value("email")
    if email is not None:
        # Emails are unique case-insensitively, so the filter matches the same way.
        where.append(("email_key = ?", email.lower()))
    external_id = ctx.query_value("external_id")
    if external_id is not None:
        where.append(("external_id = ?", external_id))
    status = filter_choice(ctx, "status", STATUSES)
    if status is not None:
        where.append(("status = ?", status))
    return CUSTOMERS.list_reply(ctx, page, render, where)


async def retrieve_customer(ctx: RequestContext) -> Reply:
    """GET /v1/customers/{id}."""
    check_query(ctx)
    return json_reply(render(CUSTOMERS.existing(ctx)))


async def update_customer(ctx: RequestContext) -> Reply:
    """PATCH /v1/customers/{id}: set the given fields (at least one)."""
    check_query(ctx)
    row = CUSTOMERS.existing(ctx)
    body = json_body(ctx)
    v = Validator(body, _UPDATE_FIELDS)
    if not body:
        v.fail("body", "at least one field is required")
    values = _check_fields(v, creating=False)
    _check_unique(ctx, v, values, row["id"])
    v.raise_if_errors()
    if "email" in values:
        values["email_key"] = values["email"].lower()
    return json_reply(render(CUSTOMERS.update(ctx, row, values)))


def set_kyc_status(ctx: RequestContext, customer_id: str, kyc_status: str) -> None:
    """Store a new KYC status (the document upload emulation decides it)."""
    ctx.db.execute(
        "UPDATE customers SET kyc_status = ?, updated_at = ?"
        " WHERE application_id = ? AND id = ?",
        (kyc_status, now_ts(ctx), ctx.application_id, customer_id),
    )
