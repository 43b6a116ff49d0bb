"""Owns raw responses: ``client.with_raw_response.<area>.<method>(...)``.

A call made through the wrapper runs exactly as the plain method (same attempt
loop, same signing, same retries); the drivers hand each successful exchange to
the capture slot of the current context (``record``), and the wrapper pairs
the last one with the parsed result. A context variable, so that threads and
tasks calling at once never see each other's responses.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import httpx

from nuvera_client._pagination import AsyncPage, Page

__all__ = [
    "AsyncRawResponses",
    "RawResponse",
    "RawResponses",
    "record",
]

T = TypeVar("T")

_NOT_RAW = frozenset(("stream", "download_to", "wait"))
"""Methods with no single response to show: streamed bodies, polling loops."""

_slot: ContextVar[list[tuple[httpx.Response, bytes | None]] | None] = ContextVar(
    "nuvera_raw_response", default=None
)


def record(response: httpx.Response, body: bytes | None) -> None:
    """Keep a call's successful response when a raw-response wrapper asked for it."""
    slot = _slot.get()
    if slot is not None:
        slot.append((response, body))


class RawResponse(Generic[T]):
    """A successful response as received, with the object it parses to.

    ``status_code``, ``headers`` and ``request_id`` come from the HTTP answer (the
    last attempt's, after any retries); ``parse()`` (or ``data``) returns what the
    plain method would have returned. A list's raw response is its first page's.
    """

    def __init__(self, response: httpx.Response, body: bytes | None, data: T) -> None:
        self._response = response
        self._body = body
        self._data = data

    @property
    def status_code(self) -> int:
        """The HTTP status code (2xx: errors raise as usual)."""
        return self._response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id``: quote it to Nuvera support."""
        value: str | None = self._response.headers.get("x-request-id")
        return value

    @property
    def url(self) -> httpx.URL:
        """The URL of the request that got this answer."""
        return self._response.request.url

    @property
    def content(self) -> bytes:
        """The body as read (decoded from any Content-Encoding)."""
        return self._body or b""

    @property
    def data(self) -> T:
        """The parsed object: what the plain method returns."""
        return self._data

    def parse(self) -> T:
        """Return the parsed object (the same as ``data``)."""
        return self._data

    def __repr__(self) -> str:
        return (
            f"<RawResponse {self.status_code} request_id={self.request_id!r} "
            f"data={type(self._data).__name__}>"
        )


def _wrappable(name: str, value: object) -> None:
    if name.startswith("_") or name in _NOT_RAW:
        raise AttributeError(
            f"{name!r} has no raw response: with_raw_response covers the methods "
            "that make one request (list fetches its first page)"
        )
    del value


class RawResponses:
    """``client.with_raw_response``: each area's methods, returning ``RawResponse``.

    ``client.with_raw_response.payments.retrieve("pay_…")`` runs the call and
    returns a ``RawResponse`` whose ``parse()`` is the ``Payment``. Nested areas
    work the same way (``...crypto.assets.list()``).
    """

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        _wrappable(name, value)
        if not callable(value):
            return RawResponses(value)
        return functools.wraps(value)(functools.partial(_call_sync, value))

    def __repr__(self) -> str:
        return f"<with_raw_response of {type(self._target).__name__}>"


class AsyncRawResponses:
    """The async twin of ``RawResponses``: ``await`` its methods."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        _wrappable(name, value)
        if not callable(value):
            return AsyncRawResponses(value)
        return functools.wraps(value)(functools.partial(_call_async, value))

    def __repr__(self) -> str:
        return f"<with_raw_response of {type(self._target).__name__}>"


def _call_sync(
    method: Callable[..., Any], *args: Any, **kwargs: Any
) -> RawResponse[Any]:
    slot: list[tuple[httpx.Response, bytes | None]] = []
    token = _slot.set(slot)
    try:
        data = method(*args, **kwargs)
        if isinstance(data, Page):
            data.first_page()
    finally:
        _slot.reset(token)
    return _pair(slot, data)


async def _call_async(
    method: Callable[..., Any], *args: Any, **kwargs: Any
) -> RawResponse[Any]:
    slot: list[tuple[httpx.Response, bytes | None]] = []
    token = _slot.set(slot)
    try:
        data = method(*args, **kwargs)
        if isinstance(data, AsyncPage):
            await data.first_page()
        elif isinstance(data, Awaitable):
            data = await data
    finally:
        _slot.reset(token)
    return _pair(slot, data)


def _pair(
    slot: list[tuple[httpx.Response, bytes | None]], data: object
) -> RawResponse[Any]:
    if not slot:
        raise RuntimeError("the call finished without a response to show")
    response, body = slot[-1]
    return RawResponse(response, body, data)
