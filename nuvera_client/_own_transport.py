"""Owns the lean send of a client that made its own httpx client.

A client built without ``http_client=`` makes its httpx (or httpx2) client on a
transport it also makes, and keeps a reference to it. An attempt then goes
straight to that transport's public ``handle_request`` / ``handle_async_request``,
signed by the client's auth beforehand, and its body is read (capped) and the
response closed here. ``Client.send`` would do the same for these requests and
more that they never need: an auth flow around them, redirect handling (signed
requests are never redirected), event hooks, its INFO log line.

It is taken only where it is equivalent; otherwise the attempt goes through
``send()`` as every other one does:

- a streamed (not pre-read) response, such as ``documents.stream``;
- event hooks on the client, or the library's logger (``httpx``/``httpx2``)
  enabled for INFO, which ``send()`` writes to;
- a closed client (``send()`` raises the library's own error);
- environment proxies (``HTTP_PROXY``, ...): the client is then built without
  a transport of ours, as httpx routes those through its proxy mounts, and no
  lean path exists;
- a user's ``http_client=``: its transport is the user's business.

Cookies the server sets are kept in the client's jar (public
``Cookies.extract_cookies``), as ``send()`` keeps them, and a transport error
carries its request. One known difference: ``send()`` builds the next request of
a redirect it will not follow and fails (``RemoteProtocolError``) on a malformed
``Location``; the lean path builds none and reports the 3xx as received.

The async transport also gets a queue in front: at most ``MAX_IN_FLIGHT``
attempts are inside httpcore's connection pool at once, the rest wait here in
FIFO order, within the request's pool timeout. httpcore rescans every queued
request against every connection on each pool event, so a thousand concurrent
calls would otherwise cost it time quadratic in the queue.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
import urllib.request
from types import ModuleType
from typing import Any

import anyio

from nuvera_client._transfer import BodyTooLarge, aread_capped, read_capped

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_IN_FLIGHT",
    "AsyncOwnTransport",
    "Exchange",
    "OwnTransport",
    "environment_proxies",
    "make_transport",
]

MAX_CONNECTIONS = 100
"""Connections of the client's own pool: httpx's default limits."""
MAX_KEEPALIVE_CONNECTIONS = 20
"""Idle connections the pool keeps open: httpx's default limits."""
MAX_IN_FLIGHT = MAX_KEEPALIVE_CONNECTIONS
"""Lean attempts inside the async pool at once; the others wait in FIFO order.

httpcore 1.x closes a connection that turns idle while the pool holds more than
``max_keepalive_connections``, so beyond 20 in flight each further request
would open (and TLS-handshake) a new connection; and every pool event scans
every connection. Over loopback 20 in flight cost the event loop 300-800 us
less per request than 100 (``benchmarks/bench_client.py``).
"""

URL_CACHE_SIZE = 256
"""Parsed request URLs the lean path keeps (one parse costs about 9 us)."""

Exchange = tuple[Any, bytes | None, BodyTooLarge | None]
"""What a lean attempt gives back: the response, its read body or the cap it hit."""


def environment_proxies() -> bool:
    """Whether proxy variables are set: httpx would route through its proxy mounts."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


def make_transport(stack: ModuleType, *, asynchronous: bool) -> Any:
    """Return the transport httpx would make for a client without ``transport=``.

    ``None`` when environment proxies are set: the client must then make its own
    transports (and proxy mounts), and the lean path is off.
    """
    if environment_proxies():
        return None
    limits = stack.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
    )
    kind = stack.AsyncHTTPTransport if asynchronous else stack.HTTPTransport
    return kind(verify=True, trust_env=True, limits=limits)


class _Lean:
    """What both twins share: when the lean path is equivalent to ``send()``."""

    def __init__(self, http: Any, transport: Any, module: ModuleType) -> None:
        self.http = http
        self.transport = transport
        self.module = module
        self._module = module
        # send() writes one INFO line per request to the library's own logger.
        self._logger = logging.getLogger(module.__name__)
        # URLs are immutable: a path called again (a list, a poll, a retry) is not
        # parsed again. Bounded; thread-safe.
        self._url = functools.lru_cache(maxsize=URL_CACHE_SIZE)(module.URL)

    def usable(self, stream: bool) -> bool:
        """Whether an attempt (``stream``: its body is left unread) may go lean."""
        if stream or self.http.is_closed:
            return False
        hooks = self.http.event_hooks
        if hooks["request"] or hooks["response"]:
            return False
        return not self._logger.isEnabledFor(logging.INFO)

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Any = None,
        timeout: Any = None,
        content: bytes | None = None,
    ) -> Any:
        """Build the request ``http.build_request`` builds, for less.

        What httpx documents it merges: the client's headers, then ours; the
        client's params and cookies (when it has any, its own method is used);
        the timeout as the request's ``timeout`` extension. Our client has no
        ``base_url``: ``url`` is absolute.
        """
        http = self.http
        if http.params or http.cookies:
            return http.build_request(
                method,
                url,
                params=params,
                headers=headers,
                timeout=timeout,
                content=content,
            )
        module = self._module
        merged = module.Headers(http.headers)
        if headers:
            merged.update(headers)
        extensions = {"timeout": module.Timeout(timeout).as_dict()}
        return module.Request(
            method,
            self._url(url),
            params=params,
            headers=merged,
            content=content,
            extensions=extensions,
        )

    def _finish(self, response: Any, request: Any, started: float) -> None:
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        if "set-cookie" in response.headers:
            self.http.cookies.extract_cookies(response)


class OwnTransport(_Lean):
    """The sync client's lean path on the transport it made (or a test's)."""

    def exchange(
        self, request: Any, auth: Any, limit: int | None, error_limit: int
    ) -> Exchange:
        """Sign and send ``request``, read its body (capped) and close it.

        Raises what the transport raises (the library's ``HTTPError``s).
        """
        auth.sign_request(request, named=True)
        started = time.perf_counter()
        try:
            response = self.transport.handle_request(request)
        except self._module.RequestError as exc:
            exc.request = request  # as send() gives it (public setter)
            raise
        response.request = request
        try:
            cap = limit if response.is_success else error_limit
            try:
                body = read_capped(response, cap)
            except BodyTooLarge as exc:
                return response, None, exc
        finally:
            response.close()
        self._finish(response, request, started)
        return response, body, None


class AsyncOwnTransport(_Lean):
    """The async client's lean path, with a FIFO queue before the pool.

    Args:
        http: the client's own ``AsyncClient``.
        transport: the transport that client was built on.
        module: httpx or httpx2.
        max_in_flight: the most attempts inside the transport at once (its
            pool's ``max_connections``); ``None``: no queue (an in-memory
            transport has no pool).
    """

    def __init__(
        self,
        http: Any,
        transport: Any,
        module: ModuleType,
        max_in_flight: int | None,
    ) -> None:
        super().__init__(http, transport, module)
        self._gate: anyio.Semaphore | None = None
        if max_in_flight is not None:
            self._gate = _semaphore(max_in_flight)

    async def exchange(
        self, request: Any, auth: Any, limit: int | None, error_limit: int
    ) -> Exchange:
        """Sign and send ``request``, read its body (capped) and close it.

        Raises what the transport raises, and the library's ``PoolTimeout``
        when no place in the pool frees within the request's pool timeout.
        """
        await auth.asign_request(request, named=True)
        gate = self._gate
        if gate is None:
            return await self._exchange(request, limit, error_limit)
        await self._enter(gate, request)
        try:
            return await self._exchange(request, limit, error_limit)
        finally:
            gate.release()

    async def _enter(self, gate: anyio.Semaphore, request: Any) -> None:
        if gate.value:
            gate.acquire_nowait()
            return
        timeouts = request.extensions.get("timeout") or {}
        pool = timeouts.get("pool")
        if pool is None:
            await gate.acquire()
            return
        started = time.monotonic()
        with anyio.move_on_after(pool):
            await gate.acquire()
            # What is left of the pool timeout is the pool's to wait.
            left = max(pool - (time.monotonic() - started), 0.0)
            request.extensions = {
                **request.extensions,
                "timeout": {**timeouts, "pool": left},
            }
            return
        raise self._module.PoolTimeout(
            "no connection of the pool freed within the pool timeout",
            request=request,
        )

    async def _exchange(
        self, request: Any, limit: int | None, error_limit: int
    ) -> Exchange:
        started = time.perf_counter()
        try:
            response = await self.transport.handle_async_request(request)
        except self._module.RequestError as exc:
            exc.request = request  # as send() gives it (public setter)
            raise
        response.request = request
        try:
            cap = limit if response.is_success else error_limit
            try:
                body = await aread_capped(response, cap)
            except BodyTooLarge as exc:
                return response, None, exc
        finally:
            await response.aclose()
        self._finish(response, request, started)
        return response, body, None


def _semaphore(value: int) -> anyio.Semaphore:
    try:
        # No checkpoint when a place is free: one event-loop pass fewer.
        return anyio.Semaphore(value, max_value=value, fast_acquire=True)
    except TypeError:  # anyio before 4.5
        return anyio.Semaphore(value, max_value=value)
