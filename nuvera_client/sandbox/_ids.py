"""Owns random identifiers: base62 from the CSPRNG, and ``prefix_`` object ids.

Secrets (API keys) draw from the CSPRNG on every call (``random_base62()``). Object
and request ids (``new_id()``) are not secrets: they take CSPRNG bytes from a small
pool refilled 4 KiB at a time, so a request does not pay a system call for its id.
The pool is emptied in a forked child, so parent and child never share ids.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable

from nuvera_client.sandbox._encoding import BASE62

# Bytes below 248 = 4 x 62 map onto base62 without bias; the others are dropped.
_UNBIASED_BELOW = 248
_BYTE_TO_BASE62 = bytes(ord(BASE62[b % 62]) for b in range(256))
_BIASED_BYTES = bytes(range(_UNBIASED_BELOW, 256))
POOL_BYTES = 4096


def _base62_from(draw: Callable[[int], bytes], length: int) -> str:
    out = b""
    while len(out) < length:
        # 1.1 x what is needed: one draw is nearly always enough (3% are dropped).
        raw = draw(length + length // 10 + 2)
        out += raw.translate(_BYTE_TO_BASE62, _BIASED_BYTES)
    return out[:length].decode("ascii")


def random_base62(length: int) -> str:
    """Return ``length`` base62 characters from the CSPRNG, without modulo bias."""
    return _base62_from(secrets.token_bytes, length)


class _BytePool:
    """CSPRNG bytes handed out once each, refilled ``POOL_BYTES`` at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._used = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._used + count > len(self._buffer):
                self._buffer = secrets.token_bytes(max(POOL_BYTES, count))
                self._used = 0
            start = self._used
            self._used += count
            return self._buffer[start : self._used]

    def empty(self) -> None:
        """Forget the buffered bytes (a forked child must not reuse its parent's)."""
        self._lock = threading.Lock()
        self._buffer = b""
        self._used = 0


_POOL = _BytePool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.empty)


def new_id(prefix: str, length: int = 24) -> str:
    """Return ``prefix`` + ``length`` random base62 characters (not a secret)."""
    return prefix + _base62_from(_POOL.take, length)
