"""Owns cursor pagination: limit/cursor parameters, keyset queries, list replies."""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import validation_failed
from nuvera_client.sandbox._routes._common import (
    ID_PATTERNS,
    check_query,
    json_reply,
    rows,
)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

_LIMIT_RE = re.compile(r"[0-9]{1,3}")
_CURSOR_RE = re.compile(r"([a-z]+):([0-9]{1,18})")


def encode_cursor(kind: str, seq: int) -> str:
    """Return the opaque cursor for the row after ``seq`` in list ``kind``."""
    return base64.urlsafe_b64encode(f"{kind}:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str) -> int | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    match = _CURSOR_RE.fullmatch(text)
    if match is None or match.group(1) != kind:
        return None
    return int(match.group(2))


def page_params(
    ctx: RequestContext, kind: str, filters: Iterable[str] = ()
) -> tuple[int, int | None]:
    """Check the query of a list endpoint; return ``(limit, cursor_seq)``.

    Unknown parameters, a bad ``limit`` and a cursor not issued by this list are 422.
    """
    check_query(ctx, {"limit", "cursor", *filters})
    errors: dict[str, str] = {}
    limit = DEFAULT_LIMIT
    raw_limit = ctx.query_value("limit")
    if raw_limit is not None:
        if _LIMIT_RE.fullmatch(raw_limit) and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            errors["limit"] = f"must be an integer from 1 to {MAX_LIMIT}"
    seq: int | None = None
    raw_cursor = ctx.query_value("cursor")
    if raw_cursor is not None:
        seq = _decode_cursor(kind, raw_cursor)
        if seq is None:
            errors["cursor"] = "invalid cursor; pass next_cursor from the previous page"
    if errors:
        raise validation_failed(errors)
    return limit, seq


def list_page(
    db: sqlite3.Connection,
    *,
    kind: str,
    select: str,
    where: Sequence[tuple[str, Any]],
    limit: int,
    cursor: int | None,
    render: Callable[[dict[str, Any]], JSON],
    oldest_first: bool = False,
) -> Reply:
    """Run a keyset-paginated query over ``seq`` and return the list reply.

    ``select`` is ``SELECT … FROM table``; ``where`` holds ``(sql, param)`` pairs
    (``param`` may be ``None`` for a clause without one).
    """
    clauses = [clause for clause, _ in where]
    params = [param for _, param in where if param is not None]
    if cursor is not None:
        clauses.append("seq > ?" if oldest_first else "seq < ?")
        params.append(cursor)
    sql = select
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY seq {'ASC' if oldest_first else 'DESC'} LIMIT ?"
    params.append(limit + 1)
    found = rows(db, sql, params)
    has_more = len(found) > limit
    found = found[:limit]
    next_cursor = encode_cursor(kind, found[-1]["seq"]) if has_more else None
    return json_reply(
        {
            "data": [render(row) for row in found],
            "has_more": has_more,
            "next_cursor": next_cursor,
        }
    )


def filter_id(ctx: RequestContext, name: str, prefixes: Sequence[str]) -> str | None:
    """Return an id filter from the query, refusing a malformed one with 422."""
    value = ctx.query_value(name)
    if value is None:
        return None
    if not any(ID_PATTERNS[prefix].fullmatch(value) for prefix in prefixes):
        starts = " or ".join(f"{prefix}_" for prefix in prefixes)
        raise validation_failed({name: f"must be an id starting with {starts}"})
    return value


def filter_choice(ctx: RequestContext, name: str, choices: Sequence[str]) -> str | None:
    """Return an enum filter from the query, refusing an unknown value with 422."""
    value = ctx.query_value(name)
    if value is not None and value not in choices:
        raise validation_failed({name: "must be one of: " + ", ".join(choices)})
    return value
