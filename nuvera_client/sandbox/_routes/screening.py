"""Owns screening results: created with customers and beneficiaries, read-only here."""

from __future__ import annotations

import json
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._routes._common import (
    check_query,
    fresh_id,
    iso,
    json_reply,
    now_ts,
)
from nuvera_client.sandbox._routes._pagination import (
    filter_id,
    page_params,
)
from nuvera_client.sandbox._routes._tables import OwnedTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS screening_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    status TEXT NOT NULL,
    matches TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS screening_results_app
    ON screening_results (application_id, subject_id, seq);
"""

SANCTION_MARKER = "Sanction"
MATCH_LIST = "OFAC SDN"
MATCH_SCORE = "0.92"

_COLUMNS = "seq, id, subject_type, subject_id, status, matches, created_at"

_RESULTS = OwnedTable("scr", "screening result", "screening_results", _COLUMNS)


def screen(ctx: RequestContext, subject_type: str, subject_id: str, name: str) -> None:
    """Record the screening result of a new customer or beneficiary.

    Sandbox rule (resources.md): a name containing "Sanction" is a potential match on
    the OFAC SDN list; anything else is clear.
    """
    matches: list[dict[str, str]] = []
    status = "clear"
    if SANCTION_MARKER in name:
        status = "potential_match"
        matches.append({"list": MATCH_LIST, "name": name, "score": MATCH_SCORE})
    ctx.db.execute(
        "INSERT INTO screening_results (id, application_id, subject_type, subject_id,"
        " status, matches, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            fresh_id(ctx, "scr"),
            ctx.application_id,
            subject_type,
            subject_id,
            status,
            json.dumps(matches),
            now_ts(ctx),
        ),
    )


def render(row: dict[str, Any]) -> JSON:
    """Render a stored screening result."""
    return {
        "id": row["id"],
        "object": "screening_result",
        "subject_type": row["subject_type"],
        "subject_id": row["subject_id"],
        "status": row["status"],
        "matches": json.loads(row["matches"]),
        "created_at": iso(row["created_at"]),
    }


async def list_results(ctx: RequestContext) -> Reply:
    """GET /v1/screening/results: newest first, filter ``subject_id``."""
    page = page_params(ctx, "scr", ["subject_id"])
    where: list[tuple[str, Any]] = []
    subject_id = filter_id(ctx, "subject_id", ["cus", "ben"])
    if subject_id is not None:
        where.append(("subject_id = ?", subject_id))
    return _RESULTS.list_reply(ctx, page, render, where)


async def retrieve_result(ctx: RequestContext) -> Reply:
    """GET /v1/screening/results/{id}."""
    check_query(ctx)
    return json_reply(render(_RESULTS.existing(ctx)))
