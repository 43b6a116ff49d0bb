"""Owns an independent check of one request against PROTOCOL §3 checks 1-19.

Built on ``cryptography`` and the standard library only, from PROTOCOL.md: it shares
no code with ``_signer.py`` or ``_auth.py``, so a signing bug cannot pass both. Used
by ``NuveraMock`` to fail a partner's unit test with the server's diagnosis.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["Diagnosis", "RequestFacts", "check_request", "thumbprint"]

LEEWAY = 10
MAX_LIFETIME = 60
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_API_KEY = re.compile(r"nvk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})")
_JTI = re.compile(r"[A-Za-z0-9_-]{16,128}")
_METHOD = re.compile(r"[A-Z]+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

_TYPES = {
    401: "authentication_error",
    403: "permission_error",
}


@dataclass(frozen=True)
class Diagnosis:
    """What the server would answer: status, ``code``, message and ``details``."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def body(self, request_id: str) -> dict[str, Any]:
        """The §6 error body."""
        return {
            "error": {
                "type": _TYPES.get(self.status, "invalid_request_error"),
                "code": self.code,
                "message": self.message,
                "request_id": request_id,
                "details": self.details,
            }
        }


@dataclass(frozen=True)
class RequestFacts:
    """What verification needs from one HTTP request."""

    method: str
    target: str  # the raw request target: path and query as on the request line
    api_keys: Sequence[str]  # every x-api-key header value
    authorization: Sequence[str]
    body: bytes


def _b64decode(segment: str) -> bytes:
    if "=" in segment or not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _json_object(segment: str) -> dict[str, Any]:
    value = json.loads(_b64decode(segment), object_pairs_hook=_no_duplicates)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(key: rsa.RSAPublicKey) -> str:
    """Return the RFC 7638 JWK SHA-256 thumbprint (the ``kid``) of an RSA key."""
    numbers = key.public_numbers()

    def uint(value: int) -> str:
        return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))

    canonical = f'{{"e":"{uint(numbers.e)}","kty":"RSA","n":"{uint(numbers.n)}"}}'
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _well_formed_key(key: str) -> bool:
    match = _API_KEY.fullmatch(key)
    if match is None:
        return False
    crc = zlib.crc32(key[:-6].encode("ascii"))
    digits = ""
    while crc:
        crc, digit = divmod(crc, 62)
        digits = _BASE62[digit] + digits
    return digits.rjust(6, "0") == match.group(3)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_request(
    facts: RequestFacts,
    *,
    api_keys: Collection[str] | None,
    signing_keys: Mapping[str, rsa.RSAPublicKey],
    now: float,
    seen_jti: set[str],
    required_permission: Callable[[], str | None] = lambda: None,
    permissions: Collection[str] | None = None,
) -> Diagnosis | None:
    """Return the first refusal of PROTOCOL §3 for ``facts``, or None when it passes.

    One branch per row of the §3 table, in its order: the first failure wins.

    Args:
        facts: the request as received.
        api_keys: the known API keys (None: any well-formed key is known).
        signing_keys: kid -> public key of the application's active signing keys.
        now: the server clock (Unix seconds).
        seen_jti: the replay store; a passing token's ``jti`` is added.
        required_permission: the endpoint's permission (check 19), when known.
        permissions: the application's permissions (None: check 19 is skipped).
    """
    keys = [k for k in facts.api_keys]
    if not keys or keys == [""]:
        return Diagnosis(401, "missing_api_key", "The x-api-key header is missing.")
    key = keys[0]
    if len(keys) > 1 or not _well_formed_key(key):
        return Diagnosis(401, "invalid_api_key", "The API key is malformed.")
    if api_keys is not None and key not in api_keys:
        return Diagnosis(401, "invalid_api_key", "The API key is not known.")
    auth = facts.authorization[0] if len(facts.authorization) == 1 else ""
    scheme, _, token = auth.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Diagnosis(401, "missing_signature", "Authorization: Bearer is missing.")
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three segments")
        header, claims = _json_object(parts[0]), _json_object(parts[1])
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Diagnosis(401, "malformed_token", "The token is not a compact JWS.")
    if header.get("alg") != "RS256":
        return Diagnosis(
            401,
            "unsupported_algorithm",
            "Only RS256 is accepted.",
            {"alg": header.get("alg")},
        )
    if "crit" in header or ("typ" in header and header["typ"] != "JWT"):
        return Diagnosis(401, "malformed_token", "typ must be JWT; crit is refused.")
    kid = header.get("kid")
    public = signing_keys.get(kid) if isinstance(kid, str) else None
    if public is None:
        return Diagnosis(
            401,
            "unknown_signing_key",
            "The kid is not an active signing key of this application.",
            {"kid": kid if isinstance(kid, str) else None},
        )
    try:
        public.verify(
            signature,
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return Diagnosis(401, "invalid_signature", "The signature does not verify.")
    if claims.get("iss") != "nuvera-api":
        return Diagnosis(401, "invalid_issuer", "iss must be nuvera-api.")
    if claims.get("aud") != "nuvera-rest-api":
        return Diagnosis(401, "invalid_audience", "aud must be nuvera-rest-api.")
    iat: Any = claims.get("iat")
    exp: Any = claims.get("exp")
    jti: Any = claims.get("jti")
    method, uri, body_hash = (
        claims.get("method"),
        claims.get("uri"),
        claims.get("body_hash"),
    )
    typed = (
        _is_int(iat)
        and _is_int(exp)
        and isinstance(jti, str)
        and _JTI.fullmatch(jti) is not None
        and isinstance(method, str)
        and _METHOD.fullmatch(method) is not None
        and isinstance(uri, str)
        and uri.startswith("/")
        and isinstance(body_hash, str)
        and _HEX64.fullmatch(body_hash) is not None
    )
    if not typed:
        return Diagnosis(401, "malformed_token", "A claim is missing or mistyped.")
    if not 0 < exp - iat <= MAX_LIFETIME:
        return Diagnosis(
            401, "invalid_lifetime", "exp - iat must be 1..60.", {"lifetime": exp - iat}
        )
    if iat > now + LEEWAY:
        return Diagnosis(
            401,
            "token_not_yet_valid",
            "iat is in the future.",
            {"server_time": int(now)},
        )
    if exp < now - LEEWAY:
        return Diagnosis(
            401, "token_expired", "The token has expired.", {"server_time": int(now)}
        )
    if jti in seen_jti:
        return Diagnosis(401, "replayed_jti", "This jti was already used.")
    seen_jti.add(jti)
    if method != facts.method:
        return Diagnosis(
            401,
            "method_mismatch",
            "The method claim differs from the request method.",
            {"expected": facts.method, "received": method},
        )
    if uri != facts.target:
        return Diagnosis(
            401,
            "uri_mismatch",
            "The uri claim differs from the request target.",
            {"expected": facts.target, "received": uri},
        )
    actual = hashlib.sha256(facts.body).hexdigest()
    if body_hash != actual:
        return Diagnosis(
            401,
            "body_hash_mismatch",
            "The body_hash claim differs from the SHA-256 of the body.",
            {"expected": actual, "received": body_hash, "body_length": len(facts.body)},
        )
    if permissions is not None:
        needed = required_permission()
        if needed is not None and needed not in permissions:
            return Diagnosis(
                403,
                "permission_denied",
                f"The application lacks {needed}.",
                {"required_permission": needed},
            )
    return None
