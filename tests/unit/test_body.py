"""Body hashing: the hash is over exactly the bytes httpx then sends."""

from __future__ import annotations

import gzip
import hashlib
import io
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from nuvera_client._body import (
    SPOOL_MEMORY_LIMIT,
    SpooledBody,
    abody_hash,
    body_hash,
    multipart_body,
)

URL = "https://api.sandbox.nuvera.com/v1/documents"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sent(request: httpx.Request) -> bytes:
    return b"".join(request.stream)  # type: ignore[arg-type]


def test_empty_and_bytes() -> None:
    assert body_hash(httpx.Request("GET", URL)) == _sha(b"")
    request = httpx.Request("POST", URL, content=b"abc")
    assert body_hash(request) == _sha(b"abc") == _sha(_sent(request))


def test_json_is_hashed_as_encoded_by_httpx() -> None:
    request = httpx.Request("POST", URL, json={"name": "Zoë", "n": 1})
    assert body_hash(request) == _sha(request.content)


def test_gzip_body_is_hashed_compressed() -> None:
    raw = b'{"amount":"1250.00"}' * 100
    packed = gzip.compress(raw, mtime=0)
    request = httpx.Request(
        "POST", URL, content=packed, headers={"content-encoding": "gzip"}
    )
    assert body_hash(request) == _sha(packed) != _sha(raw)


def test_multipart_hash_equals_sent_bytes(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(b"\x00\xff" * 100_000)
    with path.open("rb") as handle:
        request = httpx.Request(
            "POST",
            URL,
            data={"customer_id": "cus_1", "type": "passport"},
            files={"file": ("doc.bin", handle, "application/octet-stream")},
        )
        digest = body_hash(request)
        sent = _sent(request)
    assert digest == _sha(sent)
    assert int(request.headers["content-length"]) == len(sent)
    assert b'name="customer_id"' in sent
    # httpx's own multipart cannot be known re-readable through its public API.
    assert isinstance(request.stream, SpooledBody)


def test_our_multipart_body_is_read_twice_not_spooled(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(b"\x00\xff" * 100_000)
    with path.open("rb") as handle:
        body = multipart_body(
            httpx,
            "nuvera-b",
            {"customer_id": "cus_1"},
            [("file", ("doc.bin", handle, "application/octet-stream"))],
        )
        request = httpx.Request(
            "POST", URL, stream=body, headers={"content-length": str(body.length)}
        )
        digest = body_hash(request)
        assert request.stream is body  # read twice, not spooled
        sent = _sent(request)
    assert digest == _sha(sent)
    assert len(sent) == body.length
    assert sent.startswith(
        b'--nuvera-b\r\nContent-Disposition: form-data; name="customer_id"'
    )
    assert sent.endswith(b"\r\n--nuvera-b--\r\n")


def test_multipart_with_non_seekable_file_is_spooled() -> None:
    class Once(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(b"once" * 1000)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            return self._data.readinto(buffer)

    request = httpx.Request("POST", URL, files={"file": ("x", Once())})  # type: ignore[dict-item]
    digest = body_hash(request)
    assert isinstance(request.stream, SpooledBody)
    assert digest == _sha(_sent(request)) == _sha(_sent(request))


def test_generator_is_spooled_and_resendable() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a" * 10
        yield b"b" * 5

    request = httpx.Request("POST", URL, content=chunks())
    digest = body_hash(request)
    assert isinstance(request.stream, SpooledBody)
    assert request.stream.length == 15
    assert _sent(request) == _sent(request) == b"a" * 10 + b"b" * 5
    assert digest == _sha(b"a" * 10 + b"b" * 5)
    assert request.headers["content-length"] == "15"


def test_file_hashed_from_position_and_put_back(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with path.open("rb") as handle:
        handle.seek(4)
        request = httpx.Request("PUT", URL, content=handle)
        assert body_hash(request) == _sha(b"456789")
        assert request.headers["content-length"] == "6"
        assert _sent(request) == b"456789"


def test_large_generator_does_not_stay_in_memory() -> None:
    chunk = b"z" * (256 * 1024)
    count = 80  # 20 MiB

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk

    request = httpx.Request("POST", URL, content=chunks())
    tracemalloc.start()
    try:
        digest = body_hash(request)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * SPOOL_MEMORY_LIMIT  # far below the 20 MiB body
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    assert digest == expected.hexdigest()
    assert request.headers["content-length"] == str(len(chunk) * count)


@pytest.mark.anyio
async def test_async_iterator_is_spooled() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"x", b"y" * 3, b""):
            yield part

    request = httpx.Request("POST", URL, content=chunks())
    digest = await abody_hash(request)
    assert digest == _sha(b"xyyy")
    assert isinstance(request.stream, SpooledBody)
    assert b"".join([part async for part in request.stream]) == b"xyyy"


@pytest.mark.anyio
async def test_async_bytes_and_large_bytes() -> None:
    small = httpx.Request("POST", URL, content=b"abc")
    assert await abody_hash(small) == _sha(b"abc")
    big_body = b"q" * (SPOOL_MEMORY_LIMIT + 1)
    big = httpx.Request("POST", URL, content=big_body)
    assert await abody_hash(big) == _sha(big_body)


@pytest.mark.anyio
async def test_async_multipart(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    path.write_bytes(b"pdf" * 50_000)
    with path.open("rb") as handle:
        request = httpx.Request("POST", URL, files={"file": ("d.pdf", handle)})
        digest = await abody_hash(request)
        sent = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
    assert digest == _sha(sent)


def test_spooled_body_closes_with_request() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"

    request = httpx.Request("POST", URL, content=chunks())
    body_hash(request)
    stream = request.stream
    assert isinstance(stream, SpooledBody)
    spool = stream._spool
    del request, stream
    assert spool.closed
