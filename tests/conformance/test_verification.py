"""PROTOCOL §3 checks 1-19 and the §3.1 edge cases, over real loopback HTTP."""

from __future__ import annotations

import json
import secrets

import pytest
from cryptography.hazmat.primitives import hashes as _hashes
from cryptography.hazmat.primitives.asymmetric import padding as _padding
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.sandbox import SandboxServer

from . import _ref
from .conftest import Caller, FakeClock, assert_error, make_caller, release_key

AUTH = "authentication_error"
LIST = "/v1/customers"


def _jti() -> str:
    return secrets.token_hex(16)


# --- checks 1-4: the API key and the application -------------------------------


def test_ok_baseline(caller: Caller) -> None:
    resp = caller.send("GET", LIST)
    assert resp.status == 200
    assert resp.header("date")
    assert (resp.header("x-request-id") or "").startswith("req_")
    assert resp.json_body == {"data": [], "has_more": False, "next_cursor": None}


def test_1_missing_api_key(caller: Caller) -> None:
    tok = caller.token("GET", LIST)
    resp = _ref.raw_request(
        caller.port, "GET", LIST, [("Authorization", f"Bearer {tok}")]
    )
    details = assert_error(resp, 401, AUTH, "missing_api_key")
    assert details == {}


def test_1_empty_api_key_is_missing(caller: Caller) -> None:
    tok = caller.token("GET", LIST)
    headers = [("x-api-key", ""), ("Authorization", f"Bearer {tok}")]
    resp = _ref.raw_request(caller.port, "GET", LIST, headers)
    assert_error(resp, 401, AUTH, "missing_api_key")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda k: k[:-1], id="truncated"),
        pytest.param(lambda k: k + "A", id="too-long"),
        pytest.param(lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), id="checksum"),
        pytest.param(lambda k: "nvk_prod_" + k[9:], id="env"),
        pytest.param(lambda k: "NVK" + k[3:], id="prefix-case"),
        pytest.param(lambda k: k[:20] + "-" + k[21:], id="not-base62"),
        pytest.param(lambda _k: _ref.random_api_key("test"), id="well-formed-unknown"),
        pytest.param(lambda _k: _ref.random_api_key("live"), id="unknown-live"),
    ],
)
def test_2_invalid_api_key(caller: Caller, mangle: object) -> None:
    assert callable(mangle)
    caller.api_key = mangle(caller.api_key)
    resp = caller.send("GET", LIST)
    assert_error(resp, 401, AUTH, "invalid_api_key")
    assert caller.api_key not in resp.body.decode()


def test_2_two_api_key_headers_are_invalid(caller: Caller) -> None:
    resp = caller.send("GET", LIST, headers=[("x-api-key", caller.api_key)])
    assert_error(resp, 401, AUTH, "invalid_api_key")


def test_2_invalid_key_wins_over_missing_signature(caller: Caller) -> None:
    headers = [("x-api-key", _ref.random_api_key())]
    resp = _ref.raw_request(caller.port, "GET", LIST, headers)
    assert_error(resp, 401, AUTH, "invalid_api_key")


def test_3_revoked_key(server: SandboxServer, caller: Caller) -> None:
    server.sandbox.revoke_api_key(caller.app_id, caller.api_key[:13])
    resp = caller.send("GET", LIST)
    assert_error(resp, 401, AUTH, "api_key_revoked")


def test_3_rotated_key_usable_in_grace_then_revoked(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    rotated = clocked_server.sandbox.rotate_api_key(c.app_id, grace_period=5)
    assert c.send("GET", LIST).status == 200
    clock.t += 4
    assert c.send("GET", LIST).status == 200
    clock.t += 1  # now == expires_at: revoked (§3.1 "now >= expires_at")
    assert_error(c.send("GET", LIST), 401, AUTH, "api_key_revoked")
    assert rotated.api_key is not None
    c.api_key = rotated.api_key
    assert c.send("GET", LIST).status == 200


def test_4_application_disabled_before_signature_checks(
    server: SandboxServer, caller: Caller
) -> None:
    server.sandbox.disable_application(caller.app_id)
    headers = [("x-api-key", caller.api_key)]
    resp = _ref.raw_request(caller.port, "GET", LIST, headers)
    assert_error(resp, 403, "permission_error", "application_disabled")
    assert_error(
        caller.send("GET", LIST), 403, "permission_error", "application_disabled"
    )
    server.sandbox.enable_application(caller.app_id)
    assert caller.send("GET", LIST).status == 200


# --- checks 5-9: the token's form and signature ---------------------------------


def _auth_send(caller: Caller, authorization: str | None) -> _ref.RawResponse:
    headers = [("x-api-key", caller.api_key)]
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return _ref.raw_request(caller.port, "GET", LIST, headers)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", ""],
    ids=["absent", "bearer-no-token", "bearer-space", "basic", "empty"],
)
def test_5_missing_signature(caller: Caller, authorization: str | None) -> None:
    assert_error(_auth_send(caller, authorization), 401, AUTH, "missing_signature")


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_5_bearer_scheme_is_case_insensitive(caller: Caller, scheme: str) -> None:
    resp = _auth_send(caller, f"{scheme} {caller.token('GET', LIST)}")
    assert resp.status == 200, resp.body


def _signed(caller: Caller, header: bytes, payload: bytes) -> str:
    return _ref.sign_raw(caller.key, header, payload)


def _good_header(caller: Caller) -> dict[str, object]:
    return {"alg": "RS256", "kid": _ref.kid_of(caller.key), "typ": "JWT"}


def _good_payload(
    caller: Caller, method: str = "GET", uri: str = LIST
) -> dict[str, object]:
    return _ref.claims(method=method, uri=uri, iat=caller.now())


def _tok_send(
    caller: Caller, token: str, method: str = "GET", uri: str = LIST
) -> _ref.RawResponse:
    return caller.send(method, uri, token=token)


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!.###.$$$",
    ],
)
def test_6_malformed_structure(caller: Caller, token: str) -> None:
    assert_error(_tok_send(caller, token), 401, AUTH, "malformed_token")


def test_6_header_not_json(caller: Caller) -> None:
    tok = _signed(caller, b"not json", _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_6_payload_not_json(caller: Caller) -> None:
    tok = _signed(caller, _ref.jcs(_good_header(caller)), b"{nope")
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


@pytest.mark.parametrize("which", ["header", "payload"])
@pytest.mark.parametrize("value", [b"[]", b'"s"', b"1", b"null"])
def test_6_not_an_object(caller: Caller, which: str, value: bytes) -> None:
    header = _ref.jcs(_good_header(caller))
    payload = _ref.jcs(_good_payload(caller))
    tok = _signed(
        caller,
        value if which == "header" else header,
        value if which == "payload" else payload,
    )
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_6_duplicate_member_in_header(caller: Caller) -> None:
    kid = _ref.kid_of(caller.key)
    header = f'{{"alg":"RS256","alg":"RS256","kid":"{kid}","typ":"JWT"}}'.encode()
    tok = _signed(caller, header, _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_6_duplicate_member_in_payload(caller: Caller) -> None:
    payload = _ref.jcs(_good_payload(caller))[:-1] + b',"iss":"nuvera-api"}'
    tok = _signed(caller, _ref.jcs(_good_header(caller)), payload)
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_6_padded_base64url_is_malformed(caller: Caller, segment: int) -> None:
    parts = caller.token("GET", LIST).split(".")
    parts[segment] += "=" * (-len(parts[segment]) % 4 or 4)
    if segment < 2 and len(parts[segment].rstrip("=")) % 4 == 0:
        pytest.skip("segment length already a multiple of 4")
    assert_error(_tok_send(caller, ".".join(parts)), 401, AUTH, "malformed_token")


@pytest.mark.parametrize("bad", ["+", "/", "*"])
def test_6_signature_not_base64url(caller: Caller, bad: str) -> None:
    head, body, sig = caller.token("GET", LIST).split(".")
    tok = f"{head}.{body}.{bad}{sig[1:]}"
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_6_standard_base64_in_payload_is_malformed(caller: Caller) -> None:
    # An extra claim of '?' and '>' forces '_' / '-' into the base64url text;
    # the same segment in standard base64 (+ and /) is not base64url.
    for pad in range(3):
        payload = {**_good_payload(caller), "x": "a" * pad + "???>>>"}
        encoded = _ref.b64url(_ref.jcs(payload))
        if "-" in encoded or "_" in encoded:
            break
    std = encoded.replace("-", "+").replace("_", "/")
    assert std != encoded
    header = _ref.jcs(_good_header(caller))
    head = _ref.b64url(header)
    # Signed over the text actually sent, so only the encoding is wrong.
    signature = caller.key.sign(
        f"{head}.{std}".encode(), _padding.PKCS1v15(), _hashes.SHA256()
    )
    sig = _ref.b64url(signature)
    assert_error(_tok_send(caller, f"{head}.{std}.{sig}"), 401, AUTH, "malformed_token")


@pytest.mark.parametrize("typ", ["jwt", "JWS", "", 1])
def test_6_typ_must_be_exactly_jwt(caller: Caller, typ: object) -> None:
    header = {**_good_header(caller), "typ": typ}
    tok = _signed(caller, json.dumps(header).encode(), _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_6_typ_absent_is_fine(caller: Caller) -> None:
    header = {"alg": "RS256", "kid": _ref.kid_of(caller.key)}
    tok = _signed(caller, _ref.jcs(header), _ref.jcs(_good_payload(caller)))
    assert _tok_send(caller, tok).status == 200


def test_6_crit_is_malformed(caller: Caller) -> None:
    header = {**_good_header(caller), "crit": ["exp"]}
    tok = _signed(caller, json.dumps(header).encode(), _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_servers_accept_non_canonical_json(caller: Caller) -> None:
    header = json.dumps(_good_header(caller), indent=2).encode()
    payload = json.dumps(dict(reversed(_good_payload(caller).items())), indent=1)
    tok = _signed(caller, header, payload.encode())
    assert _tok_send(caller, tok).status == 200


def test_extra_claims_are_ignored(caller: Caller) -> None:
    payload = {**_good_payload(caller), "nbf": 1, "sub": "x", "aud2": [1]}
    tok = _signed(caller, _ref.jcs(_good_header(caller)), json.dumps(payload).encode())
    assert _tok_send(caller, tok).status == 200


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none"},
        {"alg": "HS256"},
        {"alg": "rs256"},
        {"alg": "RS512"},
        {"alg": "PS256"},
        {"alg": None},
        {},
    ],
    ids=["none", "hs256", "lower", "rs512", "ps256", "null", "absent"],
)
def test_7_unsupported_algorithm(caller: Caller, header: dict[str, object]) -> None:
    full = {"kid": _ref.kid_of(caller.key), "typ": "JWT", **header}
    tok = _signed(caller, json.dumps(full).encode(), _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "unsupported_algorithm")


def test_7_alg_none_with_empty_signature(caller: Caller) -> None:
    head = _ref.b64url(b'{"alg":"none","typ":"JWT"}')
    body = _ref.b64url(_ref.jcs(_good_payload(caller)))
    assert_error(
        _tok_send(caller, f"{head}.{body}."), 401, AUTH, "unsupported_algorithm"
    )


@pytest.mark.parametrize("kid", ["absent", "unknown", "other-app", "number"])
def test_8_unknown_signing_key(
    server: SandboxServer, caller: Caller, other_key: rsa.RSAPrivateKey, kid: str
) -> None:
    header: dict[str, object] = {"alg": "RS256", "typ": "JWT"}
    signer = caller.key
    if kid == "unknown":
        header["kid"] = _ref.kid_of(other_key)
        signer = other_key
    elif kid == "other-app":
        make_caller(server, other_key, name="other")
        header["kid"] = _ref.kid_of(other_key)
        signer = other_key
    elif kid == "number":
        header["kid"] = 7
    tok = _ref.sign_raw(
        signer, json.dumps(header).encode(), _ref.jcs(_good_payload(caller))
    )
    assert_error(_tok_send(caller, tok), 401, AUTH, "unknown_signing_key")


def test_8_removed_signing_key(
    server: SandboxServer, caller: Caller, other_key: rsa.RSAPrivateKey
) -> None:
    from .conftest import public_pem

    old_kid = _ref.kid_of(caller.key)
    release_key(server.sandbox, other_key)
    new_kid = server.sandbox.add_signing_key(caller.app_id, public_pem(other_key))
    assert new_kid == _ref.kid_of(other_key)
    assert caller.send("GET", LIST).status == 200
    server.sandbox.remove_signing_key(caller.app_id, old_kid)
    assert_error(caller.send("GET", LIST), 401, AUTH, "unknown_signing_key")
    caller.key = other_key
    assert caller.send("GET", LIST).status == 200


def test_9_invalid_signature(caller: Caller, other_key: rsa.RSAPrivateKey) -> None:
    tok = _ref.sign_raw(
        other_key, _ref.jcs(_good_header(caller)), _ref.jcs(_good_payload(caller))
    )
    assert_error(_tok_send(caller, tok), 401, AUTH, "invalid_signature")
    head, body, sig = caller.token("GET", LIST).split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert_error(
        _tok_send(caller, f"{head}.{body}.{flipped}"), 401, AUTH, "invalid_signature"
    )


def test_9_empty_signature_segment(caller: Caller) -> None:
    head, body, _sig = caller.token("GET", LIST).split(".")
    assert_error(_tok_send(caller, f"{head}.{body}."), 401, AUTH, "invalid_signature")


# --- checks 10-14: claims ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"iss": "nuvera"}, "invalid_issuer"),
        ({"iss": None}, "invalid_issuer"),
        ({"iss": "<del>"}, "invalid_issuer"),
        ({"aud": "nuvera-api"}, "invalid_audience"),
        ({"aud": ["nuvera-rest-api"]}, "invalid_audience"),
        ({"aud": "<del>"}, "invalid_audience"),
        ({"iss": "x", "iat": 1.5}, "invalid_issuer"),  # 10 before 11
    ],
    ids=[
        "iss",
        "iss-null",
        "iss-absent",
        "aud",
        "aud-array",
        "aud-absent",
        "10-before-11",
    ],
)
def test_10_issuer_and_audience(
    caller: Caller, change: dict[str, object], code: str
) -> None:
    payload = _good_payload(caller)
    for name, value in change.items():
        if value == "<del>":
            del payload[name]
        else:
            payload[name] = value
    tok = _signed(caller, _ref.jcs(_good_header(caller)), json.dumps(payload).encode())
    assert_error(_tok_send(caller, tok), 401, AUTH, code)


def _raw_payload(caller: Caller, **raw: str) -> bytes:
    """The good payload with some members replaced by raw JSON text."""
    payload = _good_payload(caller)
    parts = [
        f'"{k}":{raw[k] if k in raw else json.dumps(v)}' for k, v in payload.items()
    ]
    parts += [f'"{k}":{v}' for k, v in raw.items() if k not in payload]
    return ("{" + ",".join(p for p in parts if not p.endswith(":<del>")) + "}").encode()


@pytest.mark.parametrize(
    "raw",
    [
        {"iat": "<del>"},
        {"exp": "<del>"},
        {"jti": "<del>"},
        {"method": "<del>"},
        {"uri": "<del>"},
        {"body_hash": "<del>"},
        {"iat": '"1790000000"'},
        {"iat": "1790000000.0"},
        {"iat": "1.79e9"},
        {"exp": "true"},
        {"exp": "null"},
        {"jti": '"' + "a" * 15 + '"'},
        {"jti": '"' + "a" * 129 + '"'},
        {"jti": '"abc.def.ghi.jkl.mno"'},
        {"jti": '"abcdefghijklmnop "'},
        {"jti": "1234567890123456"},
        {"method": '"get"'},
        {"method": '"G ET"'},
        {"method": '""'},
        {"uri": '"v1/customers"'},
        {"uri": '""'},
        {"uri": "[]"},
        {"uri": '"http://127.0.0.1/v1/customers"'},
        {"body_hash": '"' + _ref.EMPTY_SHA256.upper() + '"'},
        {"body_hash": '"' + _ref.EMPTY_SHA256[:-1] + '"'},
        {"body_hash": '"' + _ref.EMPTY_SHA256 + '0"'},
    ],
    ids=lambda raw: "-".join(f"{k}={v[:12]}" for k, v in raw.items()),
)
def test_11_malformed_claims(caller: Caller, raw: dict[str, str]) -> None:
    tok = _signed(caller, _ref.jcs(_good_header(caller)), _raw_payload(caller, **raw))
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


@pytest.mark.parametrize("length", [16, 128])
def test_11_jti_length_bounds_accepted(caller: Caller, length: int) -> None:
    jti = (secrets.token_hex(64) + "_-")[-length:]
    assert caller.send("GET", LIST, jti=jti).status == 200


def test_12_lifetime(caller: Caller) -> None:
    now = caller.now()
    for exp_minus_iat in (0, -1, 61, 3600):
        resp = caller.send("GET", LIST, iat=now, exp=now + exp_minus_iat)
        assert_error(resp, 401, AUTH, "invalid_lifetime")
    assert caller.send("GET", LIST, iat=now, exp=now + 60).status == 200
    assert caller.send("GET", LIST, iat=now, exp=now + 1).status == 200


def test_12_before_13(caller: Caller) -> None:
    now = caller.now()
    resp = caller.send("GET", LIST, iat=now + 1000, exp=now + 1100)
    assert_error(resp, 401, AUTH, "invalid_lifetime")


def test_13_14_time_window(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    now = int(clock.t)
    # iat <= now + 10
    assert c.send("GET", LIST, iat=now + 10, exp=now + 40).status == 200
    resp = c.send("GET", LIST, iat=now + 11, exp=now + 41)
    assert_error(resp, 401, AUTH, "token_not_yet_valid", {"server_time": now})
    # exp >= now - 10
    assert c.send("GET", LIST, iat=now - 40, exp=now - 10).status == 200
    resp = c.send("GET", LIST, iat=now - 41, exp=now - 11)
    assert_error(resp, 401, AUTH, "token_expired", {"server_time": now})


def test_13_server_time_follows_clock_offset(
    server: SandboxServer, caller: Caller
) -> None:
    sandbox = server.sandbox
    sandbox.clock_offset = 3600
    try:
        real = caller.now()  # sandbox.now() includes the offset
        resp = caller.send("GET", LIST, iat=real - 3600, exp=real - 3570)
        details = assert_error(resp, 401, AUTH, "token_expired")
        server_time = details["server_time"]
        assert isinstance(server_time, int)
        assert not isinstance(server_time, bool)
        assert abs(server_time - real) <= 2
    finally:
        sandbox.clock_offset = 0


# --- check 15: replay store ------------------------------------------------------


def test_15_replayed_jti(caller: Caller) -> None:
    tok = caller.token("GET", LIST)
    assert _tok_send(caller, tok).status == 200
    assert_error(_tok_send(caller, tok), 401, AUTH, "replayed_jti")


def test_15_recorded_even_when_a_later_check_fails(caller: Caller) -> None:
    jti = _jti()
    resp = caller.send("GET", LIST, jti=jti, method="POST")
    assert_error(resp, 401, AUTH, "method_mismatch")
    assert_error(caller.send("GET", LIST, jti=jti), 401, AUTH, "replayed_jti")
    jti = _jti()
    assert_error(
        caller.send("GET", LIST, jti=jti, iss="x"), 401, AUTH, "invalid_issuer"
    )
    assert_error(caller.send("GET", LIST, jti=jti), 401, AUTH, "replayed_jti")


def test_15_not_recorded_when_signature_fails(
    caller: Caller, other_key: rsa.RSAPrivateKey
) -> None:
    jti = _jti()
    payload = _ref.claims(method="GET", uri=LIST, iat=caller.now(), jti=jti)
    bad = _ref.sign_raw(other_key, _ref.jcs(_good_header(caller)), _ref.jcs(payload))
    assert_error(_tok_send(caller, bad), 401, AUTH, "invalid_signature")
    assert caller.send("GET", LIST, jti=jti).status == 200


def test_15_scoped_to_the_application(
    server: SandboxServer, caller: Caller, other_key: rsa.RSAPrivateKey
) -> None:
    other = make_caller(server, other_key, name="other-replay")
    jti = _jti()
    assert caller.send("GET", LIST, jti=jti).status == 200
    assert other.send("GET", LIST, jti=jti).status == 200


def test_15_kept_until_exp_plus_10(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    start = int(clock.t)
    for probe, expected in ((39, 401), (41, 200)):
        jti = _jti()
        clock.t = start
        assert c.send("GET", LIST, jti=jti, iat=start, exp=start + 30).status == 200
        clock.t = start + probe
        resp = c.send("GET", LIST, jti=jti, iat=start + probe, exp=start + probe + 30)
        assert resp.status == expected, resp.body
        start += 1000
    clock.t = start


def test_15_replay_does_not_extend_the_entry(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    jti = _jti()
    start = int(clock.t)
    tok = c.token("GET", LIST, jti=jti, iat=start, exp=start + 30)
    assert _tok_send(c, tok).status == 200
    clock.t = start + 39
    assert_error(
        _tok_send(c, tok), 401, AUTH, "replayed_jti"
    )  # same token, exp+10 later
    clock.t = start + 41
    resp = c.send("GET", LIST, jti=jti, iat=start + 41, exp=start + 71)
    clock.t = start + 1000
    assert resp.status == 200, resp.body


# --- checks 16-18: binding to the request -----------------------------------------


def test_16_method_mismatch(caller: Caller) -> None:
    resp = caller.send("GET", LIST, method="DELETE")
    assert_error(resp, 401, AUTH, "method_mismatch")


def test_16_lowercase_request_method(caller: Caller) -> None:
    resp = caller.send("get", LIST, token=caller.token("GET", LIST))
    assert_error(resp, 401, AUTH, "method_mismatch")


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        ("/v1/customers?email=a%40b.com", "/v1/customers?email=a@b.com"),
        ("/v1/customers?email=a@b.com", "/v1/customers?email=a%40b.com"),
        ("/v1/customers?x=%2F", "/v1/customers?x=%2f"),
        ("/v1/customers?q=a+b", "/v1/customers?q=a%20b"),
        (
            "/v1/customers?limit=10&status=active",
            "/v1/customers?status=active&limit=10",
        ),
        ("/v1/customers?limit=10", "/v1/customers"),
        ("/v1/customers", "/v1/customers?limit=10"),
        ("/v1/customers", "/v1/customers/"),
        ("/v1/customers", "/v1/Customers"),
        ("/v1/%63ustomers", "/v1/customers"),
    ],
)
def test_17_uri_mismatch(caller: Caller, sent: str, signed: str) -> None:
    resp = caller.send("GET", sent, uri=signed)
    assert_error(
        resp, 401, AUTH, "uri_mismatch", {"expected": sent, "received": signed}
    )


@pytest.mark.parametrize(
    "target",
    [
        "/v1/customers?email=a%40b.com&limit=10",
        "/v1/customers?email=a@b.com",
        "/v1/customers?external_id=a%2Fb",
        "/v1/customers?external_id=x+y",
        "/v1/customers?external_id=x%20y",
        "/v1/customers?external_id=%2B1",
        "/v1/customers?external_id=Zo%C3%AB",
    ],
)
def test_17_raw_targets_accepted(caller: Caller, target: str) -> None:
    resp = caller.send("GET", target)
    assert resp.status == 200, resp.body


def test_17_bare_question_mark_is_invisible(caller: Caller) -> None:
    # A server cannot see an empty query: it derives /v1/customers (§2.1).
    resp = caller.send("GET", "/v1/customers?", uri="/v1/customers?")
    assert_error(
        resp,
        401,
        AUTH,
        "uri_mismatch",
        {"expected": "/v1/customers", "received": "/v1/customers?"},
    )


def test_18_body_hash_mismatch(caller: Caller) -> None:
    body = b'{"type":"individual","name":"A","email":"bh@example.com"}'
    claimed = _ref.sha256_hex(b"{}")
    resp = caller.send("POST", LIST, body, body_hash=claimed)
    assert_error(
        resp,
        401,
        AUTH,
        "body_hash_mismatch",
        {
            "expected": _ref.sha256_hex(body),
            "received": claimed,
            "body_length": len(body),
        },
    )


def test_18_empty_body_must_hash_empty(caller: Caller) -> None:
    claimed = _ref.sha256_hex(b"x")
    resp = caller.send("GET", LIST, body_hash=claimed)
    assert_error(
        resp,
        401,
        AUTH,
        "body_hash_mismatch",
        {"expected": _ref.EMPTY_SHA256, "received": claimed, "body_length": 0},
    )


def test_18_hash_of_the_bytes_as_sent_gzip(caller: Caller) -> None:
    import gzip

    raw = json.dumps(
        {"type": "individual", "name": "Gz", "email": "gz@example.com"}
    ).encode()
    sent = gzip.compress(raw, mtime=0)
    resp = caller.send(
        "POST",
        LIST,
        sent,
        body_hash=_ref.sha256_hex(raw),
        headers=[("Content-Encoding", "gzip")],
    )
    assert_error(
        resp,
        401,
        AUTH,
        "body_hash_mismatch",
        {"expected": _ref.sha256_hex(sent), "received": _ref.sha256_hex(raw)},
    )


def test_18_chunked_framing_not_hashed(caller: Caller) -> None:
    body = json.dumps(
        {"type": "individual", "name": "Ch", "email": "ch@example.com"}
    ).encode()
    tok = caller.token("POST", LIST, body)
    framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    headers = [
        ("x-api-key", caller.api_key),
        ("Authorization", f"Bearer {tok}"),
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ]
    resp = _ref.raw_request(caller.port, "POST", LIST, headers, framed)
    assert resp.status == 201, resp.body


# --- 404 / 405 after 1-18, then 19 ------------------------------------------------


def test_19_permission_denied(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, ["CUSTOMERS_READ"], name="ro")
    resp = c.post_json(
        LIST, {"type": "individual", "name": "A", "email": "p@example.com"}
    )
    assert_error(
        resp,
        403,
        "permission_error",
        "permission_denied",
        {"required_permission": "CUSTOMERS_WRITE"},
    )
    resp = c.send("GET", "/v1/payments")
    assert_error(
        resp,
        403,
        "permission_error",
        "permission_denied",
        {"required_permission": "PAYMENTS_READ"},
    )


def test_checks_1_to_18_before_404(caller: Caller) -> None:
    resp = caller.send("GET", "/v1/nothing", body_hash=_ref.sha256_hex(b"x"))
    assert_error(resp, 401, AUTH, "body_hash_mismatch")
    resp = caller.send("GET", "/v1/nothing", auth=False)
    assert_error(resp, 401, AUTH, "missing_api_key")


def test_404_before_permission(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, [], name="none")
    for target in ("/v1/nothing", "/v2/customers", "/", "/v1/customers/cus_1/x"):
        details = assert_error(
            c.send("GET", target), 404, "not_found_error", "not_found"
        )
        assert isinstance(details, dict)


def test_405_before_permission(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, [], name="none405")
    resp = c.send("DELETE", LIST)
    details = assert_error(resp, 405, "invalid_request_error", "method_not_allowed")
    allowed = details["allowed_methods"]
    assert isinstance(allowed, list)
    assert set(allowed) >= {"GET", "POST"}
    assert "DELETE" not in allowed
    allow = resp.header("allow")
    assert allow is not None
    assert {m.strip() for m in allow.split(",")} == set(allowed)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/customers/cus_abc", {"GET", "PATCH"}),
        ("GET", "/v1/payments/pay_abc/cancel", {"POST"}),
        ("POST", "/v1/crypto/assets", {"GET"}),
        ("PATCH", "/v1/beneficiaries/ben_abc", None),
    ],
)
def test_405_allowed_methods(
    caller: Caller, method: str, path: str, allowed: set[str] | None
) -> None:
    resp = caller.send(method, path)
    if allowed is None:
        assert resp.status != 405
        return
    details = assert_error(resp, 405, "invalid_request_error", "method_not_allowed")
    got = details["allowed_methods"]
    assert isinstance(got, list)
    assert set(got) - {"HEAD", "OPTIONS"} == allowed


# --- first failing check wins: each pair of neighbours ---------------------------


def test_order_3_before_4(server: SandboxServer, caller: Caller) -> None:
    server.sandbox.revoke_api_key(caller.app_id, caller.api_key[:13])
    server.sandbox.disable_application(caller.app_id)
    assert_error(caller.send("GET", LIST), 401, AUTH, "api_key_revoked")


def test_order_6_before_7(caller: Caller) -> None:
    head = _ref.b64url(b'{"alg":"none"}')
    assert_error(_tok_send(caller, f"{head}.!!!.x"), 401, AUTH, "malformed_token")


def test_order_7_before_8(caller: Caller) -> None:
    header = b'{"alg":"HS256","kid":"no-such-kid"}'
    tok = _signed(caller, header, _ref.jcs(_good_payload(caller)))
    assert_error(_tok_send(caller, tok), 401, AUTH, "unsupported_algorithm")


def test_order_9_before_10(caller: Caller, other_key: rsa.RSAPrivateKey) -> None:
    payload = {**_good_payload(caller), "iss": "x", "aud": "y"}
    tok = _ref.sign_raw(other_key, _ref.jcs(_good_header(caller)), _ref.jcs(payload))
    assert_error(_tok_send(caller, tok), 401, AUTH, "invalid_signature")


def test_order_11_before_12(caller: Caller) -> None:
    now = caller.now()
    raw = _raw_payload(caller, iat=f"{now}.5", exp=str(now + 500))
    tok = _signed(caller, _ref.jcs(_good_header(caller)), raw)
    assert_error(_tok_send(caller, tok), 401, AUTH, "malformed_token")


def test_order_14_before_15(caller: Caller) -> None:
    now = caller.now()
    tok = caller.token("GET", LIST, iat=now - 100, exp=now - 80)
    assert_error(_tok_send(caller, tok), 401, AUTH, "token_expired")
    assert_error(_tok_send(caller, tok), 401, AUTH, "token_expired")


def test_order_15_16_17_18(caller: Caller) -> None:
    wrong = _ref.sha256_hex(b"x")
    jti = _jti()
    resp = caller.send(
        "GET", LIST, jti=jti, method="POST", uri="/v1/x", body_hash=wrong
    )
    assert_error(resp, 401, AUTH, "method_mismatch")
    resp = caller.send("GET", LIST, jti=jti, uri="/v1/x", body_hash=wrong)
    assert_error(resp, 401, AUTH, "replayed_jti")
    resp = caller.send("GET", LIST, uri="/v1/x", body_hash=wrong)
    assert_error(resp, 401, AUTH, "uri_mismatch")
    resp = caller.send("GET", LIST, body_hash=wrong)
    assert_error(resp, 401, AUTH, "body_hash_mismatch")


def test_ids_and_keys_issued_by_the_sandbox(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    import re

    from .conftest import public_pem

    release_key(server.sandbox, conf_key)
    app = server.sandbox.create_application(
        name="ids",
        permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
        public_key_pem=public_pem(conf_key),
    )
    assert re.fullmatch(r"app_[0-9A-Za-z]{24}", app.id)
    assert re.fullmatch(r"nvk_test_[0-9A-Za-z]{38}", app.api_key)
    assert _ref.api_key("test", app.api_key[9:41]) == app.api_key
    assert app.kid == _ref.kid_of(conf_key)
    assert app.api_key not in repr(app)
    c = make_caller(
        server, conf_key, ["CUSTOMERS_READ", "CUSTOMERS_WRITE"], name="ids2"
    )
    resp = c.post_json(
        LIST, {"type": "individual", "name": "I", "email": "i@example.com"}
    )
    assert isinstance(resp.json_body, dict)
    assert re.fullmatch(r"cus_[0-9A-Za-z]+", resp.json_body["id"])
    assert re.fullmatch(r"req_[0-9A-Za-z_-]+", resp.header("x-request-id") or "")


@pytest.mark.parametrize("order", ["empty-first", "empty-second", "comma"])
def test_2_duplicate_api_key_with_an_empty_one(caller: Caller, order: str) -> None:
    tok = caller.token("GET", LIST)
    keys = {
        "empty-first": [("x-api-key", ""), ("x-api-key", caller.api_key)],
        "empty-second": [("x-api-key", caller.api_key), ("x-api-key", "")],
        "comma": [("x-api-key", f"{caller.api_key}, {caller.api_key}")],
    }[order]
    headers = [*keys, ("Authorization", f"Bearer {tok}")]
    resp = _ref.raw_request(caller.port, "GET", LIST, headers)
    assert_error(resp, 401, AUTH, "invalid_api_key")
