"""Owns the text encodings of PROTOCOL §1-§2: base62, strict base64url, SHA-256 hex.

Written from the PROTOCOL, not shared with the client side.
"""

from __future__ import annotations

import base64
import hashlib
import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_VALUES = {
    ch: i
    for i, ch in enumerate(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
}


def base62(value: int, width: int) -> str:
    """Write ``value`` in base62 (most significant digit first), ``0``-padded."""
    digits = []
    while value:
        value, rem = divmod(value, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def sha256_hex(data: bytes | str) -> str:
    """Return the lowercase hex SHA-256 of ``data`` (str is UTF-8 encoded)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_strict(text: str) -> bytes | None:
    """Decode canonical unpadded base64url, or return None.

    Padding, characters outside the alphabet, an impossible length and non-zero
    trailing bits are all refused, so one token has exactly one spelling.
    """
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    tail = len(text) % 4
    if tail:
        # The last character carries 4 (tail 2) or 2 (tail 3) unused bits: zero.
        unused = 4 if tail == 2 else 2
        if _B64URL_VALUES[text[-1]] & ((1 << unused) - 1):
            return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
