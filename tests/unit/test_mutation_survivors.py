"""Client-side tests that kill the mutants issue 17 found surviving.

Each test pins one boundary a mutation tool showed untested: ``Retry-After`` of 0,
negative or in the past; a 401 other than the skew codes carrying ``server_time``;
a query that ends in ``?`` after a value; the charset check of the API key's first
random character.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import b64url_decode

from nuvera_client import ApiKey, NuveraAuth
from nuvera_client._api_key import checksum
from nuvera_client._retry import Action, RetryPolicy, RetryState
from nuvera_client.errors import InvalidApiKeyError

NOW = 1_767_225_600.0
BASE = "https://api.sandbox.nuvera.com"


def _decide(status: int, headers: dict[str, str], body: object = None) -> object:
    content = b"" if body is None else json.dumps(body).encode()
    return RetryPolicy().decide(
        RetryState(),
        method="GET",
        has_idempotency_key=False,
        now=NOW,
        response=httpx.Response(status, content=content, headers=headers),
    )


@pytest.mark.parametrize("value", ["0", "0.0", "-5", "-0.5"])
def test_retry_after_zero_or_negative_retries_at_once(value: str) -> None:
    decision = _decide(503, {"Retry-After": value})
    assert decision.action is Action.RETRY  # type: ignore[attr-defined]
    assert decision.delay == 0.0  # type: ignore[attr-defined]
    assert decision.reason == "503 retry-after"  # type: ignore[attr-defined]


def test_retry_after_date_in_the_past_retries_at_once() -> None:
    past = format_datetime(datetime.fromtimestamp(NOW - 3600, timezone.utc), True)
    decision = _decide(429, {"Retry-After": past})
    assert decision.action is Action.RETRY  # type: ignore[attr-defined]
    assert decision.delay == 0.0  # type: ignore[attr-defined]


def test_retry_after_date_exactly_now_is_zero() -> None:
    now = format_datetime(datetime.fromtimestamp(NOW, timezone.utc), True)
    decision = _decide(503, {"Retry-After": now})
    assert decision.delay == 0.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "code", ["invalid_signature", "uri_mismatch", "replayed_jti", "malformed_token"]
)
def test_server_time_on_other_401_teaches_no_offset(code: str) -> None:
    body = {"error": {"code": code, "details": {"server_time": int(NOW) + 900}}}
    decision = _decide(401, {"Date": "Wed, 31 Dec 2025 23:55:00 GMT"}, body)
    assert decision.action is Action.DONE  # type: ignore[attr-defined]
    assert decision.clock_offset is None  # type: ignore[attr-defined]


def _claims(request: httpx.Request) -> dict[str, object]:
    token = request.headers["authorization"].removeprefix("Bearer ")
    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


def test_query_ending_in_question_mark_is_kept(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = NuveraAuth(ApiKey.generate("test").reveal(), rsa_key)
    request = httpx.Request("GET", f"{BASE}/v1/x?q=what?")
    assert request.url.raw_path == b"/v1/x?q=what?"
    signed = next(auth.sync_auth_flow(request))
    # Only a bare "?" (empty query) is dropped; "what?" is part of the query.
    assert signed.url.raw_path == b"/v1/x?q=what?"
    assert _claims(signed)["uri"] == "/v1/x?q=what?"


def test_empty_value_query_ending_in_question_mark_is_kept(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    auth = NuveraAuth(ApiKey.generate("test").reveal(), rsa_key)
    signed = next(auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/v1/x??")))
    assert _claims(signed)["uri"] == signed.url.raw_path.decode("ascii")


@pytest.mark.parametrize("position", [9, 10, 40])
@pytest.mark.parametrize("bad", ["-", "_", "!", "é", " "])
def test_charset_checked_at_every_random_position(position: int, bad: str) -> None:
    # A correct checksum over the bad text, so only the charset check can refuse it.
    good = ApiKey.generate("test").reveal()
    body = good[:position] + bad + good[position + 1 : 41]
    key = body + (checksum(body) if bad.isascii() else "000000")
    assert len(key) == len(good)
    with pytest.raises(InvalidApiKeyError) as info:
        ApiKey.parse(key)
    assert info.value.reason == "charset"


@pytest.mark.parametrize(
    ("target", "signed"),
    [
        ("/v1/x?q=what?", "/v1/x?q=what?"),
        ("/v1/x??", "/v1/x??"),
        ("/v1/x?", "/v1/x"),
        ("/v1/x", "/v1/x"),
    ],
)
def test_signer_drops_only_a_bare_question_mark(
    rsa_key: rsa.RSAPrivateKey, target: str, signed: str
) -> None:
    from nuvera_client import RequestSigner

    assert RequestSigner(rsa_key).claims("GET", target)["uri"] == signed


def _message(text: object) -> str:
    with pytest.raises(InvalidApiKeyError) as info:
        ApiKey.parse(text)  # type: ignore[arg-type]
    return str(info.value)


def test_api_key_messages_say_what_to_do() -> None:
    good = ApiKey.generate("test").reveal()
    assert _message(5) == "the API key must be a str, not int"
    assert _message("  ") == "the API key is empty: pass api_key= or set NUVERA_API_KEY"
    assert _message("sk_" + good[3:]) == (
        "this is not a Nuvera API key: it must start with 'nvk_live_' or "
        "'nvk_test_' (copy it from the API application's one-time display)"
    )
    assert _message("nvk_prod_" + good[9:]) == (
        "the API key's environment must be 'live' or 'test' "
        "(it must start with 'nvk_live_' or 'nvk_test_')"
    )
    assert _message(good[:-1]) == (
        "the API key has 46 characters, expected 47: it looks truncated; copy the "
        "whole key"
    )
    assert _message(good + "0") == (
        "the API key has 48 characters, expected 47: it looks has extra characters; "
        "copy the whole key"
    )
    bad = good[:20] + "-" + good[21:]
    assert _message(bad) == (
        "the API key contains characters outside 0-9, A-Z, a-z after its prefix: "
        "check for a copy/paste error"
    )
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert _message(flipped) == (
        "the API key's checksum does not match: it was mistyped or altered; copy it "
        "again"
    )


def test_generated_keys_default_to_test_and_remember_their_environment() -> None:
    key = ApiKey.generate()
    assert key.env == "test"
    assert key.reveal().startswith("nvk_test_")
    live = ApiKey.generate("live")
    assert live.env == "live"
    assert ApiKey.parse(live.reveal()).env == "live"


def test_api_key_refuses_pickling_with_a_reason() -> None:
    import pickle

    with pytest.raises(TypeError, match=r"^ApiKey is not picklable: pass the key"):
        pickle.dumps(ApiKey.generate())


def test_transport_errors_are_retried_exactly_max_retries_times() -> None:
    policy = RetryPolicy(max_retries=2)
    error = httpx.ConnectError("reset")
    for retries, action in ((0, Action.RETRY), (1, Action.RETRY), (2, Action.DONE)):
        decision = policy.decide(
            RetryState(retries=retries),
            method="GET",
            has_idempotency_key=False,
            error=error,
            now=NOW,
        )
        assert decision.action is action
        if action is Action.RETRY:
            assert isinstance(decision.delay, float)
            assert 0.0 <= decision.delay <= 0.5 * 2**retries
            assert decision.reason == "ConnectError"


@pytest.mark.parametrize("env", ["prod", "LIVE", ""])
def test_generate_names_the_environments(env: str) -> None:
    from nuvera_client.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"^env must be 'live' or 'test'$"):
        ApiKey.generate(env)  # type: ignore[arg-type]
