"""Body handling pinned byte for byte (issue 17: mutation testing of ``_body.py``).

The multipart encoding of names, the framing headers of a spooled body, chunked
reads of large files and spools, the upload watcher's calls, re-hashing a body
already spooled, httpx2 requests, and the spool's own clean-up.
"""

from __future__ import annotations

import gc
import hashlib
import io
import warnings
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from nuvera_client._body import (
    CHUNK_SIZE,
    HashingSpool,
    MultipartBody,
    abody_hash,
    body_hash,
    multipart_body,
    new_spool,
    seekable,
)

URL = "https://api.sandbox.nuvera.com/v1/documents"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gen(*chunks: bytes) -> Iterator[bytes]:
    yield from chunks


def test_multipart_bytes_exactly() -> None:
    body = multipart_body(
        httpx,
        "b0undary",
        {'a"b\r\nc': "välue"},
        [("f\n", ('x"y\r.txt', b"DATA", "text/plain"))],
    )
    expected = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="a%22b%0D%0Ac"\r\n\r\n'
        b"v\xc3\xa4lue\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="f%0A"; filename="x%22y%0D.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"DATA\r\n"
        b"--b0undary--\r\n"
    )
    assert b"".join(body) == b"".join(body.chunks()) == expected
    assert body.length == len(expected)


class _Watcher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def restart(self, total: int) -> None:
        self.calls.append(("restart", total))

    def sent(self, count: int) -> None:
        self.calls.append(("sent", count))


def test_the_watcher_sees_every_chunk_sent_and_not_the_hashing() -> None:
    watcher = _Watcher()
    body = multipart_body(httpx, "b", {"k": "v"}, [], watcher)
    sizes = [len(chunk) for chunk in body.chunks()]
    assert watcher.calls == []
    assert b"".join(body) == b"".join(body.chunks())
    assert watcher.calls == [("restart", body.length)] + [("sent", n) for n in sizes]
    assert sum(sizes) == body.length


def test_large_file_parts_are_read_in_chunks() -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 64)  # four chunks
    body = MultipartBody("b", {}, [("file", ("a.bin", io.BytesIO(data), "x/y"))])
    chunks = list(body.chunks())
    assert max(len(chunk) for chunk in chunks) == CHUNK_SIZE
    assert data in b"".join(chunks)


def test_a_spool_is_sent_in_chunks_with_its_length() -> None:
    data = b"z" * (3 * CHUNK_SIZE + 5)
    request = httpx.Request("POST", URL, content=_gen(data[:10], data[10:]))
    assert request.headers["transfer-encoding"] == "chunked"
    assert body_hash(request) == _sha(data)
    assert "transfer-encoding" not in request.headers
    assert request.headers["content-length"] == str(len(data))
    chunks = list(request.stream)  # type: ignore[arg-type]
    assert max(len(chunk) for chunk in chunks) == CHUNK_SIZE
    assert b"".join(chunks) == data


def test_a_spooled_body_hashes_again_in_place() -> None:
    request = httpx.Request("POST", URL, content=_gen(b"ab", b"cd"))
    first = body_hash(request)
    stream = request.stream
    assert body_hash(request) == first == _sha(b"abcd")
    assert request.stream is stream


@pytest.mark.anyio
async def test_async_hash_of_our_multipart_body() -> None:
    body = multipart_body(httpx, "b", {"k": "v"}, [("f", ("n", b"xyz", "a/b"))])
    request = httpx.Request("POST", URL, stream=body)
    assert await abody_hash(request) == _sha(b"".join(body.chunks()))
    assert request.stream is body


def test_an_async_body_in_a_sync_client_is_refused() -> None:
    async def chunks() -> Iterator[bytes]:  # type: ignore[misc]
        yield b"x"

    request = httpx.Request("POST", URL, content=chunks())
    with pytest.raises(TypeError) as caught:
        body_hash(request)
    assert str(caught.value) == (
        "this request has an async body; send it with httpx.AsyncClient"
    )


def test_hashing_spool_rewinds_for_sending() -> None:
    spool = HashingSpool()
    spool.write(b"abc")
    spool.write(b"de")
    assert spool.finish() == _sha(b"abcde")
    assert spool.length == 5
    assert spool.file.read() == b"abcde"


def test_seekable() -> None:
    assert seekable(io.BytesIO(b"x"))
    assert not seekable(object())
    closed = io.BytesIO()
    closed.close()
    assert not seekable(closed)


def test_a_dropped_spool_closes_its_file_quietly() -> None:
    spool = new_spool()
    spool.write(b"x" * (2 * 1024 * 1024))  # rolled over to a temporary file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del spool
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_requests_of_either_stack_keep_their_own_stream_classes(
    http_stack: ModuleType,
) -> None:
    in_memory = http_stack.Request("POST", URL, content=b"abc")
    stream = in_memory.stream
    assert body_hash(in_memory) == _sha(b"abc")
    assert in_memory.stream is stream  # hashed in place, not spooled
    spooled = http_stack.Request("POST", URL, content=_gen(b"a", b"bc"))
    assert body_hash(spooled) == _sha(b"abc")
    assert isinstance(spooled.stream, http_stack.SyncByteStream)
    assert isinstance(spooled.stream, http_stack.AsyncByteStream)
    body = multipart_body(http_stack, "b", {"k": "v"}, [])
    assert isinstance(body, http_stack.SyncByteStream)
