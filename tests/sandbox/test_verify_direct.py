"""``verify_headers()`` called directly, without an HTTP round trip (issue 17).

Pins what the HTTP tables cannot see or see only slowly: the exact messages of the
refusals that carry their own, the fields of ``Verified``, whitespace other than
space and tab around header values, a raw target that is not UTF-8, a long JOSE
header, the default clean-up of expired replay entries, and the replay store's
retention bounds. Mutation testing runs these first: they kill a mutant in
milliseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest
from sandbox_support import ALL_PERMISSIONS, Caller

from nuvera_client.sandbox._problems import ApiProblem
from nuvera_client.sandbox._verify import (
    IncomingRequest,
    Verified,
    check_permission,
    verify_headers,
)

TARGET = "/v1/customers"


def _verify(
    c: Caller,
    *,
    api_keys: Sequence[str] | None = None,
    authorizations: Sequence[str] | None = None,
    method: str = "GET",
    raw_target: bytes = TARGET.encode(),
    now: int | None = None,
    **kwargs: Any,
) -> Verified:
    if authorizations is None:
        authorizations = ["Bearer " + c.token("GET", TARGET)]
    request = IncomingRequest(
        method=method,
        raw_target=raw_target,
        api_keys=[c.app.api_key] if api_keys is None else api_keys,
        authorizations=authorizations,
    )
    # Committed even when refused, as the app does: the replay store keeps a jti
    # once its signature verified.
    with c.sandbox.store.transaction() as db:
        try:
            return verify_headers(
                db, request, c.now() if now is None else now, **kwargs
            )
        except ApiProblem as exc:
            refused = exc
    raise refused


def _refused(c: Caller, **kwargs: Any) -> ApiProblem:
    with pytest.raises(ApiProblem) as caught:
        _verify(c, **kwargs)
    return caught.value


def _stored(c: Caller, jti: str) -> list[int]:
    with c.sandbox.store.transaction() as db:
        rows = db.execute(
            "SELECT keep_until FROM replay_store WHERE jti = ?", (jti,)
        ).fetchall()
    return [row[0] for row in rows]


def _store(c: Caller, jti: str, keep_until: int) -> None:
    with c.sandbox.store.transaction() as db:
        db.execute(
            "INSERT INTO replay_store (application_id, jti, keep_until)"
            " VALUES (?, ?, ?)",
            (c.app.id, jti, keep_until),
        )


def test_verified_names_the_caller(caller: Caller) -> None:
    token = caller.token("GET", TARGET, jti="v" * 20)
    verified = _verify(caller, authorizations=["Bearer " + token])
    assert verified == Verified(
        application_id=caller.app.id,
        permissions=frozenset(ALL_PERMISSIONS),
        api_key_sha256=hashlib.sha256(caller.app.api_key.encode()).hexdigest(),
        kid=caller.kid,
        jti="v" * 20,
        body_hash=hashlib.sha256(b"").hexdigest(),
    )


def test_two_api_keys_message(caller: Caller) -> None:
    refused = _refused(caller, api_keys=[caller.app.api_key] * 2)
    assert (refused.code, refused.message) == (
        "invalid_api_key",
        "Send exactly one x-api-key header.",
    )


def test_two_authorization_headers_message(caller: Caller) -> None:
    token = caller.token("GET", TARGET)
    refused = _refused(caller, authorizations=["Bearer " + token] * 2)
    assert (refused.code, refused.message) == (
        "malformed_token",
        "Send exactly one Authorization header.",
    )


def test_method_mismatch_message(caller: Caller) -> None:
    token = caller.token("PUT", TARGET)
    refused = _refused(caller, authorizations=["Bearer " + token])
    assert refused.code == "method_mismatch"
    assert refused.details == {"expected": "GET", "received": "PUT"}
    assert refused.message == (
        "The token 'method' claim is 'PUT'; the request method is 'GET'."
    )


def test_permission_denied_message(caller: Caller) -> None:
    verified = _verify(caller)
    with pytest.raises(ApiProblem) as caught:
        check_permission(verified, "NOT_GRANTED")
    assert caught.value.code == "permission_denied"
    assert caught.value.details == {"required_permission": "NOT_GRANTED"}
    assert caught.value.message == (
        "The application lacks NOT_GRANTED, which this endpoint needs."
    )


def test_uri_mismatch_shows_invalid_utf8_escaped(caller: Caller) -> None:
    refused = _refused(caller, raw_target=b"/v1/customers?q=\xff")
    assert refused.code == "uri_mismatch"
    assert refused.details == {
        "expected": "/v1/customers?q=\\xff",
        "received": TARGET,
    }


# HTTP lets obs-text (0x80-0xFF) into a field value: a no-break space is not the
# optional whitespace (space, tab) that a server strips.
@pytest.mark.parametrize("space", ["\xa0", "\x0b", "\x0c"])
def test_only_space_and_tab_are_stripped_from_the_api_key(
    caller: Caller, space: str
) -> None:
    assert _refused(caller, api_keys=[space]).code == "invalid_api_key"
    wrapped = space + caller.app.api_key + space
    assert _refused(caller, api_keys=[wrapped]).code == "invalid_api_key"
    assert _verify(caller, api_keys=[" \t" + caller.app.api_key + "\t "])


@pytest.mark.parametrize("space", ["\xa0", "\x0b", "\x0c"])
def test_only_space_and_tab_are_stripped_from_authorization(
    caller: Caller, space: str
) -> None:
    token = caller.token("GET", TARGET)
    refused = _refused(caller, authorizations=[f"Bearer {token}{space}"])
    assert refused.code == "malformed_token"
    refused = _refused(caller, authorizations=[f"{space}Bearer {token}"])
    assert refused.code == "missing_signature"
    assert _verify(caller, authorizations=[f" \tBearer {token}\t "])


def test_a_long_jose_header_is_parsed_too(caller: Caller) -> None:
    # Segments longer than 512 characters bypass the header cache.
    token = caller.token("GET", TARGET, header={"x": "a" * 600})
    assert len(token.split(".")[0]) > 512
    assert _verify(caller, authorizations=["Bearer " + token]).kid == caller.kid


def test_expired_entries_are_purged_by_default(caller: Caller) -> None:
    now = caller.now()
    _store(caller, "p" * 16, now - 1)
    _store(caller, "q" * 16, now)
    _verify(caller)
    assert _stored(caller, "p" * 16) == []
    assert _stored(caller, "q" * 16) == [now]


def test_an_unpurged_expired_entry_is_no_replay(caller: Caller) -> None:
    now = caller.now()
    _store(caller, "e" * 16, now - 1)
    token = caller.token("GET", TARGET, jti="e" * 16)
    assert _verify(caller, authorizations=["Bearer " + token], purge=False)
    assert _stored(caller, "e" * 16) == [now + 30 + 10]


def test_an_entry_kept_until_now_is_a_replay(caller: Caller) -> None:
    now = caller.now()
    _store(caller, "n" * 16, now)
    token = caller.token("GET", TARGET, jti="n" * 16)
    refused = _refused(caller, authorizations=["Bearer " + token], purge=False)
    assert refused.code == "replayed_jti"
    assert _stored(caller, "n" * 16) == [now + 30 + 10]


def test_a_far_future_exp_is_kept_one_hour_and_leeway(caller: Caller) -> None:
    now = caller.now()
    for jti in ("f" * 16, "h" * 16):
        far = caller.token("GET", TARGET, jti=jti, iat=now, exp=now + 10**9)
        refused = _refused(caller, authorizations=["Bearer " + far])
        assert refused.code == "invalid_lifetime"
        assert _stored(caller, jti) == [now + 3600 + 10]
    for jti, at, code in (("f" * 16, 3610, "replayed_jti"), ("h" * 16, 3611, None)):
        later = now + at
        token = caller.token("GET", TARGET, jti=jti, iat=later, exp=later + 30)
        auth = ["Bearer " + token]
        if code is None:
            assert _verify(caller, authorizations=auth, now=later)
        else:
            assert _refused(caller, authorizations=auth, now=later).code == code


def test_a_far_past_exp_is_forgotten_at_once(caller: Caller) -> None:
    now = caller.now()
    old = caller.token("GET", TARGET, jti="o" * 16, iat=5, exp=35)
    assert _refused(caller, authorizations=["Bearer " + old]).code == "token_expired"
    assert _stored(caller, "o" * 16) == [now - 1]
    token = caller.token("GET", TARGET, jti="o" * 16)
    assert _verify(caller, authorizations=["Bearer " + token], purge=False)


@pytest.mark.parametrize("exp", ["soon", 1.5, None, True])
def test_a_jti_with_an_untyped_exp_is_kept_80_seconds(
    caller: Caller, exp: object
) -> None:
    now = caller.now()
    token = caller.token("GET", TARGET, jti="u" * 16, exp=exp)
    assert _refused(caller, authorizations=["Bearer " + token]).code == (
        "malformed_token"
    )
    assert _stored(caller, "u" * 16) == [now + 60 + 2 * 10]


def test_a_malformed_jti_is_not_stored(caller: Caller) -> None:
    token = caller.token("GET", TARGET, jti="short")
    assert _refused(caller, authorizations=["Bearer " + token]).code == (
        "malformed_token"
    )
    assert _stored(caller, "short") == []
