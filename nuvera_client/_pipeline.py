"""Owns the attempt loop of a call: one sans-I/O generator and its two drivers.

``attempts()`` decides everything about a logical call (authorize, poll the
credentials, the Idempotency-Key, build each attempt, classify its outcome, retry
or back off, learn the clock, refresh on rotation, deprecation notices) and
yields the I/O it needs as steps: ``Send``, ``Sleep``,
``FetchCredentials``. ``run_sync()`` and ``run_async()`` perform the
steps and send the outcomes back, as httpx drives an ``Auth.auth_flow``. They
hold no decision, so the sync and async clients cannot drift apart.

Every event of a call passes through one ``Observer`` (no-op by default
but for DEBUG logs), the place for tracing spans or per-attempt metrics.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio.to_thread
import httpx

from nuvera_client._retry import Action, Decision, RetryState
from nuvera_client._stack import is_http_error
from nuvera_client._transfer import (
    BodyTooLarge,
    aread_capped,
    prepare_files,
    read_capped,
)
from nuvera_client._wire import (
    PreparedFile,
    api_error,
    connection_error,
    new_multipart_boundary,
    too_large,
)
from nuvera_client.errors import LimitExceededError

if TYPE_CHECKING:
    from nuvera_client._client_core import ClientCore
    from nuvera_client._own_transport import AsyncOwnTransport, OwnTransport
    from nuvera_client._resource import Call, FilePart

__all__ = [
    "MAX_ATTEMPTS",
    "FetchCredentials",
    "Observer",
    "OpenFiles",
    "Outcome",
    "Result",
    "Send",
    "Sleep",
    "Step",
    "attempts",
    "run_async",
    "run_sync",
]

T = TypeVar("T")

logger = logging.getLogger("nuvera_client")

MAX_ATTEMPTS = 64
"""A hard bound on any attempt loop, far above every retry budget."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request`` (signed by the driver's auth, never redirected).

    The driver answers with an ``Outcome``. It reads the body (decoded, at
    most ``limit`` bytes, ``error_limit`` for an error) and closes the response,
    except a successful one when ``stream`` is set: the caller reads that later.
    """

    request: httpx.Request
    stream: bool
    limit: int | None
    error_limit: int


@dataclass(frozen=True, slots=True)
class OpenFiles:
    """Open the call's file parts (paths, one-shot streams spooled) for every attempt.

    The answer is the prepared parts; the driver closes them when the call ends.
    """

    parts: Sequence[FilePart]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``delay`` seconds before the next attempt; the answer is ``None``."""

    delay: float


@dataclass(frozen=True, slots=True)
class FetchCredentials:
    """Ask the credential provider again; the answer is ``None``.

    ``refresh`` asks for new credentials (after a rotation signal, once for every
    attempt that saw ``seen`` swaps); otherwise a caching provider is polled.
    ``blocking`` says it may wait on the network: async drivers run it in a
    worker thread.
    """

    refresh: bool
    seen: int
    blocking: bool


Step = Send | Sleep | FetchCredentials | OpenFiles


@dataclass(slots=True)
class Outcome:
    """What a ``Send`` produced: a response (and its read body) or an error."""

    response: httpx.Response | None = None
    body: bytes | None = None
    error: Exception | None = None


class Observer:
    """The one place every event of a call is seen; no-op but for DEBUG logs.

    Subclass it and set ``client_core.observer`` to trace calls (spans, metrics).
    Methods are called from the attempt loop, in the caller's thread or task;
    they must not raise. ``attempt`` is 1-based; ``seconds`` from
    ``time.perf_counter``.
    """

    def call_started(self, call: Call[Any], idempotency_key: str | None) -> None:
        """A logical call begins (after the local permission check)."""

    def attempt_started(
        self, call: Call[Any], attempt: int, request: httpx.Request
    ) -> None:
        """An attempt's request is about to be signed and sent.

        Headers added to ``request`` here (trace context) are sent but not signed.
        """

    def attempt_finished(
        self,
        call: Call[Any],
        attempt: int,
        *,
        response: httpx.Response | None,
        error: Exception | None,
        seconds: float,
        body: bytes | None = None,
    ) -> None:
        """An attempt ended with a response or a transport error.

        ``body`` is the response body as read (capped), or None when it is
        streamed to the caller or none came.
        """
        if not logger.isEnabledFor(logging.DEBUG):
            return
        outcome: object = (
            response.status_code if response is not None else type(error).__name__
        )
        request_id = response.headers.get("x-request-id") if response else None
        logger.debug(
            "%s %s -> %s request_id=%s attempt=%d",
            call.method,
            call.path,
            outcome,
            request_id,
            attempt,
        )

    def decided(self, call: Call[Any], attempt: int, decision: Decision) -> None:
        """What follows the attempt: a retry, a re-sign with a learned clock, ..."""
        if decision.action is Action.RESIGN and logger.isEnabledFor(logging.DEBUG):
            logger.debug("clock skew: offset now %.0f s", decision.clock_offset or 0)

    def call_finished(
        self, call: Call[Any], *, attempts: int, error: BaseException | None
    ) -> None:
        """The call returned (``error`` None) or raised ``error``."""


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """A call that succeeded: the response, its body (``None`` when streamed)."""

    response: httpx.Response
    body: bytes | None


def attempts(
    core: ClientCore,
    call: Call[Any],
    *,
    build: Any,
    stream: bool,
    limit: int | None,
) -> Generator[Step, Any, Result[Any]]:
    """Run one logical call as steps; return its successful response.

    Args:
        core: the state both clients share (auth, policy, credentials).
        call: what to send.
        build: the httpx client whose ``build_request`` makes each attempt.
        stream: leave a successful body unread (streamed downloads).
        limit: the cap on any body read into memory.

    Raises:
        APIError: the server's final answer was an error (or unusable).
        APIConnectionError: the final attempt got no response.
    """
    core.authorize(call)
    # Same key on every attempt, so the server can replay the result.
    key = core.idempotency_key(call)
    observer = core.observer
    observer.call_started(call, key)
    attempt = 0
    try:
        files: Sequence[PreparedFile] = ()
        if call.files:
            files = yield OpenFiles(call.files)
        if core.polls:
            yield FetchCredentials(
                refresh=False, seen=core.swaps, blocking=core.poll_blocks()
            )
        boundary = new_multipart_boundary() if call.multipart else None
        state = RetryState()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            seen = core.swaps
            request = core.request(build, call, key, files, boundary)
            observer.attempt_started(call, attempt, request)
            started = time.perf_counter()
            outcome = yield Send(request, stream, limit, core.max_response_bytes)
            if outcome is None:
                raise RuntimeError("a Send step was not answered")
            seconds = time.perf_counter() - started
            response, error = outcome.response, outcome.error
            observer.attempt_finished(
                call,
                attempt,
                response=response,
                error=error,
                seconds=seconds,
                body=outcome.body,
            )
            if isinstance(error, BodyTooLarge) and response is not None:
                # Not retried: the same server would send the same body.
                raise too_large(call, response, error.limit)
            if response is None:
                decision = core.decide(call, state, key, seen, error=error)
                if decision.action is Action.DONE:
                    raise connection_error(error, call, request.url) from error
            else:
                core.notice(call, response)
                if response.status_code not in (401, 403):
                    core.record_use(call)
                if response.is_success:
                    observer.call_finished(call, attempts=attempt, error=None)
                    return Result(response, outcome.body)
                body = outcome.body or b""
                decision = core.decide(
                    call, state, key, seen, response=response, body=body
                )
                if decision.action is Action.DONE:
                    raise api_error(response, body, core.secrets())
            state.record(decision)
            observer.decided(call, attempt, decision)
            core.apply(decision)
            if decision.action is Action.REFRESH:
                yield FetchCredentials(refresh=True, seen=seen, blocking=True)
            elif decision.action is Action.RETRY:
                yield Sleep(decision.delay)
        raise LimitExceededError(
            f"{call.endpoint}: gave up after {MAX_ATTEMPTS} attempts"
        )
    except BaseException as exc:
        # Errors, and GeneratorExit when the driver is cancelled mid-call.
        observer.call_finished(call, attempts=attempt, error=exc)
        raise


def _sync_send(
    http: Any, auth: httpx.Auth, step: Send, lean: OwnTransport | None = None
) -> Outcome:
    response: httpx.Response | None = None
    try:
        if lean is not None and lean.usable(step.stream):
            return Outcome(
                *lean.exchange(step.request, auth, step.limit, step.error_limit)
            )
        # Per send, so that a user's http_client with follow_redirects=True
        # cannot hand the signed headers to the next hop.
        response = http.send(
            step.request, auth=auth, stream=True, follow_redirects=False
        )
        success = response.is_success
        if step.stream and success:
            return Outcome(response)
        limit = step.limit if success else step.error_limit
        try:
            body = read_capped(response, limit)
        finally:
            response.close()
        return Outcome(response, body)
    except BodyTooLarge as exc:
        return Outcome(response, None, exc)
    except Exception as exc:
        if not is_http_error(exc):
            raise
        return Outcome(None, None, exc)


async def _async_send(
    http: Any, auth: httpx.Auth, step: Send, lean: AsyncOwnTransport | None = None
) -> Outcome:
    response: httpx.Response | None = None
    try:
        if lean is not None and lean.usable(step.stream):
            return Outcome(
                *await lean.exchange(step.request, auth, step.limit, step.error_limit)
            )
        response = await http.send(
            step.request, auth=auth, stream=True, follow_redirects=False
        )
        success = response.is_success
        if step.stream and success:
            return Outcome(response)
        limit = step.limit if success else step.error_limit
        try:
            body = await aread_capped(response, limit)
        finally:
            await response.aclose()
        return Outcome(response, body)
    except BodyTooLarge as exc:
        return Outcome(response, None, exc)
    except Exception as exc:
        if not is_http_error(exc):
            raise
        return Outcome(None, None, exc)


def run_sync(
    flow: Generator[Step, Any, Result[T]],
    *,
    http: Any,
    core: ClientCore,
    sleep: Callable[[float], Any],
    gate: AbstractContextManager[Any] | None = None,
    lean: OwnTransport | None = None,
) -> Result[T]:
    """Perform ``flow``'s steps with a sync httpx client; return its result.

    ``gate`` (the client's ``max_concurrency`` semaphore) is held around each
    send, not across backoff sleeps: a waiting retry leaves its place to others.
    ``lean``: the client's own transport, sent to directly where that is
    equivalent to ``send()`` (``_own_transport``).
    """
    answer: Any = None
    with ExitStack() as files:
        try:
            while True:
                step = flow.send(answer)
                answer = None
                if isinstance(step, Send):
                    if gate is None:
                        answer = _sync_send(http, core.auth, step, lean)
                    else:
                        with gate:
                            answer = _sync_send(http, core.auth, step, lean)
                elif isinstance(step, Sleep):
                    sleep(step.delay)
                elif isinstance(step, OpenFiles):
                    answer = prepare_files(step.parts, files)
                else:
                    core.fetch_credentials(refresh=step.refresh, seen=step.seen)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()


async def run_async(
    flow: Generator[Step, Any, Result[T]],
    *,
    http: Any,
    core: ClientCore,
    sleep: Callable[[float], Any],
    gate: AbstractAsyncContextManager[Any] | None = None,
    lean: AsyncOwnTransport | None = None,
) -> Result[T]:
    """Perform ``flow``'s steps with an async httpx client; return its result.

    ``gate`` is held around each send and ``lean`` used, as in ``run_sync``.
    """
    answer: Any = None
    # Made only for uploads: under load, thousands of calls wait at once, and
    # each object they hold is more work for the garbage collector.
    files: ExitStack | None = None
    try:
        while True:
            step = flow.send(answer)
            answer = None
            if isinstance(step, Send):
                if gate is None:
                    answer = await _async_send(http, core.auth, step, lean)
                else:
                    async with gate:
                        answer = await _async_send(http, core.auth, step, lean)
            elif isinstance(step, Sleep):
                await sleep(step.delay)
            elif isinstance(step, OpenFiles):
                files = files or ExitStack()
                # Opening and spooling block: keep them off the event loop.
                answer = await anyio.to_thread.run_sync(
                    prepare_files, step.parts, files
                )
            elif isinstance(step, FetchCredentials) and step.blocking:
                fetch = functools.partial(
                    core.fetch_credentials, refresh=step.refresh, seen=step.seen
                )
                await anyio.to_thread.run_sync(fetch)
            else:
                core.fetch_credentials(refresh=step.refresh, seen=step.seen)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()
        if files is not None:
            files.close()
