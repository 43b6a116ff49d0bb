"""Owns moving bodies: file parts of uploads, capped reads, chunked downloads."""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack
from typing import IO, Any

import httpx

from nuvera_client._body import CHUNK_SIZE, new_spool, seekable
from nuvera_client._resource import Call, FilePart
from nuvera_client._stack import is_http_error, module_of
from nuvera_client._wire import PreparedFile, connection_error

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BodyTooLarge",
    "CappedDecoder",
    "aread_capped",
    "async_chunks",
    "prepare_files",
    "read_capped",
    "sync_chunks",
]

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The default cap on a response body read into memory, counted decoded."""


class BodyTooLarge(Exception):
    """A response body grew past the cap while it was read (decoded bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class CappedDecoder:
    """Decode a response body (identity, gzip or deflate) and stop past ``limit``.

    Fed the raw bytes (``response.iter_raw()``), it inflates at most what the
    cap still allows per step (zlib's ``max_length``), so a gzip bomb costs the
    cap, never what the server chose to compress. httpx's own decoders inflate a
    whole network chunk at once (1 KiB of gzip can be 1 MiB decoded).

    Raises (from ``feed()`` / ``finish()``):
        BodyTooLarge: more than ``limit`` bytes decoded.
        DecodingError: (the response's library's) a corrupt or unknown encoding.
    """

    def __init__(self, response: httpx.Response, limit: int | None) -> None:
        self._limit = limit
        self._size = 0
        self._parts: list[bytes] = []
        self._error = module_of(response).DecodingError
        encodings = [
            e.strip().lower()
            for e in response.headers.get("content-encoding", "").split(",")
            if e.strip() and e.strip().lower() != "identity"
        ]
        self._zlib: Any = None
        self._deflate = False
        if len(encodings) > 1 or (encodings and encodings[0] not in _ZLIB_WBITS):
            raise self._error(
                f"unsupported Content-Encoding {', '.join(encodings)!r} "
                "(the client asks for gzip or deflate only)"
            )
        if encodings:
            self._deflate = encodings[0] == "deflate"
            self._zlib = zlib.decompressobj(_ZLIB_WBITS[encodings[0]])

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            raise BodyTooLarge(self._limit)
        if data:
            self._parts.append(data)

    def feed(self, raw: bytes) -> None:
        """Decode and keep one raw chunk."""
        if self._zlib is None:
            self._add(raw)
            return
        pending = raw
        try:
            while pending:
                room = (
                    CHUNK_SIZE if self._limit is None else self._limit - self._size + 1
                )
                self._add(self._zlib.decompress(pending, max(room, 1)))
                pending = self._zlib.unconsumed_tail
        except zlib.error as exc:
            if self._deflate and self._size == 0 and not self._parts:
                # Some servers send raw deflate without the zlib header.
                self._zlib, self._deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
                self.feed(raw)
                return
            raise self._error(f"the response body is not valid {exc}") from None

    def finish(self) -> bytes:
        """Return the whole decoded body."""
        if self._zlib is not None:
            try:
                self._add(self._zlib.flush())
            except zlib.error as exc:
                raise self._error(f"the response body is not valid {exc}") from None
        return b"".join(self._parts)


_ZLIB_WBITS = {
    "gzip": zlib.MAX_WBITS | 16,
    "x-gzip": zlib.MAX_WBITS | 16,
    "deflate": zlib.MAX_WBITS,
}

ACCEPT_ENCODING = "gzip, deflate"
"""What the client accepts: the encodings ``CappedDecoder`` bounds."""


def _already_read(response: httpx.Response, limit: int | None) -> bytes:
    # In-memory transports (MockTransport, an ASGI app) hand over a response
    # read and decoded already: only its size is left to check.
    content = response.content
    if limit is not None and len(content) > limit:
        raise BodyTooLarge(limit)
    return content


def read_capped(response: httpx.Response, limit: int | None) -> bytes:
    """Read ``response``'s body, decoded, raising past ``limit`` decoded bytes."""
    if response.is_stream_consumed:
        return _already_read(response, limit)
    decoder = CappedDecoder(response, limit)
    for raw in response.iter_raw():
        decoder.feed(raw)
    return decoder.finish()


async def aread_capped(response: httpx.Response, limit: int | None) -> bytes:
    """Like ``read_capped()``, for async responses."""
    if response.is_stream_consumed:
        return _already_read(response, limit)
    decoder = CappedDecoder(response, limit)
    async for raw in response.aiter_raw():
        decoder.feed(raw)
    return decoder.finish()


def prepare_files(parts: Sequence[FilePart], stack: ExitStack) -> list[PreparedFile]:
    """Open paths, and spool one-shot streams so that every retry can resend them."""
    prepared: list[PreparedFile] = []
    for part in parts:
        source = part.source
        body: IO[bytes] | bytes
        if isinstance(source, (str, os.PathLike)):
            body = stack.enter_context(open(source, "rb"))  # noqa: SIM115
        elif isinstance(source, (bytes, bytearray, memoryview)):
            body = bytes(source)
        elif seekable(source):
            body = source
        else:
            # A one-shot stream is copied once so that every attempt can resend it.
            body = stack.enter_context(new_spool())
            shutil.copyfileobj(source, body, CHUNK_SIZE)
            body.seek(0)
        prepared.append(
            (
                part.name,
                (part.resolved_filename(), body, part.resolved_content_type()),
            )
        )
    return prepared


def sync_chunks(response: httpx.Response, call: Call[Any]) -> Iterator[bytes]:
    """Yield a streamed download's bytes; a failure mid-way is ours, scrubbed."""
    try:
        yield from response.iter_bytes(CHUNK_SIZE)
    except Exception as exc:
        if not is_http_error(exc):
            raise
        raise connection_error(exc, call, response.request.url) from exc


async def async_chunks(
    response: httpx.Response, call: Call[Any]
) -> AsyncIterator[bytes]:
    """Yield a streamed download's bytes; a failure mid-way is ours, scrubbed."""
    try:
        async for chunk in response.aiter_bytes(CHUNK_SIZE):
            yield chunk
    except Exception as exc:
        if not is_http_error(exc):
            raise
        raise connection_error(exc, call, response.request.url) from exc
