"""Owns the sandbox's ASGI app: the request pipeline, idempotency, rate limit, replies.

Verification is ``_verify.py``'s, routing ``_routing.py``'s, the body ``_body.py``'s.

Every answer carries ``Date`` and ``x-request-id``; errors follow PROTOCOL §6.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message as _MimeHeader
from email.utils import format_datetime
from typing import IO, Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, Headers
from starlette.requests import Request

from nuvera_client.sandbox import _idempotency
from nuvera_client.sandbox._body import (
    CHUNK_BYTES,
    Disconnected,
    RequestBody,
    check_json_text,
    is_gzip,
)
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext
from nuvera_client.sandbox._ids import new_id
from nuvera_client.sandbox._problems import ApiProblem, error_body, problem
from nuvera_client.sandbox._ratelimit import RateLimiter
from nuvera_client.sandbox._routing import Router, raw_target
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._verify import (
    IncomingRequest,
    KeyLookup,
    ReplayMemory,
    Verified,
    check_permission,
    verify_body,
    verify_headers,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("nuvera_client.sandbox")

_SECRET_HEADERS = (b"x-api-key", b"authorization")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# Usage counts reach the store this long after a request at most (seconds).
USAGE_FLUSH_DELAY = 0.05
# Expired replay-store entries are purged at most this often (seconds).
_PURGE_EVERY = 5


@functools.lru_cache(maxsize=4)
def _utc_datetime(second: int) -> datetime:
    """Return the aware UTC datetime of a Unix second (immutable: shared safely)."""
    return datetime.fromtimestamp(second, tz=timezone.utc)


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> bytes:
    text = format_datetime(datetime.fromtimestamp(second, tz=timezone.utc), usegmt=True)
    return text.encode("ascii")


# A body up to this size stays in memory; a larger one is spooled to a temporary file.
# The request headers the pipeline reads (a handler gets all but the credentials).
_PIPELINE_HEADERS = {
    name.encode("ascii"): name
    for name in (
        "x-api-key",
        "authorization",
        "content-type",
        "content-encoding",
        "idempotency-key",
    )
}


def _header_values(scope: Scope) -> dict[str, list[str]]:
    """Return the values of the headers in ``_PIPELINE_HEADERS``, in order."""
    values: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        known = _PIPELINE_HEADERS.get(name)  # ASGI header names are lowercase
        if known is not None:
            values.setdefault(known, []).append(value.decode("latin-1"))
    return values


def _handler_headers(scope: Scope) -> Headers:
    """Return the request headers without the credentials: handlers never see them."""
    raw = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name.lower() not in _SECRET_HEADERS
    ]
    return Headers(raw=raw)


async def _parse_form(scope: Scope, body: IO[bytes], max_part: int) -> FormData:
    """Parse a form body from its spool, chunk by chunk (Starlette's parser)."""
    content_type = Headers(scope=scope).get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        # Starlette's parser drops a part cut off by the end of the body without a
        # word (and leaves its spool open): a body without its close delimiter is
        # malformed (RFC 2046 §5.1.1), refused before parsing.
        header = _MimeHeader()
        header["content-type"] = content_type
        boundary = header.get_param("boundary")
        if isinstance(boundary, str) and not _has_close_delimiter(
            body, boundary.encode("latin-1")
        ):
            raise ValueError("the body ends before the closing boundary")
    body.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        chunk = body.read(CHUNK_BYTES)
        if not chunk:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    request = Request(scope, replay)
    form: FormData = await request.form(max_part_size=max_part)
    return form


def _has_close_delimiter(body: IO[bytes], boundary: bytes) -> bool:
    """Whether the spooled multipart body holds ``--boundary--`` (read in chunks)."""
    close = b"--" + boundary + b"--"
    body.seek(0)
    tail = b""
    while chunk := body.read(CHUNK_BYTES):
        window = tail + chunk
        if close in window:
            return True
        tail = window[-(len(close) - 1) :]
    return False


class _HandlerTransaction:
    """A handler's store transaction: opened at the handler's first use of ``db``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._db: sqlite3.Connection | None = None

    def open(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._store.open_transaction()
        return self._db

    def end(self, *, commit: bool) -> None:
        if self._db is not None:
            self._db = None
            self._store.end_transaction(commit=commit)


@dataclass
class _State:
    """What is known of a request so far, for ``SandboxApp._observe()``."""

    verified: Verified | None = None
    code: str | None = None
    body: RequestBody | None = None


def _no_body() -> bytes:
    return b""


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: Iterable[bytes] | AsyncIterator[bytes] | None = None


@dataclass(frozen=True)
class RequestOutcome:
    """What one request came to, known once its answer is chosen.

    ``code`` is the error code of a refusal (None for a handler's answer);
    ``application_id`` and ``kid`` are set once checks 1-17 passed. Nothing secret.
    """

    request_id: str
    method: str
    path: str
    status: int
    code: str | None
    application_id: str | None
    kid: str | None
    at: float


OutcomeObserver = Callable[[RequestOutcome], None]


class SandboxApp:
    """The ASGI callable serving a ``Store`` behind PROTOCOL §3.

    The pipeline, per request: checks 1-17 on the request line and headers (one short
    transaction, which records the ``jti``); the body streamed in, hashed and spooled
    (no lock held); check 18; routing (404/405), 413, 415; check 19; gzip decoding;
    idempotency bookkeeping (its own short transaction); the handler, whose own
    transaction opens at its first use of the store and never spans an ``await``;
    the idempotent response stored (a short transaction). Every outcome goes through
    ``_observe()``, the one place observers (a request log) hook in.
    """

    def __init__(
        self,
        store: Store,
        endpoints: Sequence[Endpoint],
        *,
        clock: Callable[[], float],
        max_body_bytes: int,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.endpoints = tuple(endpoints)
        self.router = Router(self.endpoints)
        self._clock = clock
        self.max_body_bytes = max_body_bytes
        self.rate_limiter = rate_limiter
        self.observers: list[OutcomeObserver] = []
        self._next_purge = 0
        self._keys = KeyLookup(
            lambda: store.generation, shared_file=store.path is not None
        )
        # In memory the replay store is a dict; a state file keeps it in its table,
        # committed before the answer, so a restarted server still refuses a replay.
        self.replay = None if store.path is not None else ReplayMemory()
        self._flush_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = new_id("req_")
        state = _State()
        try:
            answer = await self._handle(scope, receive, request_id, state)
        except Disconnected:
            return
        except ApiProblem as exc:
            answer = self._error(exc, request_id)
            state.code = exc.code
        except Exception:
            logger.exception("sandbox handler failed (request %s)", request_id)
            answer = self._error(problem("internal_error"), request_id)
            state.code = "internal_error"
        finally:
            if state.body is not None:
                state.body.close()
        self._observe(scope, request_id, answer, state)
        await self._send(send, answer, request_id)

    def _schedule_usage_flush(self) -> None:
        """Write batched usage counts shortly, in one transaction for many requests.

        Any transaction of the store writes them first anyway; this timer only makes
        them reach a state file that another process (the CLI) reads.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another event loop library: the next transaction
            return
        # One timer at a time per loop; a loop that ended (the sync in-process
        # transport runs one per request) took its timer with it.
        if self._flush_loop is loop:
            return
        self._flush_loop = loop

        def flush() -> None:
            if self.store.flush_usage():
                self._flush_loop = None
            else:
                loop.call_later(USAGE_FLUSH_DELAY, flush)

        loop.call_later(USAGE_FLUSH_DELAY, flush)

    def _observe(
        self, scope: Scope, request_id: str, answer: _Answer, state: _State
    ) -> None:
        """Tell every observer how this request ended (the request-log hook point)."""
        if not self.observers:
            return
        verified = state.verified
        outcome = RequestOutcome(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            status=answer.status,
            code=state.code,
            application_id=verified.application_id if verified else None,
            kid=verified.kid if verified else None,
            at=self._clock(),
        )
        for observer in self.observers:
            try:
                observer(outcome)
            except Exception:
                logger.exception("sandbox request observer failed")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _error(self, exc: ApiProblem, request_id: str) -> _Answer:
        headers = [("content-type", "application/json")]
        headers += [(k.lower(), v) for k, v in exc.headers.items()]
        body = json.dumps(error_body(exc, request_id)).encode("utf-8")
        return _Answer(exc.status, headers, body)

    async def _send(self, send: Send, answer: _Answer, request_id: str) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers
            if k not in ("date", "x-request-id")
            # A buffered body's length is computed below; a stream keeps its own.
            and not (k == "content-length" and answer.stream is None)
        ]
        headers.append((b"date", _http_date(int(self._clock()))))
        headers.append((b"x-request-id", request_id.encode("ascii")))
        if answer.stream is None:
            headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": headers,
                }
            )
            await send({"type": "http.response.body", "body": answer.body})
            return
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": headers,
            }
        )
        if isinstance(answer.stream, AsyncIterator):
            async for chunk in answer.stream:
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": True}
                )
        else:
            for chunk in answer.stream:
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": True}
                )
        await send({"type": "http.response.body", "body": b""})

    async def _handle(
        self, scope: Scope, receive: Receive, request_id: str, state: _State
    ) -> _Answer:
        now = self._clock()
        # Compared as received: HTTP methods are case-sensitive (no uppercasing).
        method = scope["method"]
        headers = _header_values(scope)
        target = raw_target(scope)
        incoming = IncomingRequest(
            method=method,
            raw_target=target,
            api_keys=headers.get("x-api-key", []),
            authorizations=headers.get("authorization", []),
        )
        # Checks 1-17 from the request line and headers, before any body byte.
        purge = int(now) >= self._next_purge

        def check(db: sqlite3.Connection) -> Verified | ApiProblem:
            try:
                return verify_headers(
                    db,
                    incoming,
                    int(now),
                    purge=purge,
                    keys=self._keys,
                    replay=self.replay,
                )
            except ApiProblem as exc:
                return exc  # the jti stays recorded all the same (§3.1)

        outcome = await self.store.run_locked(check)
        if purge:
            self._next_purge = int(now) + _PURGE_EVERY
        if isinstance(outcome, ApiProblem):
            raise outcome
        verified = outcome
        state.verified = verified
        # Check 18 on the body as it streams in; no lock is held while it arrives.
        body = state.body = RequestBody(self.max_body_bytes)
        await body.read(receive)
        body_hash = body.sha256.hexdigest()
        verify_body(verified, body_hash, body.length)
        self.store.note_usage(verified.api_key_sha256, int(now))
        self._schedule_usage_flush()
        endpoint, path_params = self.router.match(scope["path"], method)
        if body.too_large:
            raise problem(
                "payload_too_large",
                {"max_bytes": self.max_body_bytes},
                message=f"The body is {body.length} bytes; the limit is "
                f"{self.max_body_bytes}.",
            )
        gzipped = is_gzip(headers.get("content-encoding", []))
        check_permission(verified, endpoint.permission)
        if gzipped and body.length:
            body.gunzip()
        app_id = verified.application_id
        idem_key = None
        if method == "POST":
            idem_key = _idempotency.parse_key(
                headers.get("idempotency-key", []),
                required=endpoint.path == "/v1/payments",
            )
        if idem_key is not None:
            async with self.store.atransaction() as db:
                stored = _idempotency.begin(
                    db,
                    app_id,
                    idem_key,
                    method=method,
                    uri=target.decode("latin-1"),
                    body_hash=body_hash,
                    now=int(now),
                )
            if stored is not None:
                return _Answer(
                    stored.status,
                    [*stored.headers, ("idempotent-replayed", "true")],
                    stored.body,
                )
        answer: _Answer | None = None
        try:
            if self.rate_limiter is not None:
                wait = self.rate_limiter.acquire(app_id)
                if wait:
                    raise problem(
                        "rate_limited",
                        {"retry_after": wait},
                        headers={"Retry-After": str(wait)},
                    )
            answer = await self._call(
                endpoint,
                scope,
                path_params,
                headers,
                body,
                verified,
                request_id,
                now,
                keep=idem_key is not None,
                state=state,
            )
        finally:
            if idem_key is not None:
                stored_response = None
                if answer is not None:
                    stored_response = _idempotency.StoredResponse(
                        answer.status, answer.headers, answer.body
                    )
                async with self.store.atransaction() as db:
                    _idempotency.finish(db, app_id, idem_key, stored_response)
        if answer is None:  # pragma: no cover - _call returns or raises
            raise RuntimeError("no answer")
        return answer

    async def _call(
        self,
        endpoint: Endpoint,
        scope: Scope,
        path_params: dict[str, str],
        headers: dict[str, list[str]],
        body: RequestBody,
        verified: Verified,
        request_id: str,
        now: float,
        *,
        keep: bool,
        state: _State,
    ) -> _Answer:
        content_type = headers.get("content-type", [""])[0]
        form_data: FormData | None = None
        form_error: ApiProblem | None = None
        is_form = content_type.split(";", 1)[0].strip().lower() in _FORM_TYPES
        if is_form:
            # Parsed (file parts spooled) before the handler, outside any transaction.
            try:
                form_data = await _parse_form(scope, body.file, self.max_body_bytes)
            except Exception as exc:  # starlette raises several kinds
                form_error = problem(
                    "invalid_request", message=f"The form body cannot be parsed: {exc}"
                )
        else:
            check_json_text(body, content_type)

        async def form() -> FormData:
            if form_error is not None:
                raise form_error
            return form_data if form_data is not None else FormData()

        raw_query = scope.get("query_string", b"")
        query = (
            parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
            if raw_query
            else []
        )
        txn = _HandlerTransaction(self.store)
        try:
            ctx = RequestContext(
                application_id=verified.application_id,
                method=scope["method"],
                path=scope["path"],
                path_params=path_params,
                query=query,
                headers=_handler_headers(scope),
                read_body=_no_body if is_form else body.content,
                content_type=content_type,
                open_db=txn.open,
                now=_utc_datetime(int(now)),
                max_body_bytes=self.max_body_bytes,
                new_id=new_id,
                form=form,
                extras={"request_id": request_id, "kid": verified.kid},
            )
            try:
                reply = await endpoint.handler(ctx)
            except ApiProblem as exc:
                # A refusal undoes the handler's writes.
                txn.end(commit=False)
                state.code = exc.code
                return self._error(exc, request_id)
            except BaseException:
                txn.end(commit=False)
                raise
            txn.end(commit=True)
            return await self._render(reply, keep=keep)
        finally:
            if form_data is not None:
                await form_data.close()

    async def _render(self, reply: Reply, *, keep: bool) -> _Answer:
        headers = [("content-type", reply.media_type)]
        headers += [(k.lower(), v) for k, v in reply.headers.items()]
        if reply.stream is not None:
            if not keep:
                return _Answer(reply.status, headers, stream=reply.stream)
            # A stored (idempotent) response must be replayable: read it whole.
            if isinstance(reply.stream, AsyncIterator):
                chunks = [chunk async for chunk in reply.stream]
            else:
                chunks = list(reply.stream)
            return _Answer(reply.status, headers, b"".join(chunks))
        if isinstance(reply.body, (bytes, bytearray)):
            return _Answer(reply.status, headers, bytes(reply.body))
        if reply.body is None and reply.status == 204:
            return _Answer(reply.status, [h for h in headers if h[0] != "content-type"])
        return _Answer(reply.status, headers, json.dumps(reply.body).encode("utf-8"))
