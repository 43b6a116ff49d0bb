"""Mint test tokens with ``cryptography`` alone (independent of the SDK's signer)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_MISSING = object()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kid_of(public_key: rsa.RSAPublicKey) -> str:
    numbers = public_key.public_numbers()

    def enc(value: int) -> str:
        return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    doc = '{"e":"' + enc(numbers.e) + '","kty":"RSA","n":"' + enc(numbers.n) + '"}'
    return b64(hashlib.sha256(doc.encode()).digest())


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def claims(
    method: str,
    uri: str,
    body: bytes = b"",
    /,
    *,
    now: int,
    ttl: int = 30,
    **overrides: Any,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "iss": "nuvera-api",
        "aud": "nuvera-rest-api",
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_hex(16),
        "method": method,
        "uri": uri,
        "body_hash": hashlib.sha256(body).hexdigest(),
    }
    for name, value in overrides.items():
        if value is _MISSING:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def sign(key: rsa.RSAPrivateKey, signing_input: bytes) -> bytes:
    return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def mint(
    key: rsa.RSAPrivateKey,
    *,
    kid: str | None,
    payload: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
    raw_header: bytes | None = None,
    raw_payload: bytes | None = None,
) -> str:
    """Return a compact JWS; raw_* give exact JSON bytes for the segments."""
    if raw_header is None:
        head: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if kid is not None:
            head["kid"] = kid
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not _MISSING}
        raw_header = canonical(head)
    if raw_payload is None:
        raw_payload = canonical(payload or {})
    signing_input = (b64(raw_header) + "." + b64(raw_payload)).encode()
    return signing_input.decode() + "." + b64(sign(key, signing_input))


MISSING = _MISSING
