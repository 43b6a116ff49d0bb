"""Owns what every route handler shares: bodies, validation, pages, rows, timestamps."""

from __future__ import annotations

import base64
import binascii
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from nuvera_client.sandbox._routing import (
    JSON,
    ApiProblem,
    Reply,
    RequestContext,
    not_found,
    validation_failed,
)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500

ID_PATTERNS = {
    prefix: re.compile(rf"{prefix}_[0-9A-Za-z]+")
    for prefix in ("cus", "ben", "doc", "pay", "scr", "tkt", "msg", "att")
}
_LIMIT_RE = re.compile(r"[0-9]{1,3}")
_CURSOR_RE = re.compile(r"([a-z]+):([0-9]{1,18})")


class _Missing:
    """The type of ``MISSING``: a field absent from the body (unlike JSON ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


# ---- time -----------------------------------------------------------------------


def now_ts(ctx: RequestContext) -> float:
    """Return the sandbox clock as Unix seconds (sub-second precision kept)."""
    return ctx.now.timestamp()


def iso(ts: float) -> str:
    """Render Unix seconds as RFC 3339 UTC with ``Z`` and whole seconds."""
    moment = datetime.fromtimestamp(int(ts // 1), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(ts: float | None) -> str | None:
    """Render optional Unix seconds with :func:`iso`."""
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
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request(f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid_request("The body must be a JSON object")
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


# ---- validation ----------------------------------------------------------------------


class Validator:
    """Check a JSON object field by field, collecting errors as dotted names."""

    def __init__(
        self,
        body: Mapping[str, JSON],
        allowed: Iterable[str],
        *,
        prefix: str = "",
        errors: dict[str, str] | None = None,
    ) -> None:
        self.body = body
        self.prefix = prefix
        self.errors: dict[str, str] = {} if errors is None else errors
        known = set(allowed)
        for name in body:
            if name not in known:
                self.fail(name, "unknown field")

    def fail(self, name: str, message: str) -> None:
        """Record ``message`` for field ``name`` (first error per field wins)."""
        self.errors.setdefault(self.prefix + name, message)

    def has(self, name: str) -> bool:
        """Return whether the body carries ``name`` (even as ``null``)."""
        return name in self.body

    def ok(self, name: str) -> bool:
        """Return whether no error was recorded for ``name``."""
        return self.prefix + name not in self.errors

    def raise_if_errors(self) -> None:
        """Raise 422 ``validation_failed`` if any error was recorded."""
        if self.errors:
            raise validation_failed(self.errors)

    def _fetch(self, name: str, required: bool, nullable: bool) -> Any:
        if name not in self.body:
            if required:
                self.fail(name, "required")
            return MISSING
        value = self.body[name]
        if value is None:
            if not nullable:
                self.fail(name, "required" if required else "must not be null")
                return MISSING
            return None
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        nullable: bool = False,
        min_len: int = 1,
        max_len: int = 200,
        pattern: re.Pattern[str] | None = None,
        pattern_message: str = "has an invalid format",
    ) -> Any:
        """Return a string field, ``None``, or ``MISSING`` (errors recorded)."""
        value = self._fetch(name, required, nullable)
        if value is MISSING or value is None:
            return value
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return MISSING
        if min_len > 0 and not value.strip():
            self.fail(name, "must not be empty")
            return MISSING
        if len(value) < min_len:
            self.fail(name, f"must be at least {min_len} characters")
            return MISSING
        if len(value) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
            return MISSING
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(name, pattern_message)
            return MISSING
        return value

    def choice(
        self, name: str, choices: Sequence[str], *, required: bool = False
    ) -> Any:
        """Return one of ``choices`` or ``MISSING`` (errors recorded)."""
        value = self._fetch(name, required, False)
        if value is MISSING:
            return value
        if not isinstance(value, str) or value not in choices:
            self.fail(name, "must be one of: " + ", ".join(choices))
            return MISSING
        return value

    def obj(self, name: str, *, required: bool = False, nullable: bool = False) -> Any:
        """Return a nested JSON object, ``None``, or ``MISSING``."""
        value = self._fetch(name, required, nullable)
        if value is MISSING or value is None:
            return value
        if not isinstance(value, dict):
            self.fail(name, "must be an object")
            return MISSING
        return value

    def nested(
        self, name: str, body: Mapping[str, JSON], allowed: Iterable[str]
    ) -> Validator:
        """Return a validator for the object ``name``, sharing this one's errors."""
        return Validator(
            body, allowed, prefix=f"{self.prefix}{name}.", errors=self.errors
        )

    def metadata(self, name: str = "metadata") -> Any:
        """Return a metadata object (resources.md limits) or ``MISSING``."""
        value = self._fetch(name, False, False)
        if value is MISSING:
            return value
        if not isinstance(value, dict):
            self.fail(name, "must be an object of strings")
            return MISSING
        if len(value) > METADATA_MAX_KEYS:
            self.fail(name, f"must have at most {METADATA_MAX_KEYS} keys")
            return MISSING
        good = True
        for key, item in value.items():
            if not 1 <= len(key) <= METADATA_KEY_MAX:
                self.fail(name, f"keys must be 1..{METADATA_KEY_MAX} characters")
                good = False
            elif not isinstance(item, str):
                self.fail(f"{name}.{key}", "must be a string")
                good = False
            elif len(item) > METADATA_VALUE_MAX:
                self.fail(
                    f"{name}.{key}", f"must be at most {METADATA_VALUE_MAX} characters"
                )
                good = False
        return dict(value) if good else MISSING

    def ref_id(
        self, name: str, prefix: str, *, required: bool = False, nullable: bool = False
    ) -> Any:
        """Return an id field with the right prefix, ``None``, or ``MISSING``."""
        return self.string(
            name,
            required=required,
            nullable=nullable,
            max_len=64,
            pattern=ID_PATTERNS[prefix],
            pattern_message=f"must be an id starting with {prefix}_",
        )


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


# ---- pagination -------------------------------------------------------------------


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
