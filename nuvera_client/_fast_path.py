"""Owns FastPath: one async attempt straight to the transport of our own AsyncClient.

``httpx.AsyncClient.send`` costs the event loop more than the rest of a request
(a second header merge, the auth generator, the redirect loop, event hooks, the
cookie jar, a wrapped response stream), and the loop is what bounds an async
client's throughput while other cores sign. An :class:`AsyncNuveraClient` that
made its own ``AsyncClient`` uses none of those features, so for plain JSON calls
it builds the request from headers merged once and calls the transport itself.

A client passed as ``http_client=`` always goes through ``send()``, so that its
event hooks, cookies, auth-free mounts and base settings keep working; so do
multipart uploads and streamed downloads. ``tests/unit/test_fast_path.py`` checks
that both paths put the same request on the wire and raise the same errors.

Each attempt starts signing first and builds its request once the token is back.
A burst of calls therefore queues all its tokens at once, and a waiting call holds
no request object meanwhile.

httpx is pinned ``<1``, because a few private parts are used here:

- two methods of ``AsyncClient``, ``_transport_for_url`` and
  ``_build_redirect_request``, used as its ``send()`` uses them;
- ``Headers._list``, which gets the signed headers appended as ``__setitem__``
  would append them;
- ``Response._content`` and ``_num_bytes_downloaded``, set as ``aread()`` sets
  them.

``tests/unit/test_fast_path.py`` compares the results with ``send()``'s.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from nuvera_client._auth import signing_target
from nuvera_client._base_client import CALL_HEADERS
from nuvera_client._signer import EMPTY_BODY_HASH

if TYPE_CHECKING:
    from nuvera_client._auth import NuveraAuth
    from nuvera_client._resource import Call

__all__ = ["FastPath", "Plan"]

_httpx_logger = logging.getLogger("httpx")
_REDIRECTS = frozenset((301, 302, 303, 307, 308))


@functools.lru_cache(maxsize=512)
def _target(url: str, query: tuple[tuple[str, str], ...]) -> tuple[httpx.URL, str]:
    # Parsing a URL costs more loop time than anything else in building the
    # request, and a service calls the same few targets again and again (lists,
    # polls, hot records). httpx.URL is immutable (auth replaces, never edits it).
    if query:
        return signing_target(httpx.URL(url, params=httpx.QueryParams(list(query))))
    return signing_target(httpx.URL(url))


class Plan(NamedTuple):
    """One attempt of a plain call, before it is signed: what to sign and send."""

    method: str
    url: httpx.URL
    target: str
    content: bytes | None
    digest: str
    idempotency_key: str | None
    timeout: dict[str, float | None]


class FastPath:
    """Send attempts of plain calls on ``http``'s transport, bypassing ``send()``.

    The request equals the one ``http.build_request`` makes for the same call
    (header order included); the response is read and closed as ``send()`` and
    ``aread()`` would leave it, with ``request``, ``history`` and ``elapsed`` set.

    Args:
        http: the ``AsyncClient`` the client made itself (not a user's).
        base_url: the API origin (and any path prefix).
        timeout: the client's default timeout.
    """

    def __init__(
        self, http: httpx.AsyncClient, base_url: httpx.URL, timeout: httpx.Timeout
    ) -> None:
        self._http = http
        self._prefix = str(base_url).rstrip("/")
        self._timeout = timeout.as_dict()
        # What http.build_request merges per request, merged once: the client's
        # defaults updated with ours (update() moves ours to the end, as here).
        merged = httpx.Headers(http.headers)
        merged.update(CALL_HEADERS)
        # Request() puts Host first, then Content-Length: 0 for a bodiless
        # POST/PUT/PATCH; a body's Content-Length comes after our headers.
        host = httpx.URL(self._prefix + "/").netloc
        self._plain = httpx.Headers([(b"Host", host), *merged.raw])
        self._empty = httpx.Headers(
            [(b"Host", host), (b"Content-Length", b"0"), *merged.raw]
        )
        self._cookies = False

    def usable(self, call: Call[Any]) -> bool:
        """Whether ``call``'s next attempt can take the fast path.

        Multipart bodies, a closed client (``send()`` raises then) and a server
        that sets cookies (the jar would add them to later requests) go through
        ``send()``.
        """
        return not (call.multipart or self._cookies or self._http.is_closed)

    def plan(self, call: Call[Any], idempotency_key: str | None) -> Plan:
        """Prepare ``call``'s next attempt: its target, body and body hash."""
        url, target = _target(self._prefix + call.path, tuple(call.query))
        content: bytes | None = None
        digest = EMPTY_BODY_HASH
        if call.json is not None:
            content = json.dumps(
                call.json, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
            digest = hashlib.sha256(content).hexdigest()
        timeout = (
            self._timeout
            if call.timeout is None
            else httpx.Timeout(call.timeout).as_dict()
        )
        return Plan(call.method, url, target, content, digest, idempotency_key, timeout)

    def request(self, plan: Plan, api_key: str, token: str) -> httpx.Request:
        """Build the signed request, equal to what ``build_request`` + auth make."""
        method, content = plan.method, plan.content
        template = (
            self._empty
            if content is None and method in ("POST", "PUT", "PATCH")
            else self._plain
        )
        headers = httpx.Headers(template)  # copies the list, no re-encoding
        # Appended as Headers.__setitem__ appends a new name (the send() path
        # sets them one by one, in this order), without its per-call lookups.
        # Every value is ASCII: checked API key, token, idempotency key.
        added = headers._list
        if plan.idempotency_key is not None:
            value = plan.idempotency_key.encode("ascii")
            added.append((b"idempotency-key", b"idempotency-key", value))
        if content is not None:
            added.append((b"content-type", b"content-type", b"application/json"))
            length = str(len(content)).encode("ascii")
            added.append((b"Content-Length", b"content-length", length))
        added.append((b"x-api-key", b"x-api-key", api_key.encode("ascii")))
        bearer = b"Bearer " + token.encode("ascii")
        added.append((b"authorization", b"authorization", bearer))
        # stream= skips Request's header defaults, set above in the same order.
        request = httpx.Request(
            method,
            plan.url,
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": dict(plan.timeout)},
        )
        request.read()  # as Request(content=...) does
        return request

    async def send(self, plan: Plan, auth: NuveraAuth) -> httpx.Response:
        """Sign ``plan``, build and send its request; return the read, closed response.

        Signing starts first, in the signing pool; the request is built once
        the token is back, so a burst of calls queues its tokens at once and
        holds the event loop (and the GIL) for as little as possible meanwhile.

        Raises:
            httpx.HTTPError: as ``AsyncClient.send`` + ``aread`` would raise it.
        """
        pending, api_key = auth.start_signing(plan.method, plan.target, plan.digest)
        request = self.request(plan, api_key, await pending)
        http = self._http
        transport = http._transport_for_url(request.url)
        start = time.perf_counter()
        try:
            response = await transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # what httpx's request_context() does
            raise
        response.request = request
        response.history = []
        if _httpx_logger.isEnabledFor(logging.INFO):  # as httpx logs each exchange
            _httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        try:
            if response.status_code in _REDIRECTS and response.has_redirect_location:
                # send() offers the next hop (and refuses a malformed Location).
                response.next_request = http._build_redirect_request(request, response)
            if "set-cookie" in response.headers:
                http.cookies.extract_cookies(response)
                self._cookies = True
            await _read(response, request)
        finally:
            await response.aclose()
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - start)
        return response


async def _read(response: httpx.Response, request: httpx.Request) -> None:
    """Read the body as ``response.aread()`` does, leaving the same state.

    With nothing to decode (no ``Content-Encoding``), the stream is joined
    directly, past aread's byte chunker, identity decoder and context managers;
    anything else takes ``aread()`` itself.
    """
    stream = response.stream
    if (
        hasattr(response, "_content")
        or response.is_stream_consumed
        or not isinstance(stream, httpx.AsyncByteStream)
        or "content-encoding" in response.headers
    ):
        await response.aread()
        return
    response.is_stream_consumed = True
    try:
        chunks = [chunk async for chunk in stream]
    except httpx.RequestError as exc:
        exc.request = request  # what httpx's request_context() does
        raise
    content = b"".join(chunks)
    response._num_bytes_downloaded = len(content)
    response._content = content
