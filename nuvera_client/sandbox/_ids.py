"""Owns random identifiers: base62 from the CSPRNG, and ``prefix_`` object ids."""

from __future__ import annotations

import secrets

from nuvera_client.sandbox._encoding import BASE62

# Bytes below 248 = 4 x 62 map onto base62 without bias; the others are dropped.
_UNBIASED_BELOW = 248
_BYTE_TO_BASE62 = bytes(ord(BASE62[b % 62]) for b in range(256))
_BIASED_BYTES = bytes(range(_UNBIASED_BELOW, 256))


def random_base62(length: int) -> str:
    """Return ``length`` base62 characters from the CSPRNG, without modulo bias."""
    out = b""
    while len(out) < length:
        # 1.1 x what is needed: one draw is nearly always enough (3% are dropped).
        raw = secrets.token_bytes(length + length // 10 + 2)
        out += raw.translate(_BYTE_TO_BASE62, _BIASED_BYTES)
    return out[:length].decode("ascii")


def new_id(prefix: str, length: int = 24) -> str:
    """Return ``prefix`` + ``length`` random base62 characters."""
    return prefix + random_base62(length)
