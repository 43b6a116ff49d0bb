"""Owns the sandbox's own credential rules: API key format and checksum, kid, RSA keys.

Re-derived from PROTOCOL §1 on purpose: nothing here comes from the client side
(``_api_key``, ``_signer``, ``keys``), so one shared bug cannot pass both sides.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.sandbox._encoding import b64url_encode, base62
from nuvera_client.sandbox._ids import random_base62

API_KEY_ENVS = ("live", "test")
API_KEY_RANDOM_CHARS = 32
API_KEY_CHECK_CHARS = 6
API_KEY_PREFIX_CHARS = 13
ALLOWED_MODULUS_BITS = (2048, 3072, 4096)
PUBLIC_EXPONENT = 65537

_BASE62_RE = re.compile(r"[0-9A-Za-z]+")


class KeyMaterialError(ValueError):
    """A public key that PROTOCOL §1.2 does not accept (the message says why)."""


def api_key_check(body: str) -> str:
    """Return the 6-char base62 CRC32 check of ``nvk_{env}_{random}``."""
    return base62(zlib.crc32(body.encode("ascii")), API_KEY_CHECK_CHARS)


def new_api_key(env: str = "test") -> str:
    """Generate a fresh API key ``nvk_{env}_{random}{check}``."""
    body = f"nvk_{env}_{random_base62(API_KEY_RANDOM_CHARS)}"
    return body + api_key_check(body)


def api_key_well_formed(key: str) -> bool:
    """Tell whether ``key`` has a known prefix, the right length and checksum."""
    for env in API_KEY_ENVS:
        prefix = f"nvk_{env}_"
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            if len(rest) != API_KEY_RANDOM_CHARS + API_KEY_CHECK_CHARS:
                return False
            if not _BASE62_RE.fullmatch(rest):
                return False
            body = key[: len(prefix) + API_KEY_RANDOM_CHARS]
            return api_key_check(body) == key[len(body) :]
    return False


def _int_b64(value: int) -> str:
    length = max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def kid_of(public_key: rsa.RSAPublicKey) -> str:
    """Return the RFC 7638 SHA-256 JWK thumbprint of an RSA public key."""
    numbers = public_key.public_numbers()
    members = {"e": _int_b64(numbers.e), "kty": "RSA", "n": _int_b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load and check a PEM ``SubjectPublicKeyInfo`` RSA signing key (§1.2).

    Raises:
        KeyMaterialError: not PEM, not RSA, wrong size or exponent.
    """
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    if b"PRIVATE KEY" in data:
        raise KeyMaterialError("expected a public key; never upload a private key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError("not a PEM SubjectPublicKeyInfo public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyMaterialError("the signing key must be RSA (RS256)")
    if key.key_size not in ALLOWED_MODULUS_BITS:
        raise KeyMaterialError(
            f"RSA modulus is {key.key_size} bits; allowed: 2048, 3072 or 4096"
        )
    if key.public_numbers().e != PUBLIC_EXPONENT:
        raise KeyMaterialError("RSA public exponent must be 65537")
    return key


def public_pem(key: rsa.RSAPublicKey) -> str:
    """Serialise a public key as PEM ``SubjectPublicKeyInfo``."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def generate_key_pair() -> tuple[str, str]:
    """Generate an RSA-2048 pair; return (private PKCS#8 PEM, public PEM)."""
    private = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return private_pem, public_pem(private.public_key())
