"""Owns beneficiaries: bank accounts (IBAN/BIC) and crypto wallets (reference data)."""

from __future__ import annotations

import json
import re
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._routes import crypto, customers, screening
from nuvera_client.sandbox._routes._banking import (
    BIC_RE,
    FIAT_MINOR_UNITS,
    iban_problem,
    normalise_iban,
)
from nuvera_client.sandbox._routes._common import (
    check_query,
    dump_metadata,
    fresh_id,
    iso,
    json_body,
    json_reply,
    load_metadata,
    now_ts,
)
from nuvera_client.sandbox._routes._pagination import (
    filter_id,
    page_params,
)
from nuvera_client.sandbox._routes._tables import OwnedTable
from nuvera_client.sandbox._routes._validation import (
    MISSING,
    Validator,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS beneficiaries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    bank_account TEXT,
    crypto_wallet TEXT,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS beneficiaries_app
    ON beneficiaries (application_id, customer_id, seq);
"""

TYPES = ("bank_account", "crypto_wallet")
STATUSES = ("active", "disabled")
CURRENCY_RE = re.compile(r"[A-Z0-9]{2,10}")

_CREATE_FIELDS = (
    "customer_id",
    "type",
    "name",
    "currency",
    "bank_account",
    "crypto_wallet",
    "metadata",
)
_UPDATE_FIELDS = ("name", "metadata", "status")
_COLUMNS = (
    "seq, id, customer_id, type, name, currency, bank_account, crypto_wallet, status,"
    " metadata, created_at, updated_at"
)


def render(row: dict[str, Any]) -> JSON:
    """Render a stored beneficiary."""
    bank = row["bank_account"]
    wallet = row["crypto_wallet"]
    return {
        "id": row["id"],
        "object": "beneficiary",
        "customer_id": row["customer_id"],
        "type": row["type"],
        "name": row["name"],
        "currency": row["currency"],
        "bank_account": None if bank is None else json.loads(bank),
        "crypto_wallet": None if wallet is None else json.loads(wallet),
        "status": row["status"],
        "metadata": load_metadata(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


# Soft-deleted rows stay stored (payments point at them) but no longer exist.
BENEFICIARIES = OwnedTable(
    "ben", "beneficiary", "beneficiaries", _COLUMNS, live="deleted = 0"
)


def _bank_account(v: Validator, raw: Any, currency: Any) -> dict[str, Any] | None:
    nested = v.nested("bank_account", raw, ("iban", "bic", "bank_name"))
    iban = nested.string("iban", required=True, max_len=42)
    if iban is not MISSING:
        iban = normalise_iban(iban)
        problem = iban_problem(iban)
        if problem is not None:
            nested.fail("iban", problem)
    bic = nested.string(
        "bic",
        nullable=True,
        max_len=11,
        pattern=BIC_RE,
        pattern_message="must be a BIC: 8 or 11 uppercase letters and digits",
    )
    bank_name = nested.string("bank_name", nullable=True, max_len=200)
    if isinstance(currency, str) and currency not in FIAT_MINOR_UNITS:
        v.fail("currency", "must be an ISO 4217 fiat currency for a bank account")
    if not nested.ok("iban") or iban is MISSING:
        return None
    return {
        "iban": iban,
        "bic": None if bic is MISSING else bic,
        "bank_name": None if bank_name is MISSING else bank_name,
        "country": iban[:2],
    }


def _crypto_wallet(
    ctx: RequestContext, v: Validator, raw: Any, currency: Any
) -> dict[str, Any] | None:
    nested = v.nested("crypto_wallet", raw, ("asset", "network", "address", "memo"))
    asset_code = nested.string("asset", required=True, max_len=10)
    network_code = nested.string("network", required=True, max_len=32)
    address = nested.string("address", required=True, max_len=200)
    memo = nested.string("memo", nullable=True, max_len=200)
    asset = None if asset_code is MISSING else crypto.find_asset(ctx.db, asset_code)
    network = (
        None if network_code is MISSING else crypto.find_network(ctx.db, network_code)
    )
    if asset_code is not MISSING:
        if asset is None:
            nested.fail("asset", f"unknown asset {asset_code}")
        elif asset["status"] != "active":
            nested.fail("asset", f"asset {asset_code} is suspended")
        elif isinstance(currency, str) and currency != asset_code:
            v.fail("currency", "must equal crypto_wallet.asset")
    if network_code is not MISSING:
        if network is None:
            nested.fail("network", f"unknown network {network_code}")
        elif network["status"] != "active":
            nested.fail("network", f"network {network_code} is suspended")
        elif asset is not None and network_code not in crypto.asset_networks(
            ctx.db, asset_code
        ):
            nested.fail(
                "network", f"network {network_code} does not carry {asset_code}"
            )
    if (
        network is not None
        and address is not MISSING
        and not re.fullmatch(network["address_pattern"], address)
    ):
        nested.fail("address", f"not a valid {network['name']} address")
    if asset is None or network is None or address is MISSING:
        return None
    return {
        "asset": asset_code,
        "network": network_code,
        "address": address,
        "memo": None if memo is MISSING else memo,
    }


async def create_beneficiary(ctx: RequestContext) -> Reply:
    """POST /v1/beneficiaries: a bank account or a crypto wallet of a customer."""
    check_query(ctx)
    body = json_body(ctx)
    v = Validator(body, _CREATE_FIELDS)
    customer_id = v.ref_id("customer_id", "cus", required=True)
    kind = v.choice("type", TYPES, required=True)
    name = v.string("name", required=True, max_len=200)
    currency = v.string(
        "currency",
        required=True,
        max_len=10,
        pattern=CURRENCY_RE,
        pattern_message="must be an uppercase currency or asset code",
    )
    metadata = v.metadata()
    if (
        customer_id is not MISSING
        and customers.CUSTOMERS.find(ctx.db, ctx.application_id, customer_id) is None
    ):
        v.fail("customer_id", "no such customer")
    details: dict[str, Any] | None = None
    if kind is not MISSING:
        wanted = kind
        other = "crypto_wallet" if kind == "bank_account" else "bank_account"
        raw = v.obj(wanted, required=True)
        if v.has(other) and body[other] is not None:
            v.fail(other, f"must be absent or null for type {kind}")
        if raw is not MISSING:
            if kind == "bank_account":
                details = _bank_account(v, raw, currency)
            else:
                details = _crypto_wallet(ctx, v, raw, currency)
    v.raise_if_errors()
    if details is None:  # every path that leaves it None recorded an error
        raise RuntimeError("beneficiary details missing after validation")
    now = now_ts(ctx)
    beneficiary_id = fresh_id(ctx, "ben")
    ctx.db.execute(
        "INSERT INTO beneficiaries (id, application_id, customer_id, type, name,"
        " currency, bank_account, crypto_wallet, status, metadata, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        (
            beneficiary_id,
            ctx.application_id,
            customer_id,
            kind,
            name,
            currency,
            json.dumps(details) if kind == "bank_account" else None,
            json.dumps(details) if kind == "crypto_wallet" else None,
            dump_metadata(metadata if metadata is not MISSING else None),
            now,
            now,
        ),
    )
    screening.screen(ctx, "beneficiary", beneficiary_id, name)
    return json_reply(render(BENEFICIARIES.written(ctx, beneficiary_id)), 201)


async def list_beneficiaries(ctx: RequestContext) -> Reply:
    """GET /v1/beneficiaries: newest first, filter ``customer_id``."""
    page = page_params(ctx, "ben", ["customer_id"])
    where: list[tuple[str, Any]] = []
    customer_id = filter_id(ctx, "customer_id", ["cus"])
    if customer_id is not None:
        where.append(("customer_id = ?", customer_id))
    return BENEFICIARIES.list_reply(ctx, page, render, where)


async def retrieve_beneficiary(ctx: RequestContext) -> Reply:
    """GET /v1/beneficiaries/{id}."""
    check_query(ctx)
    return json_reply(render(BENEFICIARIES.existing(ctx)))


async def update_beneficiary(ctx: RequestContext) -> Reply:
    """PATCH /v1/beneficiaries/{id}: ``name``, ``metadata``, ``status``."""
    check_query(ctx)
    row = BENEFICIARIES.existing(ctx)
    body = json_body(ctx)
    v = Validator(body, _UPDATE_FIELDS)
    if not body:
        v.fail("body", "at least one field is required")
    values = {
        "name": v.string("name", max_len=200),
        "metadata": v.metadata(),
        "status": v.choice("status", STATUSES),
    }
    v.raise_if_errors()
    changes = {name: value for name, value in values.items() if value is not MISSING}
    return json_reply(render(BENEFICIARIES.update(ctx, row, changes)))


async def delete_beneficiary(ctx: RequestContext) -> Reply:
    """DELETE /v1/beneficiaries/{id}: afterwards it is 404 and cannot be paid."""
    check_query(ctx)
    row = BENEFICIARIES.existing(ctx)
    # Soft delete: payments and screening results keep pointing at a real row.
    ctx.db.execute(
        "UPDATE beneficiaries SET deleted = 1, updated_at = ? WHERE seq = ?",
        (now_ts(ctx), row["seq"]),
    )
    return json_reply({"id": row["id"], "object": "beneficiary", "deleted": True})
