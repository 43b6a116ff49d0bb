"""Generate, load, serialise and identify the RSA keys that sign Nuvera requests.

Nuvera accepts RS256 keys only: RSA with a modulus of exactly 2048, 3072 or 4096 bits
and public exponent 65537 (PROTOCOL §1.2). The key id (``kid``) is the RFC 7638
JWK SHA-256 thumbprint of the public key, base64url without padding; it is always
derived, never typed.

This module does no I/O except reading a file you name with ``pathlib.Path``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.errors import InvalidPrivateKeyError, PassphraseError

__all__ = [
    "ALLOWED_KEY_SIZES",
    "PUBLIC_EXPONENT",
    "PrivateKeySource",
    "generate_private_key",
    "kid_of",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
]

ALLOWED_KEY_SIZES = (2048, 3072, 4096)
PUBLIC_EXPONENT = 65537

PrivateKeySource: TypeAlias = (
    "str | bytes | Mapping[str, str] | Path | rsa.RSAPrivateKey"
)
"""Anything [`load_private_key()`][nuvera_client.keys.load_private_key] accepts."""

Passphrase: TypeAlias = "str | bytes | None"  # noqa: S105 - a type, not a value


def generate_private_key(bits: int = 3072) -> rsa.RSAPrivateKey:
    """Generate a new RSA signing key.

    Args:
        bits: 2048, 3072 (default) or 4096.

    Raises:
        InvalidPrivateKeyError: for any other size.
    """
    if bits not in ALLOWED_KEY_SIZES:
        raise InvalidPrivateKeyError(
            f"RSA key size must be one of 2048, 3072 or 4096 bits, not {bits}"
        )
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey, passphrase: Passphrase = None) -> str:
    """Serialise a private key as PKCS#8 PEM, encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption
    if passphrase:
        encryption = serialization.BestAvailableEncryption(_as_bytes(passphrase))
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode("ascii")


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """Return the PEM ``SubjectPublicKeyInfo`` to upload to Nuvera."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def kid_of(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """Return the RFC 7638 JWK SHA-256 thumbprint of the (public) key, base64url.

    The thumbprint hashes ``{"e":"AQAB","kty":"RSA","n":"..."}``: the required
    members, sorted, without whitespace, ``n`` and ``e`` as unpadded base64url of
    their big-endian bytes.
    """
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    numbers = public.public_numbers()
    canonical = (
        f'{{"e":"{_b64_uint(numbers.e)}","kty":"RSA","n":"{_b64_uint(numbers.n)}"}}'
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_private_key(
    source: PrivateKeySource, passphrase: Passphrase = None
) -> rsa.RSAPrivateKey:
    """Load and check an RS256 private key.

    Args:
        source: PEM text (``str`` or ``bytes``; PKCS#8 or PKCS#1, optionally
            encrypted), DER ``bytes``, a JWK ``dict``, a ``pathlib.Path`` to a
            PEM or DER file, or a ``cryptography`` ``RSAPrivateKey``.
        passphrase: for an encrypted key.

    Raises:
        PassphraseError: the key is encrypted and the passphrase is missing or wrong.
        InvalidPrivateKeyError: anything else that makes the key unusable, with what
            to do about it.
    """
    if isinstance(source, rsa.RSAPrivateKey):
        return check_private_key(source)
    if isinstance(source, Path):
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise InvalidPrivateKeyError(
                f"cannot read the private key file {source}: {exc.strerror}"
            ) from None
        return load_private_key(data, passphrase)
    if isinstance(source, Mapping):
        return check_private_key(_from_jwk(source))
    if isinstance(source, str):
        empty = not source.strip()
    else:
        raw = source if isinstance(source, (bytes, bytearray, memoryview)) else b"-"
        empty = not bytes(raw).strip()
    if empty:
        raise InvalidPrivateKeyError(
            "the private key is empty: pass PEM text, DER bytes, a JWK dict or a "
            "pathlib.Path (is NUVERA_PRIVATE_KEY set?)"
        )
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("{"):
            try:
                jwk = json.loads(text)
            except ValueError:
                raise InvalidPrivateKeyError(
                    "the private key JSON is not valid"
                ) from None
            if not isinstance(jwk, dict):
                raise InvalidPrivateKeyError("a JWK private key must be a JSON object")
            return load_private_key(jwk, passphrase)
        if "-----BEGIN" not in text:
            raise InvalidPrivateKeyError(
                "the private key text is not PEM (no '-----BEGIN' line); "
                "to load a file, pass pathlib.Path('...')"
            )
        return _load_bytes(text.encode("ascii", "replace"), passphrase)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load_bytes(bytes(source), passphrase)
    raise InvalidPrivateKeyError(
        f"unsupported private key source of type {type(source).__name__}: pass PEM "
        "text, DER bytes, a JWK dict, a pathlib.Path or an RSAPrivateKey"
    )


def load_public_key(source: str | bytes | Path | rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Load an RSA public key (PEM ``SubjectPublicKeyInfo``, PKCS#1 PEM, or DER)."""
    if isinstance(source, rsa.RSAPublicKey):
        return source
    data = source.read_bytes() if isinstance(source, Path) else source
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    try:
        if b"-----BEGIN" in raw:
            key = serialization.load_pem_public_key(raw)
        else:
            key = serialization.load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidPrivateKeyError("not a valid RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidPrivateKeyError(
            f"RS256 needs an RSA key; this public key is {_kind(key)}"
        )
    return key


def check_public_key(key: rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Check the size and exponent Nuvera requires; return the key."""
    if key.key_size not in ALLOWED_KEY_SIZES:
        raise InvalidPrivateKeyError(
            f"the RSA key has {key.key_size} bits; Nuvera needs exactly 2048, 3072 "
            "or 4096 (generate one with `nuvera keys generate`)"
        )
    exponent = key.public_numbers().e
    if exponent != PUBLIC_EXPONENT:
        raise InvalidPrivateKeyError(
            f"the RSA public exponent is {exponent}; Nuvera needs 65537 "
            "(generate a new key with `nuvera keys generate`)"
        )
    return key


def check_private_key(key: rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    """Check a private key's size and exponent; return the key."""
    check_public_key(key.public_key())
    return key


def _load_bytes(data: bytes, passphrase: Passphrase) -> rsa.RSAPrivateKey:
    secret = _as_bytes(passphrase) if passphrase else None
    is_pem = b"-----BEGIN" in data
    if is_pem and b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise InvalidPrivateKeyError(
            "this is a public key; signing needs the private key "
            "(the public key is what you upload to Nuvera)"
        )
    encrypted = is_pem and (b"ENCRYPTED" in data or b"Proc-Type: 4,ENCRYPTED" in data)
    if encrypted and secret is None:
        raise PassphraseError(
            "the private key is encrypted: pass passphrase= "
            "(or set NUVERA_PRIVATE_KEY_PASSPHRASE)"
        )
    try:
        if is_pem:
            key = serialization.load_pem_private_key(data, password=secret)
        else:
            key = serialization.load_der_private_key(data, password=secret)
    except TypeError:
        # cryptography: "Password was given but private key is not encrypted",
        # or an encrypted DER key without a password.
        if secret is None:
            raise PassphraseError(
                "the private key is encrypted: pass passphrase="
            ) from None
        raise PassphraseError(
            "a passphrase was given but the private key is not encrypted; "
            "drop passphrase="
        ) from None
    except ValueError:
        if not is_pem and _is_der_public_key(data):
            raise InvalidPrivateKeyError(
                "this is a public key (DER); signing needs the private key "
                "(the public key is what you upload to Nuvera)"
            ) from None
        if encrypted or (secret is not None and not is_pem):
            raise PassphraseError(
                "the passphrase does not decrypt the private key (wrong passphrase?)"
            ) from None
        raise InvalidPrivateKeyError(
            "the private key could not be parsed: expected PEM (PKCS#8 or PKCS#1) "
            "or DER; check that the whole key was copied"
        ) from None
    except UnsupportedAlgorithm:
        raise InvalidPrivateKeyError(
            "the private key uses an unsupported algorithm; Nuvera needs RSA"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidPrivateKeyError(
            f"RS256 needs an RSA key; this key is {_kind(key)} "
            "(generate one with `nuvera keys generate`)"
        )
    return check_private_key(key)


def _is_der_public_key(data: bytes) -> bool:
    try:
        serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _from_jwk(jwk: Mapping[str, str]) -> rsa.RSAPrivateKey:
    if jwk.get("kty") != "RSA":
        raise InvalidPrivateKeyError(
            f"RS256 needs an RSA JWK (kty 'RSA'), not kty {jwk.get('kty')!r}"
        )
    if "d" not in jwk:
        raise InvalidPrivateKeyError(
            "this JWK is a public key (no 'd'); signing needs the private key"
        )
    try:
        n, e, d = (_jwk_int(jwk, name) for name in ("n", "e", "d"))
        public = rsa.RSAPublicNumbers(e, n)
        if all(name in jwk for name in ("p", "q", "dp", "dq", "qi")):
            p, q, dp, dq, qi = (_jwk_int(jwk, k) for k in ("p", "q", "dp", "dq", "qi"))
        else:
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
            dp, dq, qi = (
                rsa.rsa_crt_dmp1(d, p),
                rsa.rsa_crt_dmq1(d, q),
                rsa.rsa_crt_iqmp(p, q),
            )
        return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public).private_key()
    except (KeyError, ValueError, TypeError):
        raise InvalidPrivateKeyError(
            "the RSA JWK is incomplete or inconsistent (needs n, e, d; "
            "p, q, dp, dq, qi optional)"
        ) from None


def _jwk_int(jwk: Mapping[str, str], name: str) -> int:
    value = jwk[name]
    if not isinstance(value, str):
        raise TypeError(name)
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    return int.from_bytes(raw, "big")


def _b64_uint(value: int) -> str:
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _kind(key: object) -> str:
    name = type(key).__name__.lstrip("_")
    if name.startswith("EC"):  # cryptography >= 42 names them ECPrivateKey
        return "EC"
    for marker, label in (
        ("EllipticCurve", "EC"),
        ("Ed25519", "Ed25519"),
        ("Ed448", "Ed448"),
        ("DSA", "DSA"),
        ("X25519", "X25519"),
        ("X448", "X448"),
    ):
        if marker in name:
            return label
    return name
