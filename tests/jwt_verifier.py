"""An independent verifier of Nuvera request tokens (PROTOCOL §2.1 and §3).

Written from PROTOCOL.md with ``cryptography``, ``json`` and ``base64`` only: it
imports neither PyJWT nor ``nuvera_client``, so a bug in our signer cannot hide
behind the same bug here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JTI_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")
B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
CLAIMS = {"aud", "body_hash", "exp", "iat", "iss", "jti", "method", "uri"}


class VerificationError(AssertionError):
    """The token does not verify; ``code`` is the PROTOCOL §3 code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class Verified:
    """What a verified token carried."""

    header: dict[str, Any]
    claims: dict[str, Any]
    header_bytes: bytes
    payload_bytes: bytes


def b64url_decode(segment: str) -> bytes:
    """Decode unpadded base64url strictly."""
    if not B64URL_RE.fullmatch(segment) or len(segment) % 4 == 1:
        raise VerificationError("malformed_token", "segment is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("malformed_token", str(exc)) from None
    if b64url(data) != segment:
        # Non-zero trailing bits: another spelling of the same bytes (RFC 4648 §3.5).
        raise VerificationError("malformed_token", "non-canonical base64url")
    return data


def b64url(data: bytes) -> str:
    """Encode as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(public: rsa.RSAPublicKey) -> str:
    """RFC 7638 SHA-256 thumbprint, built by hand."""
    numbers = public.public_numbers()

    def uint(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    jwk = json.dumps(
        {"e": uint(numbers.e), "kty": "RSA", "n": uint(numbers.n)},
        separators=(",", ":"),
        sort_keys=True,
    )
    return b64url(hashlib.sha256(jwk.encode("ascii")).digest())


def _object(raw: bytes) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise VerificationError("malformed_token", "duplicate member")
        return dict(pairs)

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationError("malformed_token", str(exc)) from None
    if not isinstance(value, dict):
        raise VerificationError("malformed_token", "not a JSON object")
    return value


def canonical(value: dict[str, Any]) -> bytes:
    """JCS for ASCII-keyed objects of strings and integers."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def verify(
    token: str,
    public: rsa.RSAPublicKey,
    *,
    method: str,
    uri: str,
    body: bytes = b"",
    body_hash: str | None = None,
    now: int | None = None,
    max_ttl: int = 60,
    require_canonical: bool = True,
) -> Verified:
    """Check a token against the request it signs, as a Nuvera server would.

    Give the received ``body``, or only its SHA-256 hex as ``body_hash`` when the
    body was streamed and not kept.

    Raises:
        VerificationError: with the PROTOCOL §3 code of the first failing check.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise VerificationError("malformed_token", "not three segments")
    header_bytes, payload_bytes, signature = (b64url_decode(p) for p in parts)
    header = _object(header_bytes)
    claims = _object(payload_bytes)
    if header.get("alg") != "RS256":
        raise VerificationError("unsupported_algorithm", repr(header.get("alg")))
    if "typ" in header and header["typ"] != "JWT":
        raise VerificationError("malformed_token", "typ")
    if "crit" in header:
        raise VerificationError("malformed_token", "crit")
    if header.get("kid") != thumbprint(public):
        raise VerificationError("unknown_signing_key", repr(header.get("kid")))
    try:
        public.verify(
            signature,
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise VerificationError("invalid_signature") from None
    if claims.get("iss") != "nuvera-api":
        raise VerificationError("invalid_issuer", repr(claims.get("iss")))
    if claims.get("aud") != "nuvera-rest-api":
        raise VerificationError("invalid_audience", repr(claims.get("aud")))
    _check_types(claims)
    lifetime = claims["exp"] - claims["iat"]
    if not 0 < lifetime <= max_ttl:
        raise VerificationError("invalid_lifetime", str(lifetime))
    if now is not None:
        if claims["iat"] > now + 10:
            raise VerificationError("token_not_yet_valid")
        if claims["exp"] < now - 10:
            raise VerificationError("token_expired")
    if claims["method"] != method:
        raise VerificationError("method_mismatch", f"{claims['method']} != {method}")
    if claims["uri"] != uri:
        raise VerificationError("uri_mismatch", f"{claims['uri']!r} != {uri!r}")
    expected_hash = body_hash or hashlib.sha256(body).hexdigest()
    if claims["body_hash"] != expected_hash:
        raise VerificationError("body_hash_mismatch", f"over {len(body)} bytes")
    if require_canonical:
        if header_bytes != canonical(header):
            raise VerificationError("not_canonical", header_bytes.decode())
        if payload_bytes != canonical(claims):
            raise VerificationError("not_canonical", payload_bytes.decode())
        if set(header) != {"alg", "kid", "typ"} or set(claims) != CLAIMS:
            raise VerificationError("not_canonical", "unexpected members")
    return Verified(header, claims, header_bytes, payload_bytes)


def _check_types(claims: dict[str, Any]) -> None:
    for name in ("iat", "exp"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise VerificationError("malformed_token", name)
    if not isinstance(claims.get("jti"), str) or not JTI_RE.fullmatch(claims["jti"]):
        raise VerificationError("malformed_token", "jti")
    method = claims.get("method")
    if not isinstance(method, str) or not method or method != method.upper():
        raise VerificationError("malformed_token", "method")
    if not isinstance(claims.get("uri"), str) or not claims["uri"].startswith("/"):
        raise VerificationError("malformed_token", "uri")
    body_hash = claims.get("body_hash")
    if not isinstance(body_hash, str) or not HEX64_RE.fullmatch(body_hash):
        raise VerificationError("malformed_token", "body_hash")
