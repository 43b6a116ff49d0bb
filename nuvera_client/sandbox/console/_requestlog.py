"""Owns the request log: every request the sandbox answered, newest first, bounded.

The log keeps what a developer needs to see why a request was refused, and no
secret: the API key as prefix and last four only, the token's decoded header and
claims without its signature segment, the server-derived method, target and body
hash beside the claimed ones, and the answer (status, error code and ``details``,
a bounded copy of a textual body). It lives in the sandbox's store (table
``request_log``), so it is shared with ``nuvera sandbox logs`` through a state
file and cleared with the state; only the last ``RETENTION`` rows are kept.

``RequestTap`` wraps the API app and calls ``RequestLog.record()`` once per
request, after the answer is sent: that call is the only link to the pipeline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS request_log_app ON request_log(application_id);
"""

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


def decode_token(authorization: Sequence[str]) -> dict[str, object] | None:
    """Return the token's decoded header and claims (never its signature segment).

    ``None`` when no bearer token was sent; ``{"error": ...}`` when it cannot be
    decoded for display (the verifier's verdict is in the response).
    """
    if len(authorization) != 1:
        return None if not authorization else {"error": "several Authorization headers"}
    scheme, _, token = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        return {"error": f"token of {len(token)} characters not decoded"}
    parts = token.split(".")
    if len(parts) != 3:
        return {"error": f"{len(parts)} dot-separated parts instead of 3"}
    decoded: dict[str, object] = {"signature_chars": len(parts[2])}
    for name, segment in (("header", parts[0]), ("claims", parts[1])):
        try:
            decoded[name] = _b64url_json(segment)
        except (ValueError, binascii.Error, UnicodeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            decoded[name] = None
            decoded.setdefault("error", f"the {name} is not base64url JSON")
    return decoded


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
        with store.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    # -- writing -----------------------------------------------------------------

    async def record(
        self,
        *,
        scope: Scope,
        body_sha256: str,
        body_length: int,
        body_complete: bool,
        status: int,
        response_headers: Sequence[tuple[bytes, bytes]],
        response_body: bytes,
        response_truncated: bool,
        duration_ms: float,
    ) -> None:
        """Record one answered request (called once per request, by the tap)."""
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name.decode("latin-1").lower(), []).append(
                value.decode("latin-1")
            )
        api_keys = headers.get("x-api-key", [])
        answer = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in response_headers
        }
        media = answer.get("content-type", "")
        shown_body: str | None = None
        error: dict[str, object] | None = None
        if media.startswith(("application/json", "text/")):
            shown_body = response_body.decode("utf-8", "replace")
            if media.startswith("application/json") and not response_truncated:
                try:
                    parsed = json.loads(response_body)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
                    error = parsed["error"]
        token = decode_token(headers.get("authorization", []))
        claims = token.get("claims") if token else None
        entry: dict[str, object] = {
            "api_key": redact_api_key(api_keys),
            "token": token,
            "derived": {
                "method": scope["method"],
                "uri": _raw_target(scope),
                "body_hash": body_sha256 if body_complete else None,
            },
            "claimed": {
                name: claims.get(name) if isinstance(claims, dict) else None
                for name in ("method", "uri", "body_hash")
            },
            "body_length": body_length,
            "body_complete": body_complete,
            "request_content_type": headers.get("content-type", [None])[0],
            "idempotency_key": headers.get("idempotency-key", [None])[0],
            "error": error,
            "response": {
                "headers": {
                    k: v for k, v in answer.items() if k not in ("set-cookie",)
                },
                "body": shown_body,
                "truncated": response_truncated,
                "media_type": media,
            },
            "duration_ms": round(duration_ms, 2),
        }
        code = error.get("code") if error else None
        async with self._store.atransaction() as db:
            app_id = _application_of(db, api_keys)
            cursor = db.execute(
                "INSERT INTO request_log (request_id, at, application_id, method,"
                " target, path, status, error_code, entry)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.get("x-request-id"),
                    self._clock(),
                    app_id,
                    scope["method"],
                    entry["derived"]["uri"],  # type: ignore[index]
                    scope["path"],
                    status,
                    code if isinstance(code, str) else None,
                    json.dumps(entry),
                ),
            )
            # Bounded retention: ids only grow (AUTOINCREMENT), so the newest
            # ``retention`` rows are those above this one's id minus retention.
            newest = int(cursor.lastrowid or 0)
            db.execute(
                "DELETE FROM request_log WHERE id <= ?", (newest - self.retention,)
            )

    def clear(self) -> None:
        """Forget every logged request."""
        with self._store.transaction() as db:
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
        with self._store.transaction() as db:
            rows = db.execute(query, args).fetchall()
        return [_row(r) for r in rows]

    def kid_last_used(self, application_id: str, kid: str) -> float | None:
        """Return when a token naming ``kid`` last passed the signature check (9)."""
        before = [code for code, check in CHECKS.items() if check <= 9]
        marks = ", ".join("?" for _ in before)
        query = (
            "SELECT max(at) FROM request_log WHERE application_id = ?"
            " AND json_extract(entry, '$.token.header.kid') = ?"
            " AND (error_code IS NULL OR error_code NOT IN ("
        )
        with self._store.transaction() as db:
            row = db.execute(
                query + marks + "))",
                (application_id, kid, *before),
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def get(self, request_id: int) -> LoggedRequest | None:
        """Return one logged request by its log id."""
        with self._store.transaction() as db:
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


def _row(row: sqlite3.Row) -> LoggedRequest:
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
        entry=json.loads(row["entry"]),
    )


def _raw_target(scope: Scope) -> str:
    raw_path = scope.get("raw_path")
    if raw_path is None:
        raw_path = scope["path"].encode("utf-8")
    # An in-process transport may put the query inside raw_path; uvicorn does not.
    raw = bytes(raw_path).split(b"?", 1)[0]
    query = scope.get("query_string", b"")
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _application_of(db: sqlite3.Connection, api_keys: Sequence[str]) -> str | None:
    if len(api_keys) != 1 or not api_keys[0].strip():
        return None
    digest = hashlib.sha256(api_keys[0].strip().encode("utf-8")).hexdigest()
    row = db.execute(
        "SELECT application_id FROM api_keys WHERE sha256 = ?", (digest,)
    ).fetchone()
    return None if row is None else str(row[0])


class RequestTap:
    """Wrap the API app: hash the body as it is read, copy the answer, log it once."""

    def __init__(self, app: AsgiApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through the API app and record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256()
        seen = {"length": 0, "complete": False, "status": 0, "truncated": False}
        head: list[tuple[bytes, bytes]] = []
        body = bytearray()

        async def tapped_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                digest.update(chunk)
                seen["length"] += len(chunk)
                if not message.get("more_body", False):
                    seen["complete"] = True
            return message

        async def tapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                head.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                room = MAX_RESPONSE_BYTES - len(body)
                if len(chunk) > room:
                    seen["truncated"] = True
                body.extend(chunk[: max(room, 0)])
            await send(message)

        started = time.monotonic()
        try:
            await self.app(scope, tapped_receive, tapped_send)
        finally:
            if seen["status"]:
                try:
                    await self.log.record(
                        scope=scope,
                        body_sha256=digest.hexdigest(),
                        body_length=int(seen["length"]),
                        body_complete=bool(seen["complete"]),
                        status=int(seen["status"]),
                        response_headers=head,
                        response_body=bytes(body),
                        response_truncated=bool(seen["truncated"]),
                        duration_ms=(time.monotonic() - started) * 1000,
                    )
                except Exception:
                    # The log is a diagnostic aid: it never breaks an answer.
                    logger.exception("the request log could not record a request")
