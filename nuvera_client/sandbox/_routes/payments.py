"""Owns payments: validation (Decimal money), the timed status machine, cancel."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._routes import beneficiaries, crypto, customers
from nuvera_client.sandbox._routes._banking import FIAT_MINOR_UNITS
from nuvera_client.sandbox._routes._common import (
    check_query,
    dump_metadata,
    empty_action_body,
    fresh_id,
    invalid_state,
    iso,
    json_body,
    json_reply,
    load_metadata,
    now_ts,
    require_id,
)
from nuvera_client.sandbox._routes._pagination import (
    filter_choice,
    filter_id,
    page_params,
)
from nuvera_client.sandbox._routes._tables import OwnedTable
from nuvera_client.sandbox._routes._validation import (
    MISSING,
    Validator,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    beneficiary_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reference TEXT,
    description TEXT,
    failure_reason TEXT,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_app ON payments (application_id, status, seq);
"""

STATUSES = ("created", "processing", "completed", "failed", "canceled")
PROCESSING_AFTER = 2.0
FINAL_AFTER = 5.0
FAILING_AMOUNT = Decimal("13.13")
FAILURE_REASON = "insufficient_funds"
MAX_DIGITS = 18
MAX_CRYPTO_DECIMALS = 8

_AMOUNT_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CREATE_FIELDS = (
    "customer_id",
    "beneficiary_id",
    "amount",
    "currency",
    "reference",
    "description",
    "metadata",
)
_COLUMNS = (
    "seq, id, customer_id, beneficiary_id, amount, currency, status, reference,"
    " description, failure_reason, metadata, created_at, updated_at"
)


def render(row: dict[str, Any]) -> JSON:
    """Render a stored payment."""
    return {
        "id": row["id"],
        "object": "payment",
        "customer_id": row["customer_id"],
        "beneficiary_id": row["beneficiary_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "status": row["status"],
        "reference": row["reference"],
        "description": row["description"],
        "failure_reason": row["failure_reason"],
        "metadata": load_metadata(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def progress(ctx: RequestContext) -> None:
    """Move this application's payments along the status machine up to ``ctx.now``.

    ``created`` becomes ``processing`` 2 s after creation and final (``completed``, or
    ``failed`` for the failing amount) 5 s after; each change is dated when it happened.
    """
    now = now_ts(ctx)
    ctx.db.execute(
        "UPDATE payments SET status = outcome,"
        " failure_reason = CASE outcome WHEN 'failed' THEN ? ELSE NULL END,"
        " updated_at = created_at + ?"
        " WHERE application_id = ? AND status IN ('created', 'processing')"
        " AND created_at + ? <= ?",
        (FAILURE_REASON, FINAL_AFTER, ctx.application_id, FINAL_AFTER, now),
    )
    ctx.db.execute(
        "UPDATE payments SET status = 'processing', updated_at = created_at + ?"
        " WHERE application_id = ? AND status = 'created' AND created_at + ? <= ?",
        (PROCESSING_AFTER, ctx.application_id, PROCESSING_AFTER, now),
    )


_PAYMENTS = OwnedTable("pay", "payment", "payments", _COLUMNS)


def _allowed_decimals(ctx: RequestContext, currency: str) -> int | None:
    """Return the decimals ``currency`` allows, or None for an unknown currency."""
    if currency in FIAT_MINOR_UNITS:
        return FIAT_MINOR_UNITS[currency]
    asset = crypto.find_asset(ctx.db, currency)
    if asset is None:
        return None
    return min(MAX_CRYPTO_DECIMALS, int(asset["decimals"]))


def check_amount(raw: str, decimals: int) -> tuple[str | None, str | None]:
    """Check a decimal-string amount; return ``(amount, None)`` or ``(None, why)``.

    Fiat amounts come back with exactly the currency's minor units (``"10"`` becomes
    ``"10.00"``); crypto amounts keep the digits given.
    """
    if not _AMOUNT_RE.fullmatch(raw):
        return None, 'must be a decimal string such as "1250.00"'
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern rules it out
        return None, "must be a decimal string"
    whole, _, fraction = raw.partition(".")
    if len(whole.lstrip("0")) + len(fraction) > MAX_DIGITS:
        return None, f"must have at most {MAX_DIGITS} digits"
    if value <= 0:
        return None, "must be greater than 0"
    if len(fraction.rstrip("0")) > decimals:
        return None, f"must have at most {decimals} decimals"
    return raw, None


async def create_payment(ctx: RequestContext) -> Reply:
    """POST /v1/payments: 201 with a ``created`` payment (idempotency is the app's)."""
    check_query(ctx)
    body = json_body(ctx)
    v = Validator(body, _CREATE_FIELDS)
    customer_id = v.ref_id("customer_id", "cus", required=True)
    beneficiary_id = v.ref_id("beneficiary_id", "ben", required=True)
    raw_amount = v.string("amount", required=True, max_len=40)
    currency = v.string("currency", required=True, max_len=10)
    reference = v.string("reference", nullable=True, max_len=140)
    description = v.string("description", nullable=True, max_len=500)
    metadata = v.metadata()
    if isinstance(body.get("amount"), int | float) and not isinstance(
        body["amount"], bool
    ):
        v.errors["amount"] = 'must be a decimal string such as "1250.00", not a number'
    customer = None
    if customer_id is not MISSING:
        customer = customers.CUSTOMERS.find(ctx.db, ctx.application_id, customer_id)
        if customer is None:
            v.fail("customer_id", "no such customer")
        elif customer["status"] != "active":
            v.fail("customer_id", f"customer is {customer['status']}")
    beneficiary = None
    if beneficiary_id is not MISSING:
        beneficiary = beneficiaries.BENEFICIARIES.find(
            ctx.db, ctx.application_id, beneficiary_id
        )
        if beneficiary is None:
            v.fail("beneficiary_id", "no such beneficiary")
        elif customer is not None and beneficiary["customer_id"] != customer_id:
            v.fail("beneficiary_id", "belongs to another customer")
        elif beneficiary["status"] != "active":
            v.fail("beneficiary_id", f"beneficiary is {beneficiary['status']}")
    decimals = None if currency is MISSING else _allowed_decimals(ctx, currency)
    if currency is not MISSING:
        if decimals is None:
            v.fail("currency", f"unknown currency {currency}")
        elif beneficiary is not None and currency != beneficiary["currency"]:
            v.fail(
                "currency",
                f"must equal the beneficiary's currency {beneficiary['currency']}",
            )
    amount: str | None = None
    if raw_amount is not MISSING:
        # Without a known currency the amount is still checked, up to 18 decimals.
        amount, problem = check_amount(
            raw_amount, MAX_DIGITS if decimals is None else decimals
        )
        if problem is not None:
            v.fail("amount", problem)
        elif (
            amount is not None and currency in FIAT_MINOR_UNITS and decimals is not None
        ):
            amount = str(Decimal(amount).quantize(Decimal(1).scaleb(-decimals)))
    v.raise_if_errors()
    if amount is None:  # currency and amount passed, so the amount was set
        raise RuntimeError("payment amount missing after validation")
    outcome = "failed" if Decimal(amount) == FAILING_AMOUNT else "completed"
    now = now_ts(ctx)
    payment_id = fresh_id(ctx, "pay")
    ctx.db.execute(
        "INSERT INTO payments (id, application_id, customer_id, beneficiary_id, amount,"
        " currency, status, outcome, reference, description, failure_reason, metadata,"
        " created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'created', ?, ?, ?, NULL, ?, ?, ?)",
        (
            payment_id,
            ctx.application_id,
            customer_id,
            beneficiary_id,
            amount,
            currency,
            outcome,
            None if reference is MISSING else reference,
            None if description is MISSING else description,
            dump_metadata(None if metadata is MISSING else metadata),
            now,
            now,
        ),
    )
    return json_reply(render(_PAYMENTS.written(ctx, payment_id)), 201)


async def list_payments(ctx: RequestContext) -> Reply:
    """GET /v1/payments: newest first; filters ``customer_id``, ``status``."""
    page = page_params(ctx, "pay", ["customer_id", "status"])
    where: list[tuple[str, Any]] = []
    customer_id = filter_id(ctx, "customer_id", ["cus"])
    if customer_id is not None:
        where.append(("customer_id = ?", customer_id))
    status = filter_choice(ctx, "status", STATUSES)
    if status is not None:
        where.append(("status = ?", status))
    progress(ctx)
    return _PAYMENTS.list_reply(ctx, page, render, where)


def _existing(ctx: RequestContext) -> dict[str, Any]:
    payment_id = require_id("pay", "payment", ctx.path_params["id"])
    progress(ctx)
    return _PAYMENTS.get(ctx, payment_id)


async def retrieve_payment(ctx: RequestContext) -> Reply:
    """GET /v1/payments/{id}: with its status as of the sandbox clock."""
    check_query(ctx)
    return json_reply(render(_existing(ctx)))


async def cancel_payment(ctx: RequestContext) -> Reply:
    """POST /v1/payments/{id}/cancel: only while ``created`` (else 409)."""
    check_query(ctx)
    row = _existing(ctx)
    empty_action_body(ctx)
    if row["status"] != "created":
        raise invalid_state("payment", row["status"], "cancel")
    ctx.db.execute(
        "UPDATE payments SET status = 'canceled', updated_at = ? WHERE seq = ?",
        (now_ts(ctx), row["seq"]),
    )
    return json_reply(render(_PAYMENTS.written(ctx, row["id"])))
