"""Owns the sandbox's ASGI app: verification, routing, idempotency, rate limit, replies.

Every answer carries ``Date`` and ``x-request-id``; errors follow PROTOCOL §6.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
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
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, Headers
from starlette.requests import Request

from nuvera_client.sandbox import _idempotency
from nuvera_client.sandbox._credentials import new_id
from nuvera_client.sandbox._problems import error_body, problem
from nuvera_client.sandbox._ratelimit import RateLimiter
from nuvera_client.sandbox._routing import (
    ApiProblem,
    Endpoint,
    Reply,
    RequestContext,
)
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._verify import (
    IncomingRequest,
    Verified,
    check_permission,
    verify,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("nuvera_client.sandbox")

_SECRET_HEADERS = (b"x-api-key", b"authorization")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _Resource:
    """All endpoints sharing one path template."""

    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    by_method: dict[str, Endpoint]


def _compile(endpoints: Iterable[Endpoint]) -> list[_Resource]:
    grouped: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        grouped.setdefault(endpoint.path, {})[endpoint.method.upper()] = endpoint
    resources = []
    for template, by_method in grouped.items():
        regex = ""
        last = 0
        for match in _PARAM_RE.finditer(template):
            regex += re.escape(template[last : match.start()])
            regex += f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(template[last:])
        literal = sum(1 for seg in template.split("/") if seg and "{" not in seg)
        resources.append(_Resource(template, re.compile(regex), literal, by_method))
    # The most literal template wins (``/a/b`` before ``/a/{id}``).
    resources.sort(key=lambda r: -r.literal_segments)
    return resources


def raw_target(scope: Scope) -> bytes:
    """Return the request target as received: raw path, and ``?query`` if any."""
    raw_path = scope.get("raw_path")
    if raw_path is None:
        raw_path = scope["path"].encode("utf-8")
    # httpx's ASGITransport puts the query inside raw_path; uvicorn does not.
    raw_path = bytes(raw_path).split(b"?", 1)[0]
    query = scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


def http_date(ts: float) -> str:
    """Format Unix seconds as an HTTP ``Date`` value."""
    return format_datetime(
        datetime.fromtimestamp(int(ts), tz=timezone.utc), usegmt=True
    )


class _Body:
    """The request body, hashed while read; at most ``limit`` bytes kept."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.length = 0
        self.chunks: list[bytes] = []
        self.too_large = False

    async def read(self, receive: Receive, limit: int) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            if chunk:
                self.sha256.update(chunk)
                self.length += len(chunk)
                if self.length > limit:
                    # Keep hashing for check 18, but stop keeping the bytes.
                    self.too_large = True
                    self.chunks.clear()
                else:
                    self.chunks.append(chunk)
            if not message.get("more_body", False):
                return

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks)


class _Disconnected(Exception):
    """The client went away before the body was read."""


def _header_values(scope: Scope) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        values.setdefault(name.decode("latin-1").lower(), []).append(
            value.decode("latin-1")
        )
    return values


def _handler_headers(scope: Scope) -> Headers:
    """Return the request headers without the credentials: handlers never see them."""
    raw = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name.lower() not in _SECRET_HEADERS
    ]
    return Headers(raw=raw)


async def _parse_form(scope: Scope, body: bytes, max_part: int) -> FormData:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, replay)
    return await request.form(max_part_size=max_part)


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: Iterable[bytes] | AsyncIterator[bytes] | None = None


class SandboxApp:
    """The ASGI callable serving a :class:`Store` behind PROTOCOL §3."""

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
        self._resources = _compile(self.endpoints)
        self._clock = clock
        self.max_body_bytes = max_body_bytes
        self.rate_limiter = rate_limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = new_id("req_")
        try:
            answer = await self._handle(scope, receive, request_id)
        except _Disconnected:
            return
        except ApiProblem as exc:
            answer = self._error(exc, request_id)
        except Exception:
            logger.exception("sandbox handler failed (request %s)", request_id)
            answer = self._error(problem("internal_error"), request_id)
        await self._send(send, answer, request_id)

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
        headers.append((b"date", http_date(self._clock()).encode("ascii")))
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

    def _route(self, path: str, method: str) -> tuple[Endpoint, dict[str, str]]:
        for resource in self._resources:
            match = resource.pattern.fullmatch(path)
            if match is None:
                continue
            endpoint = resource.by_method.get(method)
            if endpoint is None:
                allowed = sorted(resource.by_method)
                raise problem(
                    "method_not_allowed",
                    {"allowed_methods": allowed},
                    message=f"{path} accepts {', '.join(allowed)}.",
                    headers={"Allow": ", ".join(allowed)},
                )
            return endpoint, match.groupdict()
        raise problem("not_found", message=f"No endpoint at {path}.")

    async def _handle(self, scope: Scope, receive: Receive, request_id: str) -> _Answer:
        now = self._clock()
        # Compared as received: HTTP methods are case-sensitive (no uppercasing).
        method = scope["method"]
        headers = _header_values(scope)
        body = _Body()
        await body.read(receive, self.max_body_bytes)
        target = raw_target(scope)
        body_hash = body.sha256.hexdigest()
        incoming = IncomingRequest(
            method=method,
            raw_target=target,
            api_keys=headers.get("x-api-key", []),
            authorizations=headers.get("authorization", []),
            body_sha256=body_hash,
            body_length=body.length,
        )
        failure: ApiProblem | None = None
        async with self.store.atransaction() as db:
            try:
                verified = verify(db, incoming, int(now))
            except ApiProblem as exc:
                failure = exc  # commit anyway: the jti stays recorded (§3.1)
        if failure is not None:
            raise failure
        endpoint, path_params = self._route(scope["path"], method)
        if body.too_large:
            raise problem(
                "payload_too_large",
                {"max_bytes": self.max_body_bytes},
                message=f"The body is {body.length} bytes; the limit is "
                f"{self.max_body_bytes}.",
            )
        check_permission(verified, endpoint.permission)
        app_id = verified.application_id
        uri = target.decode("latin-1")
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
                    uri=uri,
                    body_hash=body_hash,
                    now=int(now),
                )
            if stored is not None:
                return _Answer(
                    stored.status,
                    [*stored.headers, ("idempotent-replayed", "true")],
                    stored.body,
                )
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
                body.content,
                verified,
                request_id,
                now,
                idem_key,
            )
        except BaseException:
            if idem_key is not None:
                async with self.store.atransaction() as db:
                    _idempotency.finish(db, app_id, idem_key, None)
            raise
        return answer

    async def _call(
        self,
        endpoint: Endpoint,
        scope: Scope,
        path_params: dict[str, str],
        headers: dict[str, list[str]],
        content: bytes,
        verified: Verified,
        request_id: str,
        now: float,
        idem_key: str | None,
    ) -> _Answer:
        content_type = headers.get("content-type", [""])[0]
        form_data: FormData | None = None
        form_error: ApiProblem | None = None
        if content_type.split(";", 1)[0].strip().lower() in _FORM_TYPES:
            # Parsed before the store lock is taken, so the handler never waits on it.
            try:
                form_data = await _parse_form(scope, content, self.max_body_bytes)
            except Exception as exc:  # starlette raises several kinds
                form_error = problem(
                    "invalid_request", message=f"The form body cannot be parsed: {exc}"
                )

        async def form() -> FormData:
            if form_error is not None:
                raise form_error
            return form_data if form_data is not None else FormData()

        query = parse_qsl(
            scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        )
        try:
            async with self.store.atransaction() as db:
                ctx = RequestContext(
                    application_id=verified.application_id,
                    method=scope["method"],
                    path=scope["path"],
                    path_params=path_params,
                    query=query,
                    headers=_handler_headers(scope),
                    body=content,
                    content_type=content_type,
                    db=db,
                    now=datetime.fromtimestamp(int(now), tz=timezone.utc),
                    max_body_bytes=self.max_body_bytes,
                    new_id=new_id,
                    form=form,
                    extras={"request_id": request_id, "kid": verified.kid},
                )
                # A refusal undoes the handler's writes but keeps the idempotency row.
                db.execute("SAVEPOINT handler")
                try:
                    reply = await endpoint.handler(ctx)
                    answer = await self._render(reply, keep=idem_key is not None)
                except ApiProblem as exc:
                    db.execute("ROLLBACK TO handler")
                    answer = self._error(exc, request_id)
                db.execute("RELEASE handler")
                if idem_key is not None:
                    _idempotency.finish(
                        db,
                        verified.application_id,
                        idem_key,
                        _idempotency.StoredResponse(
                            answer.status, answer.headers, answer.body
                        ),
                    )
        finally:
            if form_data is not None:
                await form_data.close()
        return answer

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
