"""Sandbox verifier boundaries that mutation testing showed untested (issue 17).

Two Authorization headers, text after the token, the replay store's extension when a
``jti`` comes back with a later ``exp``, the ``jti`` length bounds, ``iat`` at its
upper bound, and ``server_time`` only on the two clock codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_support import Caller, Clock, caller_on, make_sandbox

GET = ("GET", "/v1/customers")


def _code(response: object) -> str:
    return response.json()["error"]["code"]  # type: ignore[attr-defined, no-any-return]


def test_two_authorization_headers_are_malformed(caller: Caller) -> None:
    first, second = caller.token(*GET), caller.token(*GET)
    response = caller.raw(
        *GET,
        [
            ("x-api-key", caller.app.api_key),
            ("authorization", f"Bearer {first}"),
            ("authorization", f"Bearer {second}"),
        ],
    )
    assert response.status_code == 401
    assert _code(response) == "malformed_token"
    # Neither token was used: both still work once, alone.
    assert caller.send(*GET, token=first).status_code == 200


@pytest.mark.parametrize("tail", [" junk", "  junk", "\tjunk", " Bearer x"])
def test_text_after_the_token_is_malformed(caller: Caller, tail: str) -> None:
    token = caller.token(*GET)
    response = caller.raw(
        *GET,
        [("x-api-key", caller.app.api_key), ("authorization", f"Bearer {token}{tail}")],
    )
    assert response.status_code == 401
    assert _code(response) == "malformed_token"
    assert caller.send(*GET, token=token).status_code == 200


def test_trailing_whitespace_after_the_token_is_ignored(caller: Caller) -> None:
    token = caller.token(*GET)
    response = caller.raw(
        *GET,
        [("x-api-key", caller.app.api_key), ("authorization", f"Bearer  {token} ")],
    )
    assert response.status_code == 200, response.text


def test_replay_store_extends_to_a_later_exp(caller: Caller) -> None:
    jti = "r" * 32
    now = caller.now()
    assert (
        caller.send(*GET, token=caller.token(*GET, jti=jti, ttl=5)).status_code == 200
    )
    # The same jti again, with a later exp: refused, and kept until that exp + 10.
    later = caller.token(*GET, jti=jti, iat=now + 10, exp=now + 70)
    assert _code(caller.send(*GET, token=later)) == "replayed_jti"
    # Past the first token's exp + 10 (now + 15), before the second's (now + 80).
    caller.clock.t += 40
    again = caller.token(*GET, jti=jti, ttl=30)
    assert _code(caller.send(*GET, token=again)) == "replayed_jti"
    caller.clock.t += 60  # past now + 80: forgotten
    assert caller.send(*GET, token=caller.token(*GET, jti=jti)).status_code == 200


@pytest.mark.parametrize("state", [False, True], ids=["memory", "state-file"])
def test_replay_store_is_per_application(
    tmp_path: Path,
    clock: Clock,
    rsa_key: rsa.RSAPrivateKey,
    rsa_key_2: rsa.RSAPrivateKey,
    state: bool,
) -> None:
    # A jti one application used does not refuse another application's token.
    sandbox = make_sandbox(clock, state=tmp_path / "s.sqlite3" if state else None)
    try:
        with (
            caller_on(sandbox, clock, rsa_key, "one") as one,
            caller_on(sandbox, clock, rsa_key_2, "two") as two,
        ):
            jti = "p" * 32
            assert one.send(*GET, token=one.token(*GET, jti=jti)).status_code == 200
            assert two.send(*GET, token=two.token(*GET, jti=jti)).status_code == 200
            assert _code(one.send(*GET, token=one.token(*GET, jti=jti))) == (
                "replayed_jti"
            )
            assert _code(two.send(*GET, token=two.token(*GET, jti=jti))) == (
                "replayed_jti"
            )
    finally:
        sandbox.close()


@pytest.mark.parametrize(
    ("length", "ok"), [(15, False), (16, True), (128, True), (129, False)]
)
def test_jti_length_bounds(caller: Caller, length: int, ok: bool) -> None:
    response = caller.send(*GET, token=caller.token(*GET, jti="a" * length))
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert _code(response) == "malformed_token"


@pytest.mark.parametrize(("ahead", "ok"), [(10, True), (11, False)])
def test_iat_upper_bound(caller: Caller, ahead: int, ok: bool) -> None:
    now = caller.now()
    token = caller.token(*GET, iat=now + ahead, exp=now + ahead + 30)
    response = caller.send(*GET, token=token)
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert _code(response) == "token_not_yet_valid"
        assert response.json()["error"]["details"] == {"server_time": now}


@pytest.mark.parametrize(("behind", "ok"), [(10, True), (11, False)])
def test_exp_lower_bound(caller: Caller, behind: int, ok: bool) -> None:
    now = caller.now()
    token = caller.token(*GET, iat=now - behind - 30, exp=now - behind)
    response = caller.send(*GET, token=token)
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert _code(response) == "token_expired"
        assert response.json()["error"]["details"] == {"server_time": now}


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "x"},
        {"aud": "x"},
        {"ttl": 61},
        {"method": "PUT"},
        {"uri": "/v1/other"},
        {"body_hash": "0" * 64},
    ],
)
def test_only_clock_codes_carry_server_time(
    caller: Caller, overrides: dict[str, Any]
) -> None:
    response = caller.send(*GET, token=caller.token(*GET, **overrides))
    assert response.status_code == 401
    assert "server_time" not in response.json()["error"]["details"]


@pytest.mark.parametrize(("lifetime", "ok"), [(0, False), (1, True), (60, True)])
def test_lifetime_lower_and_upper_bounds(
    caller: Caller, lifetime: int, ok: bool
) -> None:
    now = caller.now()
    token = caller.token(*GET, iat=now, exp=now + lifetime)
    response = caller.send(*GET, token=token)
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert _code(response) == "invalid_lifetime"
