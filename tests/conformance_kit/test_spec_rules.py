"""The rules docs/spec/signing.md settles, pinned to what the Python SDK does."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import RequestSigner
from nuvera_client._auth import signing_target
from nuvera_client._retry import Action, RetryPolicy, RetryState
from nuvera_client.keys import kid_of, load_private_key

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "spec" / "vectors.json"


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _skew(code: str, server_time: int, method: str = "POST") -> httpx.Response:
    body = {"error": {"code": code, "details": {"server_time": server_time}}}
    return httpx.Response(
        401, json=body, request=httpx.Request(method, "http://127.0.0.1/v1/x")
    )


def test_jwk_other_members_are_ignored_and_primes_are_optional(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    numbers = rsa_key.private_numbers()
    jwk = {
        "kty": "RSA",
        "n": _b64(numbers.public_numbers.n),
        "e": _b64(numbers.public_numbers.e),
        "d": _b64(numbers.d),
        "kid": "not-the-kid",
        "alg": "RS256",
        "use": "sig",
    }
    loaded = load_private_key(jwk)
    assert kid_of(loaded) == kid_of(rsa_key) != "not-the-kid"
    assert loaded.private_numbers().p in (numbers.p, numbers.q)


def test_iat_rounds_down() -> None:
    signer = RequestSigner(load_private_key(_pem()), clock=lambda: 1_767_225_600.999)
    assert signer.now() == 1_767_225_600
    signer.clock_offset = 0.5
    assert signer.now() == 1_767_225_601


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://h/v1/x?", "/v1/x"),
        ("http://h/v1/x??", "/v1/x??"),
        ("http://h/v1/x?a=1?", "/v1/x?a=1?"),
        ("http://h/nuvera/v1/x?a=%27", "/nuvera/v1/x?a=%27"),
    ],
)
def test_bare_question_mark_rule_is_exact(url: str, target: str) -> None:
    assert signing_target(httpx.URL(url))[1] == target


def test_skew_retry_is_outside_the_budget_and_applies_to_bare_post() -> None:
    policy = RetryPolicy(max_retries=0)  # no retry budget at all
    state = RetryState()
    decision = policy.decide(
        state,
        method="POST",
        has_idempotency_key=False,
        response=_skew("token_expired", 2_000),
        now=1_700.0,
    )
    assert decision.action is Action.RESIGN
    # The offset replaces: it is server_time - local now, whatever came before.
    assert decision.clock_offset == 300.0
    state.record(decision)
    assert state.retries == 0
    again = policy.decide(
        state,
        method="POST",
        has_idempotency_key=False,
        response=_skew("token_not_yet_valid", 1_400),
        now=1_700.0,
    )
    assert again.action is Action.DONE  # once per call


def test_date_header_is_the_fallback_for_server_time() -> None:
    response = httpx.Response(
        401,
        json={"error": {"code": "token_expired", "details": {}}},
        headers={"Date": "Thu, 01 Jan 2026 00:05:00 GMT"},
        request=httpx.Request("GET", "http://127.0.0.1/v1/x"),
    )
    decision = RetryPolicy().decide(
        RetryState(), method="GET", has_idempotency_key=False,
        response=response, now=1_767_225_600.0,
    )  # fmt: skip
    assert decision.clock_offset == 300.0


def _pem() -> str:
    vectors = json.loads(VECTORS.read_text("utf-8"))
    return str(vectors["keys"]["rsa-2048"]["pem"])
