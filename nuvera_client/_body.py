"""Owns request bodies: hashing the exact bytes sent, spooling, our multipart encoder.

Bytes and JSON bodies are already in memory. Our own multipart bodies (the client's
uploads) are read twice: once to hash, once to send, seeking their files back.
Any other stream (generators, file objects, pipes, async iterators, httpx's own
multipart) is spooled to a temporary file while it is hashed, and the request is
given the spool to send: httpx's public API cannot tell whether such a stream
yields the same bytes twice, so only the spool is sure to.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import IO, Any, Protocol

import anyio.to_thread
import httpx

CHUNK_SIZE = 64 * 1024
SPOOL_MEMORY_LIMIT = 1024 * 1024  # spool bodies above 1 MiB to disk


class SpooledBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body spooled while it was hashed; can be sent any number of times.

    ``stream_class()`` makes its twin for httpx2 requests (whose transports
    check for httpx2's stream classes).
    """

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


class UploadWatcher(Protocol):
    """Told how a multipart body's bytes leave for the server (upload progress)."""

    def restart(self, total: int) -> None:
        """An attempt starts sending the body of ``total`` bytes from the start."""

    def sent(self, count: int) -> None:
        """``count`` more bytes of the body were handed to the transport."""


def _rereadable(stream: Any) -> bool:
    """Whether iterating ``stream`` again yields the same bytes (our own bodies)."""
    return isinstance(stream, (SpooledBody, MultipartBody))


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
    """Hash a body we can read again (it seeks its files back itself)."""
    stream = request.stream
    if isinstance(stream, MultipartBody):
        # The hashing pass is not the upload: a progress watcher sees only sends.
        return _hash_count(stream.chunks())[0]
    return _hash_count(stream)[0]  # type: ignore[arg-type]


def _install_spool(request: httpx.Request, spool: HashingSpool) -> str:
    digest = spool.finish()
    request.stream = stream_class(_module_of_request(request), SpooledBody)(
        spool.file, spool.length
    )
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
    if _in_memory(request):
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
    if _in_memory(request):
        content = request.content
        if len(content) <= SPOOL_MEMORY_LIMIT:
            return hashlib.sha256(content).hexdigest()
        return await anyio.to_thread.run_sync(_hash_iter, [content])
    if _rereadable(stream):
        return await anyio.to_thread.run_sync(_hash_in_place, request)
    if isinstance(stream, Iterable):
        # Sync-readable (file objects, httpx's multipart): spool in a thread.
        return await anyio.to_thread.run_sync(body_hash, request)
    spool = HashingSpool()
    async for chunk in stream:
        spool.write(chunk)
    return _install_spool(request, spool)


def _module_of_request(request: Any) -> ModuleType:
    root = type(request).__module__.partition(".")[0]
    return sys.modules.get(root, httpx) if root == "httpx2" else httpx


def _in_memory(request: Any) -> bool:
    """Whether the body is already in memory (bytes, JSON, text: ``ByteStream``)."""
    return isinstance(request.stream, _module_of_request(request).ByteStream)


@functools.cache
def stream_class(module: ModuleType, base: type[Any]) -> type[Any]:
    """Return ``base`` (a body class of ours) usable in ``module``'s requests.

    httpx and httpx2 transports each accept only their own stream classes: the
    httpx2 twin also derives from httpx2's ``SyncByteStream``/``AsyncByteStream``.
    """
    if module is httpx:
        return base
    return type(
        base.__name__, (base, module.SyncByteStream, module.AsyncByteStream), {}
    )


def _quote(value: str) -> str:
    # WHATWG form encoding of names in Content-Disposition.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A multipart/form-data body we encode ourselves, re-readable (PROTOCOL §2.2).

    The boundary is fixed by the call, so every attempt sends the same bytes;
    files (opened paths, spools, seekable file objects) are read from the start
    on every pass, in chunks, so a large file is never held in memory.
    """

    def __init__(
        self,
        boundary: str,
        form: Mapping[str, str],
        files: Sequence[tuple[str, tuple[str, IO[bytes] | bytes, str]]],
        watcher: UploadWatcher | None = None,
    ) -> None:
        self._boundary = boundary.encode("ascii")
        self._watcher = watcher
        self._parts: list[tuple[bytes, IO[bytes] | bytes]] = []
        for name, value in form.items():
            head = f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
            self._parts.append((head.encode("utf-8"), str(value).encode("utf-8")))
        for name, (filename, source, content_type) in files:
            head = (
                f'Content-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(filename)}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            )
            self._parts.append((head.encode("utf-8"), source))
        self.length = (
            sum(
                len(self._boundary) + 4 + len(head) + _size(source) + 2
                for head, source in self._parts
            )
            + len(self._boundary)
            + 6
        )

    def __iter__(self) -> Iterator[bytes]:
        """Yield the body for sending (a watcher, if any, sees every chunk)."""
        watcher = self._watcher
        if watcher is None:
            yield from self.chunks()
            return
        watcher.restart(self.length)
        for chunk in self.chunks():
            yield chunk
            # Counted once the transport asks for the next chunk: it has this one.
            watcher.sent(len(chunk))

    def chunks(self) -> Iterator[bytes]:
        """Yield the body's bytes from the start, telling no watcher (hashing)."""
        for head, source in self._parts:
            yield b"--" + self._boundary + b"\r\n" + head
            if isinstance(source, bytes):
                yield source
            else:
                source.seek(0)
                while chunk := source.read(CHUNK_SIZE):
                    yield chunk
            yield b"\r\n"
        yield b"--" + self._boundary + b"--\r\n"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Reads of local files: short, and bounded by CHUNK_SIZE each.
        for chunk in self:
            yield chunk


def _size(source: IO[bytes] | bytes) -> int:
    if isinstance(source, bytes):
        return len(source)
    # Every file part is seekable (prepare_files spools the others).
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    return size


def multipart_body(
    module: ModuleType,
    boundary: str,
    form: Mapping[str, str],
    files: Sequence[tuple[str, tuple[str, IO[bytes] | bytes, str]]],
    watcher: UploadWatcher | None = None,
) -> MultipartBody:
    """Return our multipart body for a request of ``module`` (httpx or httpx2)."""
    body: MultipartBody = stream_class(module, MultipartBody)(
        boundary, form, files, watcher
    )
    return body
