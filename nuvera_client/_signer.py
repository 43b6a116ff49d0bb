"""Owns RS256 request tokens (PROTOCOL §2.1): claims, canonical JSON, signing.

Imports no HTTP library, so any transport can use it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nuvera_client import keys
from nuvera_client.errors import (
    ConfigurationError,
    InvalidArgumentError,
    InvalidPrivateKeyError,
    InvalidTTLError,
)

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "DEFAULT_TTL",
    "EMPTY_BODY_HASH",
    "MAX_TTL",
    "RequestSigner",
    "SigningKey",
    "canonical_json",
    "normalize_target",
]

DEFAULT_TTL = 30
MAX_TTL = 60
DEFAULT_ISSUER = "nuvera-api"
DEFAULT_AUDIENCE = "nuvera-rest-api"
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()

_JTI_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_METHOD_RE = re.compile(r"[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*")
_HASH_RE = re.compile(r"[0-9a-f]{64}")
# An origin-form request target as it stands on the wire: visible ASCII, no "#".
# Not only RFC 3986's set: httpx (and browsers) send "[", "]", "{", "}", "|", "^",
# "`" and "\\" in queries unencoded, and the uri claim must match those bytes.
_TARGET_RE = re.compile(r"/[!\"$-~]*")


@runtime_checkable
class SigningKey(Protocol):
    """A signing key that never leaves its KMS or HSM.

    ``sign`` must return an RSASSA-PKCS1-v1_5 signature over SHA-256 of ``data``.
    """

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the RSA public key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Return the RS256 signature of ``data``."""
        ...


class _LocalKey:
    """Adapts a ``cryptography`` private key to ``SigningKey``."""

    __slots__ = ("_key",)

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def __repr__(self) -> str:
        return f"<RSA-{self._key.key_size} private key>"


def canonical_json(value: Mapping[str, object]) -> bytes:
    r"""Serialise a JWT header or claims set per RFC 8785 (JCS), as UTF-8 bytes.

    Supports what tokens hold: objects, strings, integers, booleans and null.
    Keys are sorted, no whitespace; in strings only ``"``, ``\`` and control
    characters are escaped.
    """
    _check_jcs(value)
    try:
        return json.dumps(
            _jcs_ordered(value), separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError("strings must not hold lone surrogates") from None


def _utf16_units(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _jcs_ordered(value: object) -> object:
    # RFC 8785 §3.2.3 sorts members by their UTF-16 code units, which differs from
    # Python's code point order once keys mix astral characters with U+E000-U+FFFF.
    if isinstance(value, Mapping):
        return {
            key: _jcs_ordered(value[key]) for key in sorted(value, key=_utf16_units)
        }
    if isinstance(value, (list, tuple)):
        return [_jcs_ordered(item) for item in value]
    return value


def _check_jcs(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("canonical_json supports integers only, not floats")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            _check_jcs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_jcs(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        # JCS writes numbers as IEEE 754 doubles: beyond 2**53 digits would change.
        if abs(value) > 2**53:
            raise TypeError("canonical_json supports integers up to 2**53 only")
    elif not (value is None or isinstance(value, (str, bool))):
        raise TypeError(f"cannot serialise {type(value).__name__} canonically")


# A JSON string as JCS writes it: only '"', '\\' and control characters escaped.
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def normalize_target(uri: str) -> str:
    """Check an origin-form request target and drop a bare trailing ``?``.

    Raises:
        InvalidArgumentError: the target is not what a request line can carry (no
            leading ``/``, a scheme, a fragment, spaces or non-ASCII characters,
            which must be percent-encoded first).
    """
    if uri.endswith("?") and uri.count("?") == 1:
        uri = uri[:-1]  # servers on ASGI/WSGI cannot see an empty query
    if not _TARGET_RE.fullmatch(uri):
        raise InvalidArgumentError(
            f"uri must be the origin-form request target as sent, starting with '/', "
            f"ASCII only and percent-encoded (no scheme, host or fragment): {uri!r}"
        )
    return uri


class RequestSigner:
    """Sign Nuvera requests with RS256 (PROTOCOL §2.1).

    The key is parsed once, here; signing reuses it. Thread-safe.

    Args:
        private_key: PEM ``bytes``/``str`` (PKCS#8 or PKCS#1, optionally encrypted),
            DER bytes, a JWK ``dict``, a ``pathlib.Path``, a ``cryptography``
            ``RSAPrivateKey``, or a [`SigningKey`][nuvera_client.SigningKey] (KMS/HSM).
        passphrase: for an encrypted key.
        ttl: token lifetime in seconds, 1..60 (default 30).
        issuer: the ``iss`` claim.
        audience: the ``aud`` claim.
        clock: returns the current Unix time in seconds (default ``time.time``).

    Raises:
        InvalidPrivateKeyError: the key cannot sign RS256 (see its message).
        InvalidTTLError: ``ttl`` is outside 1..60.
    """

    def __init__(
        self,
        private_key: keys.PrivateKeySource | SigningKey,
        *,
        passphrase: str | bytes | None = None,
        ttl: int = DEFAULT_TTL,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL:
            raise InvalidTTLError(
                f"ttl must be whole seconds from 1 to {MAX_TTL}, got {ttl!r}"
            )
        self._key = _signing_key(private_key, passphrase)
        public = keys.check_public_key(self._key.public_key())
        self.kid: str = keys.kid_of(public)
        """The RFC 7638 thumbprint of the public key."""
        for name, value in (("issuer", issuer), ("audience", audience)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty string")
            canonical_json({name: value})  # no lone surrogates
        self.ttl = ttl
        self.issuer = issuer
        self.audience = audience
        self._clock = clock or time.time
        self.clock_offset: float = 0.0
        """Seconds added to the clock for ``iat``: the skew learned from the server."""
        self.key_size: int = public.key_size
        self.local: bool = isinstance(self._key, _LocalKey)
        """Whether the private key is in this process (not a KMS/HSM ``SigningKey``)."""
        self._public = public
        self._header = _b64(
            canonical_json({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
        )

    def public_key_pem(self) -> str:
        """Return the public key as PEM ``SubjectPublicKeyInfo`` (what you upload)."""
        return keys.public_key_pem(self._public)

    def now(self) -> int:
        """Return the ``iat`` for now: clock plus learned offset, whole seconds."""
        return int(self._clock() + self.clock_offset)

    def claims(
        self,
        method: str,
        uri: str,
        body: bytes | str = b"",
        *,
        body_hash: str | None = None,
        iat: int | None = None,
        jti: str | None = None,
    ) -> dict[str, object]:
        """Return the claims ``sign()`` would sign, keys sorted.

        See [`sign()`][nuvera_client.RequestSigner.sign].

        Args:
            method: the HTTP method (upper-cased here).
            uri: the origin-form request target exactly as sent, e.g.
                ``/v1/customers?email=a%40b.com``.
            body: the exact body bytes (a ``str`` is encoded as UTF-8).
            body_hash: the SHA-256 hex of the body, when already computed.
            iat: issued-at (default: now).
            jti: the token id (default: 128 random bits as 32 hex chars).
        """
        method, uri, body_hash, iat, jti = self._checked(
            method, uri, body, body_hash, iat, jti
        )
        return {
            "aud": self.audience,
            "body_hash": body_hash,
            "exp": iat + self.ttl,
            "iat": iat,
            "iss": self.issuer,
            "jti": jti,
            "method": method,
            "uri": uri,
        }

    def _checked(
        self,
        method: str,
        uri: str,
        body: bytes | str,
        body_hash: str | None,
        iat: int | None,
        jti: str | None,
    ) -> tuple[str, str, str, int, str]:
        method = method.upper()
        if not _METHOD_RE.fullmatch(method):
            raise InvalidArgumentError(f"not an HTTP method: {method!r}")
        uri = normalize_target(uri)
        if body_hash is None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            body_hash = hashlib.sha256(data).hexdigest()
        elif not _HASH_RE.fullmatch(body_hash):
            raise InvalidArgumentError("body_hash must be 64 lowercase hex characters")
        if iat is None:
            iat = self.now()
        elif isinstance(iat, bool) or not isinstance(iat, int):
            raise InvalidArgumentError("iat must be an integer number of seconds")
        if not 0 <= iat <= 2**53 - MAX_TTL:
            raise InvalidArgumentError("iat must be Unix seconds, from 0 to 2**53 - 60")
        if jti is None:
            jti = secrets.token_hex(16)
        elif not _JTI_RE.fullmatch(jti):
            raise InvalidArgumentError("jti must be 16-128 characters of [A-Za-z0-9_-]")
        return method, uri, body_hash, iat, jti

    def sign(
        self,
        method: str,
        uri: str,
        body: bytes | str = b"",
        *,
        body_hash: str | None = None,
        iat: int | None = None,
        jti: str | None = None,
    ) -> str:
        """Return the compact RS256 token for one request attempt.

        Same arguments as [`claims()`][nuvera_client.RequestSigner.claims]. Given the
        same key, request, ``iat`` and ``jti``, the token is the same byte for byte in
        every conforming SDK.
        """
        method, uri, body_hash, iat, jti = self._checked(
            method, uri, body, body_hash, iat, jti
        )
        # The hot path writes the JCS form of claims() directly (keys in sorted
        # order; method, jti and body_hash were checked to need no escaping):
        # json.dumps costs more than everything else here but the RSA operation.
        # test_signer and the vectors assert it equals canonical_json(claims).
        payload = (
            f'{{"aud":{_quote(self.audience)},"body_hash":"{body_hash}",'
            f'"exp":{iat + self.ttl},"iat":{iat},"iss":{_quote(self.issuer)},'
            f'"jti":"{jti}","method":"{method}","uri":{_quote(uri)}}}'
        )
        signing_input = f"{self._header}.{_b64(payload.encode('utf-8'))}"
        signature = self._key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{_b64(signature)}"

    def __repr__(self) -> str:
        return f"RequestSigner(kid={self.kid!r}, ttl={self.ttl})"


def _signing_key(
    source: keys.PrivateKeySource | SigningKey, passphrase: str | bytes | None
) -> SigningKey:
    if isinstance(source, rsa.RSAPublicKey):
        raise InvalidPrivateKeyError(
            "this is a public key; signing needs the private key "
            "(the public key is what you upload to Nuvera)"
        )
    local = (str, bytes, bytearray, memoryview, Mapping, Path, rsa.RSAPrivateKey)
    if isinstance(source, local):
        return _LocalKey(keys.load_private_key(source, passphrase))
    if isinstance(source, SigningKey):
        if not isinstance(source.public_key(), rsa.RSAPublicKey):
            raise InvalidPrivateKeyError("the SigningKey's public_key() must be RSA")
        return source
    raise InvalidPrivateKeyError(
        f"unsupported private key of type {type(source).__name__}: pass PEM text, "
        "DER bytes, a JWK dict, a pathlib.Path, an RSAPrivateKey or a SigningKey"
    )
