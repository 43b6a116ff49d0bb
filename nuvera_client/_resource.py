"""Owns Call[T] (one logical API call, as data) and the resource base classes."""

from __future__ import annotations

import enum
import functools
import mimetypes
import os
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeAlias, TypeVar
from urllib.parse import quote

import httpx

from nuvera_client._body import UploadWatcher
from nuvera_client._pagination import MAX_CURSOR_LENGTH, AsyncPage, Page, PageData
from nuvera_client._permissions import Permission
from nuvera_client.errors import InvalidArgumentError, InvalidIdError

__all__ = [
    "PROTECTED_HEADERS",
    "AsyncCaller",
    "AsyncResource",
    "Call",
    "ExtraBody",
    "ExtraHeaders",
    "ExtraQuery",
    "FileInput",
    "FilePart",
    "SyncCaller",
    "SyncResource",
    "TimeoutTypes",
]

T = TypeVar("T")

FileInput: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
)
"""A file to upload: a path, the bytes, or a binary file object (seekable or not)."""

TimeoutTypes: TypeAlias = float | httpx.Timeout | None

ExtraHeaders: TypeAlias = Mapping[str, str]
"""Headers added to a call's request (signed like the rest)."""

ExtraQuery: TypeAlias = Mapping[str, "str | int"]
"""Query parameters added to a call's URL (covered by the signed ``uri``)."""

ExtraBody: TypeAlias = Mapping[str, object]
"""Fields merged over a call's JSON body (or added to its multipart form)."""

PROTECTED_HEADERS = frozenset(
    (
        "x-api-key",
        "authorization",
        "idempotency-key",
        "user-agent",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "accept-encoding",
        "host",
    )
)
"""Headers ``extra_headers=`` may not set: the credentials, and what the client
itself controls (the Idempotency-Key comes from ``idempotency_key=``, the body
headers from the body it encodes and hashes, the accepted encodings from what it
can decode within its limits)."""

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
"""RFC 3986 unreserved characters: what ``quote(value, safe="")`` leaves as is."""


@functools.lru_cache(maxsize=64)
def _permission(method: str, template: str) -> Permission:
    return Permission.required_for(method, template)


@dataclass(frozen=True)
class FilePart:
    """One file part of a multipart body: the field name and where the bytes are."""

    name: str
    source: FileInput
    filename: str | None = None
    content_type: str | None = None

    def resolved_filename(self) -> str:
        """The filename sent: given, else the path's or file object's name."""
        if self.filename:
            return self.filename
        if isinstance(self.source, (str, os.PathLike)):
            return Path(self.source).name
        name = getattr(self.source, "name", None)
        if isinstance(name, str) and name and not name.startswith("<"):
            return Path(name).name
        return "upload.bin"

    def resolved_content_type(self) -> str:
        """The part's Content-Type: given, else guessed from the filename."""
        if self.content_type:
            return self.content_type
        guessed, _ = mimetypes.guess_type(self.resolved_filename())
        return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One logical API call: what to send and how to read the answer.

    Built by the pure functions of ``resources/`` and run by either client; the
    permission comes from the endpoint table, so every call knows it.
    """

    method: str
    template: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    parse: Callable[[Any], T] | None = None
    query: Sequence[tuple[str, str]] = ()
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    files: Sequence[FilePart] = ()
    idempotency_key: str | None = None
    max_retries: int | None = None
    timeout: TimeoutTypes = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    extra_query: tuple[tuple[str, str], ...] = ()
    extra_body: Mapping[str, Any] | None = None
    upload_watcher: UploadWatcher | None = None

    def with_extras(
        self,
        headers: ExtraHeaders | None,
        query: ExtraQuery | None,
        body: ExtraBody | None,
    ) -> Call[T]:
        """Return this call with the caller's ``extra_*`` arguments, checked.

        Raises:
            InvalidArgumentError: a protected header, a query parameter the call
                already sends, or a body on a call that has none.
        """
        if not headers and not query and body is None:
            return self
        return replace(
            self,
            extra_headers=_checked_headers(self, headers),
            extra_query=_checked_query(self, query),
            extra_body=_checked_body(self, body),
        )

    @property
    def permission(self) -> Permission:
        """The permission this endpoint needs (PROTOCOL §5.1)."""
        return _permission(self.method, self.template)

    @property
    def path(self) -> str:
        """The path with its parameters percent-encoded, without the query."""
        path = self.template
        for name, value in self.path_params.items():
            # httpx removes dot segments: "..", sent, would reach another endpoint.
            if not isinstance(value, str) or value in ("", ".", ".."):
                raise InvalidIdError(
                    f"{self.endpoint}: {name} must be an id such as 'cus_…', "
                    f"got {value!r:.40}"
                )
            if not _UNRESERVED.fullmatch(value):  # ids usually are: skip quote()
                value = quote(value, safe="")
            path = path.replace("{" + name + "}", value)
        return path

    @property
    def endpoint(self) -> str:
        """``METHOD /v1/template`` (no ids): how logs and warnings name it."""
        return f"{self.method} {self.template}"

    @property
    def multipart(self) -> bool:
        """Whether the body is multipart/form-data."""
        return bool(self.files) or self.form is not None


def query_params(**params: object) -> tuple[tuple[str, str], ...]:
    """Return the query pairs of the parameters that are not ``None``."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            raise TypeError(f"{key} must not be a bool")
        pairs.append((key, str(getattr(value, "value", value))))
    return tuple(pairs)


def body_fields(**fields: object) -> dict[str, Any]:
    """Return the JSON body of the fields that are not ``None`` (enums as values)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        out[key] = _jsonable(value)
    return out


def _jsonable(value: object) -> Any:
    if isinstance(value, float):
        # Money must never pass through a float; refuse rather than round.
        raise TypeError("pass amounts as Decimal or str, never float")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _checked_headers(
    call: Call[Any], headers: ExtraHeaders | None
) -> tuple[tuple[str, str], ...]:
    if not headers:
        return ()
    if not isinstance(headers, Mapping):
        raise InvalidArgumentError("extra_headers must be a mapping of str to str")
    out: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"extra_headers: {name!r:.40} is not a valid header name"
            )
        lowered = name.lower()
        if lowered in PROTECTED_HEADERS:
            hint = (
                "pass idempotency_key= instead"
                if lowered == "idempotency-key"
                else "the client sets it itself"
            )
            raise InvalidArgumentError(
                f"{call.endpoint}: extra_headers may not set {lowered!r}: {hint}"
            )
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            # Never echo the value: it may be a secret of the caller's.
            raise InvalidArgumentError(
                f"extra_headers: the value of {name!r} must be a str without "
                "CR, LF or NUL"
            )
        out.append((lowered, value))
    return tuple(out)


def _checked_query(
    call: Call[Any], query: ExtraQuery | None
) -> tuple[tuple[str, str], ...]:
    if not query:
        return ()
    if not isinstance(query, Mapping):
        raise InvalidArgumentError("extra_query must be a mapping of str to str/int")
    sent = {name for name, _ in call.query}
    out: list[tuple[str, str]] = []
    for name, value in query.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("extra_query: names must be non-empty str")
        if name in sent or name == "cursor":
            raise InvalidArgumentError(
                f"{call.endpoint}: extra_query may not set {name!r}, which the "
                f"method already controls: pass {name}= instead"
            )
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidArgumentError(
                f"extra_query: the value of {name!r} must be a str or an int"
            )
        out.append((name, str(value)))
    return tuple(out)


def _checked_body(call: Call[Any], body: ExtraBody | None) -> Mapping[str, Any] | None:
    if body is None:
        return None
    if call.method not in ("POST", "PATCH"):
        raise InvalidArgumentError(
            f"{call.endpoint}: extra_body applies to POST and PATCH calls only"
        )
    if not isinstance(body, Mapping) or not all(isinstance(k, str) for k in body):
        raise InvalidArgumentError("extra_body must be a mapping with str keys")
    if call.multipart:
        form: dict[str, str] = {}
        for name, value in body.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
                raise InvalidArgumentError(
                    f"extra_body: multipart field {name!r} must be a str, an int "
                    "or a Decimal"
                )
            form[name] = str(value)
        return form
    converted: dict[str, Any] = _jsonable(body)
    return converted


def _checked_cursor(cursor: str | None) -> str | None:
    # A stored cursor comes back from a user's session or URL: refuse junk early.
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidArgumentError(
            f"cursor must be a non-empty string of at most {MAX_CURSOR_LENGTH} "
            "characters: pass a page's next_cursor unchanged"
        )
    return cursor


class SyncCaller(Protocol):
    """What a sync resource needs from its client: run calls (``_client.py``)."""

    sleep: Callable[[float], Any]
    clock: Callable[[], float]

    def authorize(self, call: Call[Any]) -> None:
        """Check ``call``'s permission locally (and record it)."""

    def request(self, call: Call[T]) -> T:
        """Run ``call``; return its parsed model."""

    def download(self, call: Call[Any]) -> bytes:
        """Run ``call``; return the whole body."""

    def stream(self, call: Call[Any]) -> AbstractContextManager[Iterator[bytes]]:
        """Run ``call``; the body is read as the caller iterates."""


class AsyncCaller(Protocol):
    """What an async resource needs from its client: run calls (``_client.py``)."""

    sleep: Callable[[float], Any]
    clock: Callable[[], float]

    def authorize(self, call: Call[Any]) -> None:
        """Check ``call``'s permission locally (and record it)."""

    def request(self, call: Call[T]) -> Awaitable[T]:
        """Run ``call``; return its parsed model."""

    def download(self, call: Call[Any]) -> Awaitable[bytes]:
        """Run ``call``; return the whole body."""

    def stream(
        self, call: Call[Any]
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Run ``call``; the body is read as the caller iterates."""


class SyncResource:
    """Base of the synchronous resources: sends ``Call`` objects."""

    def __init__(self, client: SyncCaller) -> None:
        self._client = client

    def _send(
        self,
        call: Call[T],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> T:
        return self._client.request(
            call.with_extras(extra_headers, extra_query, extra_body)
        )

    def _page(
        self,
        make: Callable[[str | None], Call[PageData[T]]],
        cursor: str | None = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[T]:
        def build(c: str | None) -> Call[PageData[T]]:
            return make(c).with_extras(extra_headers, extra_query, extra_body)

        # Checked now, so a missing permission (or a refused extra) surfaces at
        # list(), not at iteration.
        self._client.authorize(build(cursor))
        return Page(lambda c: self._client.request(build(c)), _checked_cursor(cursor))

    def _download(
        self,
        call: Call[Any],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> bytes:
        return self._client.download(
            call.with_extras(extra_headers, extra_query, extra_body)
        )

    def _stream(
        self,
        call: Call[Any],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AbstractContextManager[Iterator[bytes]]:
        return self._client.stream(
            call.with_extras(extra_headers, extra_query, extra_body)
        )


class AsyncResource:
    """Base of the asynchronous resources: sends ``Call`` objects."""

    def __init__(self, client: AsyncCaller) -> None:
        self._client = client

    def _send(
        self,
        call: Call[T],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Awaitable[T]:
        return self._client.request(
            call.with_extras(extra_headers, extra_query, extra_body)
        )

    def _page(
        self,
        make: Callable[[str | None], Call[PageData[T]]],
        cursor: str | None = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[T]:
        def build(c: str | None) -> Call[PageData[T]]:
            return make(c).with_extras(extra_headers, extra_query, extra_body)

        self._client.authorize(build(cursor))

        async def fetch(cursor: str | None) -> PageData[T]:
            return await self._client.request(build(cursor))

        return AsyncPage(fetch, _checked_cursor(cursor))

    def _download(
        self,
        call: Call[Any],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Awaitable[bytes]:
        return self._client.download(
            call.with_extras(extra_headers, extra_query, extra_body)
        )

    def _stream(
        self,
        call: Call[Any],
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._client.stream(
            call.with_extras(extra_headers, extra_query, extra_body)
        )
