"""Owns the request body: hashed as it streams, spooled, gzip, JSON text rules.

PROTOCOL §2.1 hashes the body as sent (a gzip body compressed); §6 bounds it at
25 MiB as received and decompressed, accepts ``gzip`` as the only
``Content-Encoding`` and refuses JSON text with lone surrogates.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from nuvera_client.sandbox._problems import problem

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")

# A body up to this size stays in memory; a larger one is spooled to a temporary file.
SPOOL_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024
_GZIP = ("gzip", "x-gzip")  # RFC 9110 §8.4.1.3: x-gzip is the same coding


class RequestBody:
    """The request body, hashed as it streams in; past ``SPOOL_BYTES`` on disk.

    Bytes past ``limit`` are hashed (check 18 still needs the digest) but not kept.
    """

    def __init__(self, limit: int) -> None:
        self.sha256 = hashlib.sha256()
        self.length = 0
        self.limit = limit
        # Most bodies are small: a BytesIO until the first chunk asks for more.
        self.file: IO[bytes] = io.BytesIO()
        self.too_large = False
        self._whole: bytes | None = None

    async def read(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            if chunk:
                self.sha256.update(chunk)
                self.length += len(chunk)
                if self.length > self.limit:
                    self.too_large = True
                else:
                    if self.length > SPOOL_BYTES and isinstance(self.file, io.BytesIO):
                        spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
                        spool.write(self.file.getvalue())
                        self.file = spool
                    self.file.write(chunk)
            if not message.get("more_body", False):
                self.file.seek(0)
                return

    def content(self) -> bytes:
        """Return the kept bytes (read once from the spool, then remembered)."""
        if self._whole is None:
            self.file.seek(0)
            self._whole = self.file.read()
        return self._whole

    def gunzip(self) -> None:
        """Replace the kept bytes by their gzip decompression, bounded by ``limit``.

        Raises:
            ApiProblem: 413 past ``limit`` decompressed, 400 for a bad gzip stream.
        """
        out: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        total = 0
        self.file.seek(0)
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while True:
                data = self.file.read(CHUNK_BYTES)
                if not data:
                    break
                while data:
                    # max_length bounds each step: a small bomb cannot balloon.
                    piece = decompressor.decompress(data, CHUNK_BYTES)
                    total += len(piece)
                    if total > self.limit:
                        raise problem(
                            "payload_too_large",
                            {"max_bytes": self.limit},
                            message="The gzip body decompresses to more than "
                            f"{self.limit} bytes.",
                        )
                    out.write(piece)
                    data = decompressor.unconsumed_tail
                    if decompressor.eof and decompressor.unused_data:
                        # Another gzip member follows (RFC 1952 allows several).
                        data = decompressor.unused_data + data
                        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            rest = decompressor.flush()
            total += len(rest)
            if total > self.limit:
                raise problem("payload_too_large", {"max_bytes": self.limit})
            out.write(rest)
            if not decompressor.eof:
                raise zlib.error("the gzip stream is truncated")
        except zlib.error as exc:
            out.close()
            raise problem(
                "invalid_request",
                {"content_encoding": "gzip"},
                message=f"The gzip body cannot be decompressed: {exc}",
            ) from None
        except BaseException:
            out.close()
            raise
        self.file.close()
        self.file = out
        self.length = total
        self.file.seek(0)

    def close(self) -> None:
        self.file.close()


class Disconnected(Exception):
    """The client went away before the body was read."""


def is_gzip(values: Sequence[str]) -> bool:
    """Return whether the body is gzip (PROTOCOL §6); refuse any other coding (415)."""
    if not values:
        return False
    codings = [
        coding.strip().lower()
        for value in values
        for coding in value.split(",")
        if coding.strip()
    ]
    codings = [coding for coding in codings if coding != "identity"]
    if not codings:
        return False
    if len(codings) == 1 and codings[0] in _GZIP:
        return True
    raise problem(
        "unsupported_content_encoding",
        {"content_encoding": ", ".join(codings), "supported": ["gzip"]},
        message="The only Content-Encoding accepted is gzip (once); send "
        f"{', '.join(codings)!r} bodies uncompressed.",
    )


def check_json_text(body: RequestBody, content_type: str) -> None:
    r"""Refuse a JSON body holding a lone surrogate escape with 400 (PROTOCOL §6).

    Python's ``json`` turns ``"\ud800"`` into a lone surrogate, which no UTF-8 store
    can keep. Bodies that are not JSON at all are left to the handler's own 400.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if not body.length or not (media == "application/json" or media.endswith("+json")):
        return
    content = body.content()
    if _SURROGATE_ESCAPE_RE.search(content) is None:
        return  # no \uD800-\uDFFF escape written: nothing to look for
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return
    if _has_lone_surrogate(value):
        raise problem(
            "invalid_request",
            {"reason": "lone_surrogate"},
            message="The JSON body holds a lone UTF-16 surrogate escape (\\ud800-"
            "\\udfff without its pair); send valid Unicode text.",
        )


def _has_lone_surrogate(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
