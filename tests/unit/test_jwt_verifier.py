"""The independent verifier refuses what a Nuvera server refuses (so it can fail)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt_verifier import VerificationError, b64url, thumbprint, verify

NOW = 1_767_225_600


def _claims(**override: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": "nuvera-rest-api",
        "body_hash": hashlib.sha256(b"{}").hexdigest(),
        "exp": NOW + 30,
        "iat": NOW,
        "iss": "nuvera-api",
        "jti": "0123456789abcdef0123456789abcdef",
        "method": "POST",
        "uri": "/v1/payments",
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def _token(
    key: rsa.RSAPrivateKey,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    *,
    dumps: Callable[[dict[str, Any]], str] = lambda v: json.dumps(
        v, sort_keys=True, separators=(",", ":")
    ),
) -> str:
    head = header or {"alg": "RS256", "kid": thumbprint(key.public_key()), "typ": "JWT"}
    body = claims or _claims()
    signing_input = f"{b64url(dumps(head).encode())}.{b64url(dumps(body).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def _check(token: str, key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
    arguments: dict[str, Any] = {
        "method": "POST",
        "uri": "/v1/payments",
        "body": b"{}",
        "now": NOW,
    }
    arguments.update(kwargs)
    verify(token, key.public_key(), **arguments)


def test_good_token_passes(rsa_key: rsa.RSAPrivateKey) -> None:
    _check(_token(rsa_key), rsa_key)


def _kid(key: rsa.RSAPrivateKey) -> str:
    return thumbprint(key.public_key())


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda k: _token(k).rsplit(".", 1)[0], "malformed_token"),
        (lambda k: _token(k) + "=", "malformed_token"),
        # Standard base64, not base64url: "+" (a token may hold no "-" to replace).
        (lambda k: _token(k)[:-1] + "+", "malformed_token"),
        (lambda k: _token(k, {"alg": "none", "kid": _kid(k)}), "unsupported_algorithm"),
        (
            lambda k: _token(k, {"alg": "PS256", "kid": _kid(k)}),
            "unsupported_algorithm",
        ),
        (lambda k: _token(k, {"alg": "RS256", "kid": "x"}), "unknown_signing_key"),
        (
            lambda k: _token(k, {"alg": "RS256", "kid": _kid(k), "typ": "jwt"}),
            "malformed_token",
        ),
        (
            lambda k: _token(k, {"alg": "RS256", "kid": _kid(k), "crit": ["x"]}),
            "malformed_token",
        ),
        (
            lambda k: _token(k, claims=_claims(aud=["nuvera-rest-api"])),
            "invalid_audience",
        ),
        (lambda k: _token(k, claims=_claims(iss=None)), "invalid_issuer"),
        (lambda k: _token(k, claims=_claims(iat=float(NOW))), "malformed_token"),
        (lambda k: _token(k, claims=_claims(jti="short")), "malformed_token"),
        (lambda k: _token(k, claims=_claims(method="post")), "malformed_token"),
        (lambda k: _token(k, claims=_claims(body_hash="AB" * 32)), "malformed_token"),
        (lambda k: _token(k, claims=_claims(exp=NOW + 61)), "invalid_lifetime"),
        (lambda k: _token(k, claims=_claims(exp=NOW)), "invalid_lifetime"),
        (
            lambda k: _token(k, claims=_claims(iat=NOW + 20, exp=NOW + 40)),
            "token_not_yet_valid",
        ),
        (
            lambda k: _token(k, claims=_claims(iat=NOW - 60, exp=NOW - 30)),
            "token_expired",
        ),
        (lambda k: _token(k, claims=_claims(method="PUT")), "method_mismatch"),
        (lambda k: _token(k, claims=_claims(uri="/v1/payments?")), "uri_mismatch"),
        (lambda k: _token(k, claims=_claims(body_hash="0" * 64)), "body_hash_mismatch"),
        (
            lambda k: _token(k, dumps=lambda v: json.dumps(v, sort_keys=True)),
            "not_canonical",
        ),
        (lambda k: _token(k, claims=_claims(extra=1)), "not_canonical"),
    ],
)
def test_refusals(
    rsa_key: rsa.RSAPrivateKey, make: Callable[[rsa.RSAPrivateKey], str], code: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        _check(make(rsa_key), rsa_key)
    assert caught.value.code == code


def test_hmac_with_public_key_as_secret_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # The classic alg-confusion attack: HS256 keyed with the public key bytes.
    header = {"alg": "HS256", "kid": _kid(rsa_key), "typ": "JWT"}
    dumps = json.dumps
    signing_input = (
        f"{b64url(dumps(header).encode())}.{b64url(dumps(_claims()).encode())}"
    )
    mac = hmac.new(b"public", signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(VerificationError) as caught:
        _check(f"{signing_input}.{b64url(mac)}", rsa_key)
    assert caught.value.code == "unsupported_algorithm"


def test_signature_from_another_key_is_refused(
    rsa_keys: dict[int, rsa.RSAPrivateKey],
) -> None:
    good = _token(rsa_keys[2048])
    other = _token(rsa_keys[3072]).rsplit(".", 1)[1]
    with pytest.raises(VerificationError) as caught:
        _check(good.rsplit(".", 1)[0] + "." + other, rsa_keys[2048])
    assert caught.value.code == "invalid_signature"


def test_duplicate_members_are_malformed(rsa_key: rsa.RSAPrivateKey) -> None:
    token = _token(rsa_key)
    head, _, signature = token.split(".")
    payload = b'{"aud":"a","aud":"nuvera-rest-api"}'
    forged = (
        f"{head}.{base64.urlsafe_b64encode(payload).rstrip(b'=').decode()}.{signature}"
    )
    with pytest.raises(VerificationError) as caught:
        _check(forged, rsa_key)
    assert caught.value.code == "malformed_token"
