"""Owns file parts of uploads and the chunked reading of downloads."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack
from typing import IO, Any

import httpx

from nuvera_client._base_client import PreparedFile, connection_error
from nuvera_client._resource import Call, FilePart

__all__ = ["async_chunks", "prepare_files", "sync_chunks"]

_CHUNK = 64 * 1024
_SPOOL_MEMORY = 1024 * 1024


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
        elif _seekable(source):
            body = source
        else:
            spool = stack.enter_context(
                tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
            )
            for _ in range(1 << 40):
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                spool.write(chunk)
            spool.seek(0)
            body = spool
        prepared.append(
            (
                part.name,
                (part.resolved_filename(), body, part.resolved_content_type()),
            )
        )
    return prepared


def _seekable(obj: Any) -> bool:
    try:
        return bool(obj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def sync_chunks(response: httpx.Response, call: Call[Any]) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(_CHUNK)
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc


async def async_chunks(
    response: httpx.Response, call: Call[Any]
) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(_CHUNK):
            yield chunk
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc
