"""Every bad input of issue 2 raises a ConfigurationError that says what to do.

Checked through the user's entry points (``NuveraAuth``, ``RequestSigner``,
``ApiKey.parse``, the base-URL check); plus the APIError tree and its messages.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from nuvera_client import ApiKey, NuveraAuth, RequestSigner
from nuvera_client._config import check_base_url
from nuvera_client.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    EnvironmentMismatchError,
    IdempotencyConflictError,
    InvalidApiKeyError,
    InvalidPrivateKeyError,
    InvalidTTLError,
    NotFoundError,
    NuveraError,
    PassphraseError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SignatureMismatchError,
    ValidationError,
    error_from_response,
)
from nuvera_client.keys import private_key_pem

GOOD_KEY = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"


def _pkcs8(key: object, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


BadCase = tuple[Callable[[rsa.RSAPrivateKey], object], type[Exception], str]

BAD_INPUTS: dict[str, BadCase] = {
    # API key: say which part is wrong.
    "api-key-prefix": (
        lambda key: NuveraAuth("sk_live_" + "a" * 39, key),
        InvalidApiKeyError,
        "must start with 'nvk_live_' or 'nvk_test_'",
    ),
    "api-key-truncated": (
        lambda key: NuveraAuth(GOOD_KEY[:30], key),
        InvalidApiKeyError,
        "copy the whole key",
    ),
    "api-key-mistyped": (
        lambda key: NuveraAuth(GOOD_KEY.replace("Q7s", "Q7S"), key),
        InvalidApiKeyError,
        "checksum does not match",
    ),
    "api-key-empty": (
        lambda key: NuveraAuth("", key),
        InvalidApiKeyError,
        "set NUVERA_API_KEY",
    ),
    # Key environment against base URL (PROTOCOL §7).
    "test-key-live-url": (
        lambda _: check_base_url("https://api.nuvera.com", "test"),
        EnvironmentMismatchError,
        "use a live key",
    ),
    "live-key-test-url": (
        lambda _: check_base_url("https://api.sandbox.nuvera.com", "live"),
        EnvironmentMismatchError,
        "or a test key",
    ),
    "live-key-loopback": (
        lambda _: check_base_url("http://127.0.0.1:8787", "live"),
        EnvironmentMismatchError,
        "a live API key cannot be used",
    ),
    # Not an RSA key.
    "ec-key": (
        lambda _: NuveraAuth(GOOD_KEY, _pkcs8(ec.generate_private_key(ec.SECP256R1()))),
        InvalidPrivateKeyError,
        "generate one with `nuvera keys generate`",
    ),
    "ed25519-key": (
        lambda _: RequestSigner(_pkcs8(ed25519.Ed25519PrivateKey.generate())),
        InvalidPrivateKeyError,
        "RS256 needs an RSA key",
    ),
    "public-as-private": (
        lambda key: RequestSigner(
            key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        ),
        InvalidPrivateKeyError,
        "signing needs the private key",
    ),
    # Size and exponent.
    "rsa-1024": (
        lambda _: RequestSigner(_pkcs8(rsa.generate_private_key(65537, 1024))),  # noqa: S505
        InvalidPrivateKeyError,
        "needs exactly 2048, 3072 or 4096",
    ),
    "rsa-exponent-3": (
        lambda _: RequestSigner(_pkcs8(rsa.generate_private_key(3, 2048))),
        InvalidPrivateKeyError,
        "needs 65537",
    ),
    # Passphrases.
    "encrypted-no-passphrase": (
        lambda key: RequestSigner(_pkcs8(key, b"s3cret-pass")),
        PassphraseError,
        "pass passphrase=",
    ),
    "wrong-passphrase": (
        lambda key: NuveraAuth(
            GOOD_KEY, _pkcs8(key, b"s3cret-pass"), passphrase="nope"
        ),
        PassphraseError,
        "wrong passphrase",
    ),
    # Garbage.
    "garbage-pem": (
        lambda _: RequestSigner(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        ),
        InvalidPrivateKeyError,
        "check that the whole key was copied",
    ),
    # TTL.
    "ttl-zero": (
        lambda key: NuveraAuth(GOOD_KEY, key, ttl=0),
        InvalidTTLError,
        "from 1 to 60",
    ),
    "ttl-61": (
        lambda key: RequestSigner(key, ttl=61),
        InvalidTTLError,
        "from 1 to 60",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_raises_typed_error_with_advice(
    name: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    make, error_class, advice = BAD_INPUTS[name]
    with pytest.raises(error_class) as caught:
        make(rsa_key)
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert isinstance(error, NuveraError)
    assert isinstance(error, ValueError)  # ConfigurationError is a ValueError too
    assert advice in str(error)
    assert GOOD_KEY not in str(error)
    assert "s3cret-pass" not in str(error)
    assert "nope" not in str(error)
    assert error.__cause__ is None  # raised "from None": no inner traceback text


def test_good_inputs_pass(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = NuveraAuth(GOOD_KEY, private_key_pem(rsa_key, "pw"), passphrase="pw")
    assert auth.api_key == ApiKey.parse(GOOD_KEY)
    assert str(check_base_url("https://api.sandbox.nuvera.com/", "test")) == (
        "https://api.sandbox.nuvera.com"
    )
    check_base_url("https://egress.partner.example/nuvera", "live")


def _response(status: int, code: str, **details: object) -> APIError:
    error = {
        "type": "t",
        "code": code,
        "message": "m",
        "request_id": "req_1",
        "details": details,
    }
    body = json.dumps({"error": error}).encode()
    return error_from_response(status, body, {"X-Request-Id": "req_1"})


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "invalid_signature", AuthenticationError),
        (401, "uri_mismatch", SignatureMismatchError),
        (401, "body_hash_mismatch", SignatureMismatchError),
        (401, "method_mismatch", SignatureMismatchError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "idempotency_conflict", IdempotencyConflictError),
        (422, "validation_failed", ValidationError),
        (429, "rate_limited", RateLimitError),
        (500, "internal_error", ServerError),
        (503, "unavailable", ServerError),
    ],
)
def test_error_from_response_maps_status_and_code(
    status: int, code: str, cls: type[APIError]
) -> None:
    error = _response(status, code)
    assert type(error) is cls
    assert (error.status_code, error.code, error.request_id) == (status, code, "req_1")
    assert str(error).startswith(f"[req_1] {status} {code}: m")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(clone) is cls
    assert str(clone) == str(error)


def test_signature_mismatch_explains_both_sides() -> None:
    error = _response(401, "uri_mismatch", expected="/v1/x?a=%40", received="/v1/x?a=@")
    assert isinstance(error, SignatureMismatchError)
    assert error.expected == "/v1/x?a=%40"
    assert error.received == "/v1/x?a=@"
    assert "you signed '/v1/x?a=@', the server derived '/v1/x?a=%40'" in str(error)
    body = _response(
        401, "body_hash_mismatch", expected="a", received="b", body_length=3
    )
    assert "over 3 bytes received" in str(body)


def test_permission_validation_rate_limit_details() -> None:
    denied = _response(403, "permission_denied", required_permission="PAYMENTS_WRITE")
    assert isinstance(denied, PermissionDeniedError)
    assert denied.required_permission == "PAYMENTS_WRITE"
    assert "needs PAYMENTS_WRITE" in str(denied)
    assert "Grant the permission" in str(denied)
    invalid = _response(422, "validation_failed", fields={"email": "invalid"})
    assert isinstance(invalid, ValidationError)
    assert invalid.fields == {"email": "invalid"}
    limited = error_from_response(
        429, b'{"error":{"code":"rate_limited","details":{}}}', {"Retry-After": "7"}
    )
    assert isinstance(limited, RateLimitError)
    assert limited.retry_after == 7.0


def test_non_json_error_body() -> None:
    error = error_from_response(502, b"<html>bad gateway</html>", {"x-request-id": "r"})
    assert isinstance(error, ServerError)
    assert error.code == "http_502"
    assert error.request_id == "r"


def test_refused_values_and_bounds_are_nuvera_errors_and_keep_their_old_base() -> None:
    from nuvera_client.errors import InvalidArgumentError, LimitExceededError

    assert issubclass(InvalidArgumentError, NuveraError)
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(LimitExceededError, NuveraError)
    assert issubclass(LimitExceededError, RuntimeError)
    assert issubclass(ConfigurationError, ValueError)


def _refusal(status: int, code: str, message: str, **details: str) -> str:
    body = {
        "error": {
            "type": "x",
            "code": code,
            "message": message,
            "request_id": "req_1",
            "details": details,
        }
    }
    return str(error_from_response(status, json.dumps(body).encode()))


def test_hint_follows_a_message_ending_in_a_full_stop_once() -> None:
    text = _refusal(401, "unknown_signing_key", "Not active on this application.")
    assert ".." not in text
    assert "application. Upload" in text


def test_needed_permission_is_said_once() -> None:
    for message in (
        "This application lacks permission (needs PAYMENTS_WRITE).",
        "The application lacks PAYMENTS_WRITE, which this endpoint needs.",
    ):
        text = _refusal(
            403, "permission_denied", message, required_permission="PAYMENTS_WRITE"
        )
        assert text.count("PAYMENTS_WRITE") == 1, text
    bare = _refusal(403, "permission_denied", "Forbidden.", required_permission="X_R")
    assert "(needs X_R)" in bare


# -- issue 15: server text is bounded and never holds our secrets -----------------

_KEY = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"
_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJudXZlcmEtYXBpIn0.c2lnbmF0dXJl"


def test_error_text_redacts_our_key_and_token() -> None:
    body = json.dumps(
        {
            "error": {
                "type": "authentication_error",
                "code": "invalid_signature",
                "message": f"you sent {_KEY} with Bearer {_TOKEN}",
                "details": {"echo": [_KEY, {"token": _TOKEN}]},
            }
        }
    ).encode()
    err = error_from_response(401, body, {"x-echo": _KEY}, secrets=[_KEY, _TOKEN])
    text = str(err) + repr(err.details) + repr(err.headers) + err.message
    assert _KEY not in text
    assert _TOKEN not in text
    assert "[redacted]" in err.message


def test_error_text_redacts_key_shapes_without_being_told() -> None:
    body = json.dumps({"error": {"code": "x", "message": f"k={_KEY}"}}).encode()
    assert _KEY not in str(error_from_response(400, body))


def test_long_server_message_is_truncated() -> None:
    from nuvera_client.errors import MAX_MESSAGE_CHARS

    huge = "A" * (MAX_MESSAGE_CHARS * 50)
    body = json.dumps({"error": {"code": "internal_error", "message": huge}}).encode()
    err = error_from_response(500, body)
    assert len(str(err)) < MAX_MESSAGE_CHARS + 200
    assert "truncated" in err.message


def test_deeply_nested_error_body_is_still_a_typed_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    err = error_from_response(502, body)
    assert isinstance(err, APIError)
    assert err.status_code == 502
