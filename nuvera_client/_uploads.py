"""Owns file parts of uploads and the chunked reading of downloads."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack
from typing import IO, Any

import httpx

from nuvera_client._base_client import PreparedFile, connection_error
from nuvera_client._body import CHUNK_SIZE, new_spool, seekable
from nuvera_client._resource import Call, FilePart

__all__ = ["async_chunks", "prepare_files", "sync_chunks"]


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
    try:
        yield from response.iter_bytes(CHUNK_SIZE)
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc


async def async_chunks(
    response: httpx.Response, call: Call[Any]
) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(CHUNK_SIZE):
            yield chunk
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc
