"""Owns moving bodies: file parts of uploads, capped reads, chunked downloads."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import IO, Any

import httpx

from nuvera_client._body import CHUNK_SIZE, new_spool, seekable
from nuvera_client._resource import Call, FilePart
from nuvera_client._stack import is_http_error
from nuvera_client._wire import PreparedFile, connection_error

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BodyTooLarge",
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


def read_capped(chunks: Iterable[bytes], limit: int | None) -> bytes:
    """Join decoded ``chunks`` (``response.iter_bytes()``), stopping past ``limit``.

    Counting the decoded bytes as they arrive bounds a gzip bomb by the cap
    (plus one decoded chunk), not by what the server chose to compress.
    """
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


async def aread_capped(chunks: AsyncIterable[bytes], limit: int | None) -> bytes:
    """Like :func:`read_capped`, for ``response.aiter_bytes()``."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


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
        raise connection_error(exc, call) from exc


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
        raise connection_error(exc, call) from exc
