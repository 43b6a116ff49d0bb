"""Owns body hashing over the exact bytes sent, for every kind of httpx body.

Bytes and JSON bodies are already in memory. Seekable sources (files, multipart
with seekable files) are read twice: once to hash, once to send. Anything that
can only be read once (generators, pipes, async iterators) is spooled to a
temporary file while it is hashed, and the request is given the spool to send.
"""

from __future__ import annotations

import hashlib
import tempfile
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO, Any

import anyio.to_thread
import httpx
from httpx._content import IteratorByteStream
from httpx._multipart import FileField, MultipartStream

CHUNK_SIZE = 64 * 1024
SPOOL_MEMORY_LIMIT = 1024 * 1024  # spool bodies above 1 MiB to disk


class SpooledBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body spooled while it was hashed; can be sent any number of times."""

    def __init__(self, spool: IO[bytes], length: int) -> None:
        self._spool = spool
        self.length = length
        # httpx never closes a request stream: close the spool (and delete its
        # temporary file) as soon as the request is dropped.
        weakref.finalize(self, spool.close)

    def __iter__(self) -> Iterator[bytes]:
        self._spool.seek(0)
        while chunk := self._spool.read(CHUNK_SIZE):
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def close(self) -> None:
        self._spool.close()

    async def aclose(self) -> None:
        self._spool.close()


def seekable(obj: Any) -> bool:
    """Whether ``obj`` is a file object that can seek (so it can be read twice)."""
    try:
        return bool(obj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class HashingSpool:
    """A temporary file (in memory up to 1 MiB) that hashes what is written to it.

    One-shot bodies are copied into it while hashed, then sent from it; the file
    closes itself when dropped, since neither httpx nor requests closes a body.
    """

    def __init__(self) -> None:
        self.file = new_spool()
        self._digest = hashlib.sha256()
        self.length = 0

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the file and the hash."""
        self._digest.update(chunk)
        self.file.write(chunk)
        self.length += len(chunk)

    def finish(self) -> str:
        """Rewind the file for sending; return the SHA-256 hex of what was written."""
        self.file.seek(0)
        return self._digest.hexdigest()


def new_spool() -> IO[bytes]:
    """Return a temporary file (in memory up to 1 MiB) closing itself when dropped."""
    return _SelfClosingSpool(max_size=SPOOL_MEMORY_LIMIT)


class _SelfClosingSpool(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    def __del__(self) -> None:
        # Close quietly (no ResourceWarning) when the request is dropped.
        if not self.closed:
            self.close()


def _rereadable(stream: Any) -> bool:
    """Whether iterating ``stream`` again yields the same bytes."""
    if isinstance(stream, SpooledBody):
        return True
    if isinstance(stream, MultipartStream):
        return all(
            not isinstance(field, FileField)
            or isinstance(field.file, (str, bytes))
            or seekable(field.file)
            for field in stream.fields
        )
    if isinstance(stream, IteratorByteStream):
        inner = stream._stream
        return isinstance(inner, (list, tuple)) or (
            hasattr(inner, "read") and seekable(inner)
        )
    return False


def _hash_iter(chunks: Iterable[bytes]) -> str:
    return _hash_count(chunks)[0]


def _hash_count(chunks: Iterable[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    length = 0
    for chunk in chunks:
        digest.update(chunk)
        length += len(chunk)
    return digest.hexdigest(), length


def _hash_in_place(request: httpx.Request) -> str:
    """Hash a re-readable body, leaving any file where it stood.

    httpx announces a file's whole size even when it will be sent from its
    current position; the Content-Length is set to the bytes actually sent.
    """
    stream = request.stream
    inner: Any = getattr(stream, "_stream", None)
    position = inner.tell() if hasattr(inner, "tell") else None
    try:
        digest, length = _hash_count(stream)  # type: ignore[arg-type]
    finally:
        if position is not None:
            inner.seek(position)
    if position is not None and "content-length" in request.headers:
        request.headers["content-length"] = str(length)
    return digest


def _install_spool(request: httpx.Request, spool: HashingSpool) -> str:
    digest = spool.finish()
    request.stream = SpooledBody(spool.file, spool.length)
    # The length is known now: send it instead of chunked framing.
    if "transfer-encoding" in request.headers:
        del request.headers["transfer-encoding"]
    request.headers["content-length"] = str(spool.length)
    return digest


def body_hash(request: httpx.Request) -> str:
    """Return the SHA-256 hex of the body ``request`` will send (sync clients).

    A body that can be read only once is spooled and swapped into the request.
    """
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        return hashlib.sha256(request.content).hexdigest()
    if _rereadable(stream):
        return _hash_in_place(request)
    if not isinstance(stream, Iterable):
        raise TypeError(
            "this request has an async body; send it with httpx.AsyncClient"
        )
    spool = HashingSpool()
    for chunk in stream:
        spool.write(chunk)
    return _install_spool(request, spool)


async def abody_hash(request: httpx.Request) -> str:
    """Return the SHA-256 hex of the body ``request`` will send (async clients).

    Re-readable sources are hashed in a worker thread so a large file does not
    block the event loop; async iterators are spooled as they are read.
    """
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        content = request.content
        if len(content) <= SPOOL_MEMORY_LIMIT:
            return hashlib.sha256(content).hexdigest()
        return await anyio.to_thread.run_sync(_hash_iter, [content])
    if _rereadable(stream):
        return await anyio.to_thread.run_sync(_hash_in_place, request)
    if not isinstance(stream, httpx.AsyncByteStream) and isinstance(stream, Iterable):
        return await anyio.to_thread.run_sync(body_hash, request)
    spool = HashingSpool()
    async for chunk in stream:  # type: ignore[union-attr]
        spool.write(chunk)
    return _install_spool(request, spool)
