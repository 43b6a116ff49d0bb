"""Owns what every route handler shares: bodies, errors, ids, rows, timestamps."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import ApiProblem, not_found, validation_failed

ID_PATTERNS = {
    prefix: re.compile(rf"{prefix}_[0-9A-Za-z]+")
    for prefix in ("cus", "ben", "doc", "pay", "scr", "tkt", "msg", "att")
}


# ---- time -----------------------------------------------------------------------


def now_ts(ctx: RequestContext) -> float:
    """Return the sandbox clock as Unix seconds (sub-second precision kept)."""
    return ctx.now.timestamp()


def iso(ts: float) -> str:
    """Render Unix seconds as RFC 3339 UTC with ``Z`` and whole seconds."""
    moment = datetime.fromtimestamp(int(ts // 1), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(ts: float | None) -> str | None:
    """Render optional Unix seconds with ``iso()``."""
    return None if ts is None else iso(ts)


# ---- errors and replies ------------------------------------------------------------


def invalid_request(
    message: str, details: Mapping[str, JSON] | None = None
) -> ApiProblem:
    """Return the 400 ``invalid_request`` problem."""
    return ApiProblem(400, "invalid_request_error", "invalid_request", message, details)


def unsupported_media_type(accepted: Sequence[str], received: str) -> ApiProblem:
    """Return the 415 problem naming the accepted media types."""
    return ApiProblem(
        415,
        "invalid_request_error",
        "unsupported_media_type",
        f"Content-Type must be {' or '.join(accepted)}",
        {"accepted": list(accepted), "received": received},
    )


def payload_too_large(max_bytes: int) -> ApiProblem:
    """Return the 413 ``payload_too_large`` problem."""
    return ApiProblem(
        413,
        "invalid_request_error",
        "payload_too_large",
        f"The request body is larger than {max_bytes} bytes",
        {"max_bytes": max_bytes},
    )


def invalid_state(what: str, status: str, action: str) -> ApiProblem:
    """Return the 409 ``invalid_state`` problem (resources.md: state conflicts)."""
    return ApiProblem(
        409,
        "invalid_request_error",
        "invalid_state",
        f"Cannot {action} a {what} whose status is {status}",
        {"status": status},
    )


def json_reply(body: JSON, status: int = 200) -> Reply:
    """Return a JSON reply."""
    return Reply(status=status, body=body)


def fresh_id(ctx: RequestContext, prefix: str) -> str:
    """Return a new ``prefix_…`` id from ``ctx.new_id``.

    Accepts either ``new_id`` convention (``"cus"`` -> ``cus_…`` or ``cus…``), so the
    ids always have the ``prefix_`` form of PROTOCOL §5.1.
    """
    value = ctx.new_id(prefix)
    if value.startswith(prefix + "_"):
        return value
    return f"{prefix}_{value.removeprefix(prefix)}"


def require_id(prefix: str, what: str, value: str) -> str:
    """Return ``value`` if it is a well-formed ``prefix_`` id, else raise 404."""
    if not ID_PATTERNS[prefix].fullmatch(value):
        raise not_found(what, value)
    return value


# ---- request bodies ----------------------------------------------------------------


def media_type(ctx: RequestContext) -> str:
    """Return the request's media type, lowercased, without parameters."""
    return ctx.content_type.split(";", 1)[0].strip().lower()


def check_body_size(ctx: RequestContext) -> None:
    """Refuse a body over ``ctx.max_body_bytes`` with 413."""
    if len(ctx.body) > ctx.max_body_bytes:
        raise payload_too_large(ctx.max_body_bytes)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse_json_bytes(raw: bytes) -> dict[str, JSON]:
    """Parse ``raw`` as a UTF-8 JSON object, or raise 400 ``invalid_request``."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid_request(f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid_request("The body must be a JSON object")
    try:
        # A \ud800 escape decodes to a lone surrogate: not UTF-8 text (PROTOCOL §6).
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_request(
            "The body is not valid JSON text: it escapes a lone surrogate (\\ud800-"
            "\\udfff); send well-formed UTF-8"
        ) from None
    return value


def json_body(ctx: RequestContext) -> dict[str, JSON]:
    """Return the JSON object body of a POST/PATCH (415, 413, 400 otherwise)."""
    kind = media_type(ctx)
    if kind != "application/json":
        raise unsupported_media_type(["application/json"], kind)
    check_body_size(ctx)
    return parse_json_bytes(ctx.body)


def empty_action_body(ctx: RequestContext) -> None:
    """Accept the body of an action (``…/cancel``): nothing, or ``{}`` as JSON."""
    if not ctx.body:
        return
    body = json_body(ctx)
    if body:
        raise validation_failed(dict.fromkeys(body, "unknown field"))


def check_query(ctx: RequestContext, allowed: Iterable[str] = ()) -> None:
    """Refuse query parameters the endpoint does not know (422, like body fields)."""
    known = set(allowed)
    unknown = {name: "unknown parameter" for name, _ in ctx.query if name not in known}
    if unknown:
        raise validation_failed(unknown)


# ---- rows ---------------------------------------------------------------------------


def rows(
    db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Run ``sql`` and return its rows as dicts (whatever the row factory)."""
    cursor = db.execute(sql, tuple(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(
    db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
) -> dict[str, Any] | None:
    """Run ``sql`` and return its first row as a dict, or None."""
    found = rows(db, sql, params)
    return found[0] if found else None


def stored(row: dict[str, Any] | None) -> dict[str, Any]:
    """Return a row the handler has just written (it cannot be missing)."""
    if row is None:
        raise RuntimeError("a row written in this transaction is missing")
    return row


def dump_metadata(metadata: Mapping[str, str] | None) -> str:
    """Serialise metadata for storage."""
    return json.dumps(dict(metadata or {}), sort_keys=True, separators=(",", ":"))


def load_metadata(text: str | None) -> dict[str, str]:
    """Load stored metadata."""
    loaded: dict[str, str] = json.loads(text or "{}")
    return loaded
