"""Owns the request log: every request the sandbox answered, newest first, bounded.

The log keeps what a developer needs to see why a request was refused, and no
secret: the API key as prefix and last four only, the token's decoded header and
claims without its signature segment, the server-derived method, target and body
hash beside the claimed ones, and the answer (status, error code and ``details``,
a bounded copy of a textual body). It lives in the sandbox's store (table
``request_log``), so it is shared with ``nuvera sandbox logs`` through a state
file and cleared with the state; only the last ``RETENTION`` rows are kept.

``RequestTap`` wraps the API app and hands ``RequestLog.capture()`` what it saw of
each request, after the answer is sent: that call is the only link to the pipeline.

Logging costs a request almost nothing (PROTOCOL §3's verification is what a
request pays for): ``capture()`` only appends the raw facts to a bounded in-memory
queue. ``flush()`` writes the queue in one transaction, as plain columns (the API
key already redacted, the token without its signature), before any read of the log
in this process, when the store closes and, with a state file (which another
process may read), at most ``FLUSH_DELAY`` seconds later on the serving event loop.
The display entry (decoded token, parsed error) is built when a row is read. A
process killed outright loses at most the last ``FLUSH_DELAY`` seconds of the log,
never anything of the replay store, idempotency or the platform (those are written
before the answer).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import functools
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from nuvera_client.sandbox._store import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("nuvera_client.sandbox")

RETENTION = 1000
MAX_RESPONSE_BYTES = 16 * 1024
MAX_TOKEN_CHARS = 16 * 1024
# Captured requests reach the store this long after their answer at most (seconds).
FLUSH_DELAY = 1.0
_PREFIX_CHARS = 13

SCHEMA = """
CREATE TABLE IF NOT EXISTS request_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT,
    at REAL NOT NULL,
    application_id TEXT,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    error_code TEXT,
    kid TEXT,
    api_key TEXT,
    token TEXT,
    token_note TEXT,
    signature_chars INTEGER,
    body_sha256 TEXT,
    body_length INTEGER NOT NULL,
    request_content_type TEXT,
    idempotency_key TEXT,
    response_headers BLOB NOT NULL,
    response_body BLOB,
    response_truncated INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS request_log_app ON request_log(application_id);
"""
# The layout before the log was written in batches kept a JSON ``entry`` per row;
# such a table (a diagnostic, bounded to RETENTION rows) is dropped and recreated.
_OLD_LAYOUT_COLUMN = "entry"

# PROTOCOL §3: the check each refusal code comes from.
CHECKS: dict[str, int] = {
    "missing_api_key": 1,
    "invalid_api_key": 2,
    "api_key_revoked": 3,
    "application_disabled": 4,
    "missing_signature": 5,
    "malformed_token": 6,
    "unsupported_algorithm": 7,
    "unknown_signing_key": 8,
    "invalid_signature": 9,
    "invalid_issuer": 10,
    "invalid_audience": 10,
    "invalid_lifetime": 12,
    "token_not_yet_valid": 13,
    "token_expired": 14,
    "replayed_jti": 15,
    "method_mismatch": 16,
    "uri_mismatch": 17,
    "body_hash_mismatch": 18,
    "permission_denied": 19,
}

# One line each: what usually causes the refusal and what to do.
HINTS: dict[str, str] = {
    "missing_api_key": "Send the API key in an x-api-key header.",
    "invalid_api_key": "The key is mistyped, truncated or unknown here: copy it again "
    "(a live key never works on the sandbox).",
    "api_key_revoked": "The key was revoked or its rotation grace period ended: use "
    "the newest key.",
    "application_disabled": "Enable the application on its page (or ask the admin who "
    "disabled it).",
    "missing_signature": "Send 'Authorization: Bearer <JWT>' signed with the "
    "application's private key.",
    "malformed_token": "The token must be three base64url JSON parts with every claim "
    "typed as in PROTOCOL §2.1 (check 6 or 11).",
    "unsupported_algorithm": "Sign with RS256 (RSASSA-PKCS1-v1_5, SHA-256); never "
    "'none' or HMAC.",
    "unknown_signing_key": "The kid is not an active signing key of this application: "
    "derive it from the key you sign with (RFC 7638) and upload that public key.",
    "invalid_signature": "The private key does not match the public key named by kid, "
    "or the signed bytes were changed.",
    "invalid_issuer": 'Set iss to exactly "nuvera-api".',
    "invalid_audience": 'Set aud to exactly the string "nuvera-rest-api".',
    "invalid_lifetime": "Make exp - iat between 1 and 60 seconds.",
    "token_not_yet_valid": "Your clock is ahead of the server's: learn the offset from "
    "details.server_time and sign again.",
    "token_expired": "Your clock is behind, or the token was kept too long: sign every "
    "attempt afresh.",
    "replayed_jti": "Every attempt, retries included, needs a fresh jti.",
    "method_mismatch": "Sign the request's own method, uppercase.",
    "uri_mismatch": "Sign the request target byte for byte as sent (path and query, "
    "same percent-encoding, no bare '?').",
    "body_hash_mismatch": "Hash the exact bytes sent (after gzip, before chunking);"
    " the body changed after signing.",
    "permission_denied": "Grant the permission named in details to the application.",
}


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    return json.loads(raw.decode("utf-8"))


def _bearer_parts(
    authorization: Sequence[str],
) -> tuple[str, int] | dict[str, object] | None:
    """Split a bearer token into its signing input and its signature's length.

    Returns ``(header.claims, signature characters)`` for a 3-part token, else what
    ``decode_token()`` answers for it (None, or a dict with ``error``): never the
    signature segment.
    """
    if len(authorization) != 1:
        return None if not authorization else {"error": "several Authorization headers"}
    scheme, _, token = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        return {"error": f"token of {len(token)} characters not decoded"}
    dots = token.count(".")
    if dots != 2:
        return {"error": f"{dots + 1} dot-separated parts instead of 3"}
    signing_input, _, signature = token.rpartition(".")
    return signing_input, len(signature)


def _decode_signing_input(
    signing_input: str, signature_chars: int
) -> dict[str, object]:
    decoded: dict[str, object] = {"signature_chars": signature_chars}
    for name, segment in zip(
        ("header", "claims"), signing_input.split("."), strict=True
    ):
        try:
            decoded[name] = _b64url_json(segment)
        except (ValueError, binascii.Error, UnicodeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            decoded[name] = None
            decoded.setdefault("error", f"the {name} is not base64url JSON")
    return decoded


def decode_token(authorization: Sequence[str]) -> dict[str, object] | None:
    """Return the token's decoded header and claims (never its signature segment).

    ``None`` when no bearer token was sent; ``{"error": ...}`` when it cannot be
    decoded for display (the verifier's verdict is in the response).
    """
    parts = _bearer_parts(authorization)
    if parts is None or isinstance(parts, dict):
        return parts
    return _decode_signing_input(*parts)


@functools.lru_cache(maxsize=64)
def _kid_of_header(segment: str) -> str | None:
    """Return the kid a token header segment names (for ``kid_last_used()``)."""
    try:
        header = _b64url_json(segment)
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def redact_api_key(values: Sequence[str]) -> str | None:
    """Show an API key as its prefix and last four only (never more)."""
    if not values:
        return None
    key = values[0].strip()
    if len(values) > 1:
        return f"{len(values)} x-api-key headers"
    if not key:
        return "(empty)"
    if len(key) < _PREFIX_CHARS + 4:
        return f"({len(key)} characters, too short to show)"
    return f"{key[:_PREFIX_CHARS]}…{key[-4:]}"


@dataclass(frozen=True)
class LoggedRequest:
    """One row of the request log (no secret in it)."""

    id: int
    request_id: str | None
    at: float
    application_id: str | None
    method: str
    target: str
    path: str
    status: int
    error_code: str | None
    entry: dict[str, Any] = field(repr=False)

    @property
    def check(self) -> int | None:
        """Return the PROTOCOL §3 check number of the refusal, if it is one."""
        return CHECKS.get(self.error_code or "")

    @property
    def hint(self) -> str | None:
        """Return a one-line hint for the refusal, if there is one."""
        return HINTS.get(self.error_code or "")

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (``nuvera sandbox logs --json``)."""
        return {
            "id": self.id,
            "request_id": self.request_id,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)),
            "application_id": self.application_id,
            "method": self.method,
            "target": self.target,
            "status": self.status,
            "error_code": self.error_code,
            "check": self.check,
            "hint": self.hint,
            **self.entry,
        }


class Captured(NamedTuple):
    """What the tap saw of one request, kept in memory until ``flush()``.

    ``scope`` holds the raw credentials (the log redacts them when it writes):
    never shown, never written as such.
    """

    at: float
    scope: Scope
    body_sha256: str | None
    body_length: int
    status: int
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes
    response_truncated: bool
    duration_ms: float


_TEXT_MEDIA = ("application/json", "text/")
_INSERT = (
    "INSERT INTO request_log (request_id, at, application_id, method, target, path,"
    " status, error_code, kid, api_key, token, token_note, signature_chars,"
    " body_sha256, body_length, request_content_type, idempotency_key,"
    " response_headers, response_body, response_truncated, media_type, duration_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class RequestLog:
    """The request log of one store."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float] = time.time,
        *,
        retention: int = RETENTION,
    ) -> None:
        self._store = store
        self._clock = clock
        self.retention = retention
        # Captured, not yet written; only the newest ``retention`` can ever be shown.
        self._pending: collections.deque[Captured] = collections.deque(maxlen=retention)
        self._pending_lock = threading.Lock()
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        # A state file can be read by another process (``nuvera sandbox logs``).
        self._shared = store.path is not None
        with store.transaction() as db:
            columns = [row[1] for row in db.execute("PRAGMA table_info(request_log)")]
            if _OLD_LAYOUT_COLUMN in columns:
                db.execute("DROP TABLE request_log")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        store.add_close_hook(self.flush)

    def now(self) -> float:
        """Return the log's clock (the sandbox's server time)."""
        return self._clock()

    # -- writing -----------------------------------------------------------------

    def capture(self, captured: Captured) -> None:
        """Queue one answered request; it is written within ``FLUSH_DELAY`` s.

        An in-memory store has no reader in another process: its queue is written
        only when this process reads the log (the queue keeps the newest
        ``retention`` requests, all a read could show).
        """
        with self._pending_lock:
            self._pending.append(captured)
        if not self._shared:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (another loop library): write now
            self.flush()
            return
        previous = self._timer_loop
        if previous is loop:
            return  # a flush is already scheduled on this loop
        if previous is not None and previous.is_closed():
            # The sync in-process transport runs one short loop per request, which
            # takes its timer along: write what it left behind now.
            self.flush()
        self._timer_loop = loop
        loop.call_later(FLUSH_DELAY, self._flush_on_timer, loop)

    def _flush_on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._store.closed:
            return
        try:
            written = self._flush(blocking=False)
        except Exception:
            # The log is a diagnostic aid: it never breaks the server.
            logger.exception("the request log could not write its queue")
            written = True
        if written:
            self._timer_loop = None
        else:  # the store is busy: try again shortly
            loop.call_later(FLUSH_DELAY, self._flush_on_timer, loop)

    def flush(self) -> None:
        """Write every captured request now (reads and ``Store.close()`` do)."""
        self._flush(blocking=True)

    def _flush(self, *, blocking: bool) -> bool:
        with self._pending_lock:
            if not self._pending:
                return True
            batch = list(self._pending)
            self._pending.clear()
        rows = [self._row_values(captured) for captured in batch]

        def write(db: sqlite3.Connection) -> None:
            owners: dict[str, str | None] = {}
            values = []
            for api_keys, row in rows:
                values.append(
                    (row[0], row[1], _application_of(db, api_keys, owners), *row[2:])
                )
            db.executemany(_INSERT, values)
            newest = db.execute("SELECT max(id) FROM request_log").fetchone()[0] or 0
            # Bounded retention: ids only grow (AUTOINCREMENT), so the newest
            # ``retention`` rows are those above the newest id minus retention.
            db.execute(
                "DELETE FROM request_log WHERE id <= ?", (newest - self.retention,)
            )

        if blocking:
            with self._store.transaction(bump=False) as db:
                write(db)
            return True
        if self._store.try_transaction(write):
            return True
        with self._pending_lock:  # put them back, oldest first
            self._pending.extendleft(reversed(batch))
        return False

    @staticmethod
    def _row_values(c: Captured) -> tuple[list[str], tuple[Any, ...]]:
        """Return the API keys (for attribution) and the row minus application_id."""
        scope = c.scope
        api_keys: list[str] = []
        authorizations: list[str] = []
        content_type = idempotency_key = None
        for name, value in scope.get("headers", []):
            name = name.lower()
            if name == b"x-api-key":
                api_keys.append(value.decode("latin-1"))
            elif name == b"authorization":
                authorizations.append(value.decode("latin-1"))
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"idempotency-key" and idempotency_key is None:
                idempotency_key = value.decode("latin-1")
        request_id = None
        media = ""
        for name, value in c.response_headers:
            name = name.lower()
            if name == b"content-type":
                media = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
        code = None
        if c.status >= 400 and media.startswith("application/json"):
            error = _error_of(c.response_body, c.response_truncated)
            if error is not None and isinstance(error.get("code"), str):
                code = error["code"]
        parts = _bearer_parts(authorizations)
        token = note = kid = None
        signature_chars = None
        if isinstance(parts, tuple):
            token, signature_chars = parts
            kid = _kid_of_header(token.split(".", 1)[0])
        elif parts is not None:
            note = json.dumps(parts)
        return api_keys, (
            request_id,
            c.at,
            scope["method"],
            _raw_target(scope),
            scope["path"],
            c.status,
            code,
            kid,
            redact_api_key(api_keys),
            token,
            note,
            signature_chars,
            c.body_sha256,
            c.body_length,
            content_type,
            idempotency_key,
            b"\r\n".join([name + b": " + value for name, value in c.response_headers]),
            c.response_body if media.startswith(_TEXT_MEDIA) else None,
            int(c.response_truncated),
            media,
            round(c.duration_ms, 2),
        )

    def clear(self) -> None:
        """Forget every logged request."""
        with self._pending_lock:
            self._pending.clear()
        with self._store.transaction(bump=False) as db:
            db.execute("DELETE FROM request_log")

    # -- reading -----------------------------------------------------------------

    def list(
        self,
        *,
        application_ids: Sequence[str] | None = None,
        include_unattributed: bool = True,
        application_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: str | None = None,
        error_code: str | None = None,
        after_id: int | None = None,
        limit: int = 200,
    ) -> list[LoggedRequest]:
        """Return matching requests, newest first.

        Args:
            application_ids: restrict to these applications (None: every one).
            application_id: one application only.
            method: the request method.
            error_code: the answer's error code (``body_hash_mismatch``).
            limit: at most this many rows.
            include_unattributed: with ``application_ids``, also show requests that
                named no known application (missing or unknown API key).
            status: an exact status (``401``) or a class (``4xx``).
            path: a substring of the path.
            after_id: only rows newer than this id (live updates).
        """
        where: list[str] = []
        args: list[object] = []
        if application_ids is not None:
            marks = ", ".join("?" for _ in application_ids) or "NULL"
            scope = f"application_id IN ({marks})"
            if include_unattributed:
                scope = f"({scope} OR application_id IS NULL)"
            where.append(scope)
            args += list(application_ids)
        if application_id:
            where.append("application_id = ?")
            args.append(application_id)
        if method:
            where.append("method = ?")
            args.append(method.upper())
        if path:
            where.append("instr(path, ?) > 0")
            args.append(path)
        if status:
            low, high = parse_status(status)
            where.append("status BETWEEN ? AND ?")
            args += [low, high]
        if error_code:
            where.append("error_code = ?")
            args.append(error_code)
        if after_id is not None:
            where.append("id > ?")
            args.append(after_id)
        query = "SELECT * FROM request_log"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, self.retention)))
        self.flush()
        with self._store.transaction(bump=False) as db:
            rows = db.execute(query, args).fetchall()
        return [_row(r) for r in rows]

    def kid_last_used(self, application_id: str, kid: str) -> float | None:
        """Return when a token naming ``kid`` last passed the signature check (9)."""
        before = [code for code, check in CHECKS.items() if check <= 9]
        marks = ", ".join("?" for _ in before)
        query = (
            "SELECT max(at) FROM request_log WHERE application_id = ? AND kid = ?"
            " AND (error_code IS NULL OR error_code NOT IN ("
        )
        self.flush()
        with self._store.transaction(bump=False) as db:
            row = db.execute(
                query + marks + "))",
                (application_id, kid, *before),
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def get(self, request_id: int) -> LoggedRequest | None:
        """Return one logged request by its log id."""
        self.flush()
        with self._store.transaction(bump=False) as db:
            row = db.execute(
                "SELECT * FROM request_log WHERE id = ?", (request_id,)
            ).fetchone()
        return None if row is None else _row(row)


def parse_status(text: str) -> tuple[int, int]:
    """Parse a status filter: ``401`` or a class such as ``4xx``; ValueError if bad."""
    text = text.strip().lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        base = int(text[0]) * 100
        return base, base + 99
    if len(text) == 3 and text.isdigit() and 100 <= int(text) <= 599:
        return int(text), int(text)
    raise ValueError(f"status filter {text!r}: use a status such as 401 or a class 4xx")


def _error_of(body: bytes, truncated: bool) -> dict[str, object] | None:
    """Return the ``error`` object of a JSON answer, if it has one."""
    if truncated:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        error: dict[str, object] = parsed["error"]
        return error
    return None


def _response_headers(raw: bytes) -> dict[str, str]:
    """Return the answer's headers as logged (``name: value`` lines), no cookies."""
    shown: dict[str, str] = {}
    for line in bytes(raw).split(b"\r\n"):
        name, _, value = line.partition(b": ")
        key = name.decode("latin-1").lower()
        if key and key != "set-cookie":
            shown[key] = value.decode("latin-1")
    return shown


def _row(row: sqlite3.Row) -> LoggedRequest:
    """Build a row's display entry (the decoded token, the parsed error) on reading."""
    token: dict[str, object] | None
    if row["token"] is not None:
        token = _decode_signing_input(row["token"], row["signature_chars"])
    elif row["token_note"] is not None:
        token = json.loads(row["token_note"])
    else:
        token = None
    claims = token.get("claims") if token else None
    media = row["media_type"]
    raw_body = row["response_body"]
    shown_body = (
        None if raw_body is None else bytes(raw_body).decode("utf-8", "replace")
    )
    error = None
    if raw_body is not None and media.startswith("application/json"):
        error = _error_of(bytes(raw_body), bool(row["response_truncated"]))
    entry: dict[str, Any] = {
        "api_key": row["api_key"],
        "token": token,
        "derived": {
            "method": row["method"],
            "uri": row["target"],
            "body_hash": row["body_sha256"],
        },
        "claimed": {
            name: claims.get(name) if isinstance(claims, dict) else None
            for name in ("method", "uri", "body_hash")
        },
        "body_length": row["body_length"],
        "body_complete": row["body_sha256"] is not None,
        "request_content_type": row["request_content_type"],
        "idempotency_key": row["idempotency_key"],
        "error": error,
        "response": {
            "headers": _response_headers(row["response_headers"]),
            "body": shown_body,
            "truncated": bool(row["response_truncated"]),
            "media_type": media,
        },
        "duration_ms": row["duration_ms"],
    }
    return LoggedRequest(
        id=row["id"],
        request_id=row["request_id"],
        at=row["at"],
        application_id=row["application_id"],
        method=row["method"],
        target=row["target"],
        path=row["path"],
        status=row["status"],
        error_code=row["error_code"],
        entry=entry,
    )


def _raw_target(scope: Scope) -> str:
    raw_path = scope.get("raw_path")
    if raw_path is None:
        raw_path = scope["path"].encode("utf-8")
    # An in-process transport may put the query inside raw_path; uvicorn does not.
    raw = bytes(raw_path).split(b"?", 1)[0]
    query = scope.get("query_string", b"")
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _application_of(
    db: sqlite3.Connection, api_keys: Sequence[str], known: dict[str, str | None]
) -> str | None:
    """Return the application an API key belongs to (``known``: this batch's)."""
    if len(api_keys) != 1 or not api_keys[0].strip():
        return None
    key = api_keys[0].strip()
    if key not in known:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        row = db.execute(
            "SELECT application_id FROM api_keys WHERE sha256 = ?", (digest,)
        ).fetchone()
        known[key] = None if row is None else str(row[0])
    return known[key]


class RequestTap:
    """Wrap the API app: hash the body as it is read, copy the answer, log it once."""

    def __init__(self, app: AsgiApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through the API app and capture it for the log."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256()
        length = 0
        complete = False
        status = 0
        truncated = False
        head: list[tuple[bytes, bytes]] = []
        body = bytearray()

        async def tapped_receive() -> Message:
            nonlocal length, complete
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    digest.update(chunk)
                    length += len(chunk)
                if not message.get("more_body", False):
                    complete = True
            return message

        async def tapped_send(message: Message) -> None:
            nonlocal status, truncated
            if message["type"] == "http.response.start":
                status = message["status"]
                head.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    room = MAX_RESPONSE_BYTES - len(body)
                    if len(chunk) > room:
                        truncated = True
                    body.extend(chunk[: max(room, 0)])
            await send(message)

        started = time.monotonic()
        try:
            await self.app(scope, tapped_receive, tapped_send)
        finally:
            if status:
                try:
                    self.log.capture(
                        Captured(
                            self.log.now(),
                            scope,
                            digest.hexdigest() if complete else None,
                            length,
                            status,
                            head,
                            bytes(body),
                            truncated,
                            (time.monotonic() - started) * 1000,
                        )
                    )
                except Exception:
                    # The log is a diagnostic aid: it never breaks an answer.
                    logger.exception("the request log could not record a request")
