"""More PROTOCOL edge cases: odd JSON, methods, keys, 5xx, requests auth, policy."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import AsyncNuveraClient, NuveraClient, errors
from nuvera_client.sandbox import Sandbox, SandboxError, SandboxServer
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext

from . import _ref
from ._capture import Captured, capture_server, error_body
from .conftest import Caller, FakeClock, assert_error, make_caller, public_pem

AUTH = "authentication_error"
LIST = "/v1/customers"


def _header(c: Caller) -> bytes:
    return _ref.jcs({"alg": "RS256", "kid": _ref.kid_of(c.key), "typ": "JWT"})


def _payload(c: Caller, **over: object) -> dict[str, object]:
    return {**_ref.claims(method="GET", uri=LIST, iat=c.now()), **over}


# --- token JSON oddities -----------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda p: b"\xef\xbb\xbf" + p, id="bom"),
        pytest.param(lambda p: p + b"x", id="trailing-garbage"),
        pytest.param(lambda p: p + b"{}", id="two-objects"),
        pytest.param(lambda p: p[:-1] + b',"x":"\xff"}', id="invalid-utf8"),
        pytest.param(lambda p: p[:-1] + b',"x":{"a":1,"a":2}}', id="nested-duplicate"),
        pytest.param(lambda p: p[:-1] + b',"x":NaN}', id="nan"),
    ],
)
def test_payload_json_oddities_malformed(caller: Caller, mutate: Any) -> None:
    payload = mutate(_ref.jcs(_payload(caller)))
    tok = _ref.sign_raw(caller.key, _header(caller), payload)
    assert_error(caller.send("GET", LIST, token=tok), 401, AUTH, "malformed_token")


def test_whitespace_json_is_fine(caller: Caller) -> None:
    payload = b"  " + json.dumps(_payload(caller), indent=4).encode() + b"\n"
    tok = _ref.sign_raw(
        caller.key,
        b' {"alg" : "RS256", "kid": "%s"} ' % _ref.kid_of(caller.key).encode(),
        payload,
    )
    assert caller.send("GET", LIST, token=tok).status == 200


@pytest.mark.parametrize("alg", [["RS256"], {"v": "RS256"}, 256, True])
def test_non_string_alg_unsupported(caller: Caller, alg: object) -> None:
    header = json.dumps({"alg": alg, "kid": _ref.kid_of(caller.key)}).encode()
    tok = _ref.sign_raw(caller.key, header, _ref.jcs(_payload(caller)))
    assert_error(
        caller.send("GET", LIST, token=tok), 401, AUTH, "unsupported_algorithm"
    )


def test_non_ascii_uri_claim_is_a_mismatch(caller: Caller) -> None:
    sent = "/v1/customers?external_id=Zo%C3%AB"
    resp = caller.send("GET", sent, uri="/v1/customers?external_id=Zoë")
    assert_error(
        resp,
        401,
        AUTH,
        "uri_mismatch",
        {"expected": sent, "received": "/v1/customers?external_id=Zoë"},
    )


def test_method_mismatch_details(caller: Caller) -> None:
    resp = caller.send("GET", LIST, method="DELETE")
    assert_error(
        resp, 401, AUTH, "method_mismatch", {"expected": "GET", "received": "DELETE"}
    )


def test_details_empty_where_protocol_names_none(caller: Caller) -> None:
    cases = [
        caller.send("GET", LIST, auth=False),
        caller.send("GET", LIST, token="a.b"),
        caller.send("GET", LIST, iss="x"),
        caller.send("GET", LIST, aud="x"),
    ]
    for resp in cases:
        assert resp.status == 401
        assert resp.error["details"] == {}, resp.error


# --- methods the table does not list -----------------------------------------------


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "TRACE"])
def test_unlisted_methods_are_405(caller: Caller, method: str) -> None:
    resp = caller.send(method, LIST)
    assert resp.status == 405, (resp.status, resp.headers)
    allow = resp.header("allow")
    assert allow is not None
    assert {m.strip() for m in allow.split(",")} == {"GET", "POST"}
    if method != "HEAD":  # a HEAD reply has no body
        details = assert_error(resp, 405, "invalid_request_error", "method_not_allowed")
        allowed = details["allowed_methods"]
        assert isinstance(allowed, list)
        assert sorted(allowed) == ["GET", "POST"]


def test_405_after_signature_checks(caller: Caller) -> None:
    resp = caller.send("PUT", LIST, method="GET")
    assert_error(resp, 401, AUTH, "method_mismatch")


# --- idempotency header outside POST, and on optional POSTs ------------------------


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_idempotency_key_ignored_outside_post(caller: Caller, method: str) -> None:
    target = LIST if method == "GET" else "/v1/beneficiaries/ben_0000000000000000000000"
    body = b'{"name":"x"}' if method == "PATCH" else b""
    resp = caller.send(method, target, body, headers=[("Idempotency-Key", "has space")])
    assert resp.status in (200, 404), resp.body
    if resp.status == 404:
        assert resp.error["code"] == "not_found"


def test_invalid_key_on_optional_post(caller: Caller) -> None:
    body = json.dumps({"subject": "x", "body": "y"}).encode()
    resp = caller.send(
        "POST", "/v1/support/tickets", body, headers=[("Idempotency-Key", "a" * 256)]
    )
    assert_error(resp, 422, "validation_error", "invalid_idempotency_key")


# --- §1 limits: two keys, key strength ---------------------------------------------


def test_at_most_two_active_api_keys(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, name="keys")
    sandbox = server.sandbox
    first = c.api_key
    second = sandbox.rotate_api_key(c.app_id, grace_period=3600).api_key
    try:
        third = sandbox.rotate_api_key(c.app_id, grace_period=3600).api_key
    except SandboxError:
        return  # refused: fine
    working = []
    for key in (first, second, third):
        assert key is not None
        c.api_key = key
        working.append(c.send("GET", LIST).status == 200)
    assert sum(working) <= 2, working
    assert working[2]


def test_at_most_two_active_signing_keys(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, name="sig2")
    server.sandbox.add_signing_key(c.app_id, public_pem(other_key))
    third = rsa.generate_private_key(65537, 2048)
    with pytest.raises(SandboxError):
        server.sandbox.add_signing_key(c.app_id, public_pem(third))


@pytest.mark.parametrize(
    ("bits", "exponent"), [(1024, 65537), (2560, 65537), (2048, 3)]
)
def test_sandbox_refuses_weak_public_keys(bits: int, exponent: int) -> None:
    key = rsa.generate_private_key(exponent, bits)
    with Sandbox() as sandbox, pytest.raises(SandboxError):
        sandbox.create_application(
            name="weak", permissions=["CRYPTO_READ"], public_key_pem=public_pem(key)
        )


# --- §6 every response: Date on the server clock, unique x-request-id, 5xx shape ---


def test_date_follows_the_server_clock(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    resp = c.send("GET", LIST)
    date = email.utils.parsedate_to_datetime(resp.header("date") or "")
    assert abs(date.timestamp() - clock.t) <= 1


def test_date_follows_clock_offset(server: SandboxServer, caller: Caller) -> None:
    server.sandbox.clock_offset = 7200
    try:
        resp = caller.send("GET", LIST)
        date = email.utils.parsedate_to_datetime(resp.header("date") or "")
        assert abs(date.timestamp() - (time.time() + 7200)) <= 2
    finally:
        server.sandbox.clock_offset = 0


def test_request_ids_unique(caller: Caller) -> None:
    ids = {caller.send("GET", LIST).header("x-request-id") for _ in range(10)}
    assert len(ids) == 10


@pytest.fixture
def boom_server() -> Iterator[SandboxServer]:
    async def boom(ctx: RequestContext) -> Reply:
        raise RuntimeError("secret internals")

    async def ok(ctx: RequestContext) -> Reply:
        return Reply(status=200, body={"ok": True})

    endpoints = [
        Endpoint("GET", "/v1/boom", "CRYPTO_READ", boom),
        Endpoint("POST", "/v1/boom", "CRYPTO_READ", boom),
        Endpoint("GET", "/v1/ok", "CRYPTO_READ", ok),
    ]
    with Sandbox(endpoints=endpoints) as sandbox, sandbox.serve(port=0) as srv:
        yield srv


def test_500_shape(boom_server: SandboxServer, conf_key: rsa.RSAPrivateKey) -> None:
    c = make_caller(boom_server, conf_key, ["CRYPTO_READ"])
    resp = c.send("GET", "/v1/boom")
    assert_error(resp, 500, "api_error", "internal_error")
    assert b"secret internals" not in resp.body
    key = "k-500"
    first = c.send("POST", "/v1/boom", b"{}", headers=[("Idempotency-Key", key)])
    assert first.status == 500
    again = c.send("POST", "/v1/boom", b"{}", headers=[("Idempotency-Key", key)])
    assert again.status == 500
    assert again.header("idempotent-replayed") in (None, "false")
    assert c.send("GET", "/v1/ok").status == 200


# --- requests auth on the wire -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "target"),
    [
        (
            "/v1/customers",
            {"email": "a@b.com", "limit": "10"},
            "/v1/customers?email=a%40b.com&limit=10",
        ),
        (
            "/v1/documents?path=a%2Fb&q=x+y&r=a%20b",
            None,
            "/v1/documents?path=a%2Fb&q=x+y&r=a%20b",
        ),
        ("/v1/customers?", None, "/v1/customers"),
        ("/v1/customers/Zoë", None, "/v1/customers/Zo%C3%AB"),
    ],
)
def test_requests_auth_over_the_wire(
    conf_key: rsa.RSAPrivateKey, path: str, params: dict[str, str] | None, target: str
) -> None:
    requests = pytest.importorskip("requests")
    from nuvera_client.requests_auth import NuveraRequestsAuth

    api_key = _ref.random_api_key()
    with capture_server() as srv, requests.Session() as session:
        session.auth = NuveraRequestsAuth(api_key, conf_key)
        resp = session.get(srv.base_url + path, params=params, timeout=10)
        assert resp.status_code == 200
    (req,) = srv.seen
    assert req.target == target
    _check(conf_key, req)


def test_requests_auth_multipart(conf_key: rsa.RSAPrivateKey) -> None:
    requests = pytest.importorskip("requests")
    from nuvera_client.requests_auth import NuveraRequestsAuth

    api_key = _ref.random_api_key()
    with capture_server() as srv, requests.Session() as session:
        session.auth = NuveraRequestsAuth(api_key, conf_key)
        resp = session.post(
            srv.base_url + "/v1/documents",
            data={"customer_id": "cus_1", "type": "passport"},
            files={"file": ("a.pdf", b"%PDF" * 999, "application/pdf")},
            timeout=10,
        )
        assert resp.status_code == 200
    (req,) = srv.seen
    _check(conf_key, req)


def _check(key: rsa.RSAPrivateKey, req: Captured) -> None:
    token = (req.header("authorization") or "").removeprefix("Bearer ")
    payload = json.loads(_ref.b64url_decode(token.split(".")[1]))
    expected = _ref.request_token(
        key,
        method=req.method,
        uri=req.target,
        body=req.body,
        iat=payload["iat"],
        jti=payload["jti"],
    )
    assert token == expected


# --- client policy extras ----------------------------------------------------------

CUSTOMER: dict[str, Any] = {
    "id": "cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
    "object": "customer",
    "type": "individual",
    "name": "Ada",
    "email": "ada@example.com",
    "phone": None,
    "country": None,
    "external_id": None,
    "status": "active",
    "kyc_status": "not_started",
    "metadata": {},
    "created_at": "2026-11-27T21:53:40Z",
    "updated_at": "2026-11-27T21:53:40Z",
}


def test_client_ttl_bounds(conf_key: rsa.RSAPrivateKey) -> None:
    key = _ref.random_api_key()
    for ttl in (0, 61):
        with pytest.raises(errors.ConfigurationError):
            NuveraClient(key, conf_key, base_url="http://127.0.0.1:1", ttl=ttl)
    NuveraClient(key, conf_key, base_url="http://127.0.0.1:1", ttl=60).close()


def test_client_refuses_weak_key() -> None:
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 - must be refused
    with pytest.raises(errors.ConfigurationError):
        NuveraClient(_ref.random_api_key(), weak, base_url="http://127.0.0.1:1")


@pytest.mark.anyio
async def test_async_client_retries_and_user_agent(conf_key: rsa.RSAPrivateKey) -> None:
    import nuvera_client

    def respond(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        if n < 3:
            return 503, {"Retry-After": "0"}, error_body("api_error", "unavailable")
        return 200, {}, json.dumps(CUSTOMER).encode()

    with capture_server(respond) as srv:
        async with AsyncNuveraClient(
            _ref.random_api_key(), conf_key, base_url=srv.base_url
        ) as c:
            await c.customers.retrieve(CUSTOMER["id"])
    assert len(srv.seen) == 3
    assert {r.header("user-agent") for r in srv.seen} == {nuvera_client.USER_AGENT}


def test_dropped_connection_retried(conf_key: rsa.RSAPrivateKey) -> None:
    attempts: list[int] = []

    def respond(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        attempts.append(n)
        if n < 3:
            return 0, {}, b""  # close without an answer
        return 200, {}, json.dumps(CUSTOMER).encode()

    with (
        capture_server(respond) as srv,
        NuveraClient(_ref.random_api_key(), conf_key, base_url=srv.base_url) as c,
    ):
        c.customers.retrieve(CUSTOMER["id"])
    assert attempts == [1, 2, 3]


def test_retry_policy_boundaries() -> None:
    from nuvera_client import _retry

    policy = _retry.RetryPolicy()
    request = httpx.Request("GET", "https://api.nuvera.com/v1/customers")

    def decide(
        status: int,
        retries: int = 0,
        retry_after: str | None = None,
        method: str = "GET",
        key: bool = False,
    ) -> Any:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = json.loads(error_body("api_error", "x"))
        resp = httpx.Response(status, headers=headers, json=body, request=request)
        return policy.decide(
            _retry.RetryState(retries=retries),
            method=method,
            has_idempotency_key=key,
            response=resp,
            now=time.time(),
            max_retries=100,
        )

    assert decide(429, retry_after="60").delay == 60
    assert decide(429, retry_after="61").action is _retry.Action.DONE
    for retries in range(8):
        cap = min(8.0, 0.5 * 2**retries)
        delays = [decide(503, retries).delay for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2
    assert decide(503, method="POST").action is _retry.Action.DONE
    assert decide(503, method="POST", key=True).action is _retry.Action.RETRY
