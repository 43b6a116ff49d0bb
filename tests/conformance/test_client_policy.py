"""PROTOCOL §2 User-Agent, §4 clock skew, §4.1 retries, §7 base URLs: the client."""

from __future__ import annotations

import contextlib
import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import nuvera_client
from nuvera_client import AsyncNuveraClient, NuveraClient, errors
from nuvera_client.sandbox import SandboxServer

from . import _ref
from ._capture import Captured, CaptureServer, capture_server, error_body
from .conftest import public_pem, release_key

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
PAYMENT: dict[str, Any] = {
    "id": "pay_3kT9wQ2mZ8bX5vL1nR7pY4cD",
    "object": "payment",
    "customer_id": "cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
    "beneficiary_id": "ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
    "amount": "1250.00",
    "currency": "EUR",
    "status": "created",
    "reference": None,
    "description": None,
    "failure_reason": None,
    "metadata": {},
    "created_at": "2026-11-27T21:53:40Z",
    "updated_at": "2026-11-27T21:53:40Z",
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "idempotency_error",
    422: "validation_error",
    429: "rate_limit_error",
}


def _script(
    statuses: list[int | tuple[int, dict[str, str]]], ok: dict[str, Any]
) -> Any:
    """A responder answering attempt n with statuses[n-1], then ``ok``."""

    def respond(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        if n > len(statuses):
            return (201 if req.method == "POST" else 200), {}, json.dumps(ok).encode()
        item = statuses[n - 1]
        status, headers = item if isinstance(item, tuple) else (item, {})
        kind = ERROR_TYPES.get(status, "api_error")
        code = {429: "rate_limited", 503: "unavailable"}.get(status, "internal_error")
        if status < 500 and status != 429:
            code = "invalid_request"
        details: dict[str, object] = {}
        if status == 429 and "Retry-After" in headers:
            details["retry_after"] = int(headers["Retry-After"])
        return status, headers, error_body(kind, code, **details)

    return respond


@pytest.fixture
def api_key() -> str:
    return _ref.random_api_key("test")


def _client(
    srv: CaptureServer, key: rsa.RSAPrivateKey, api_key: str, **kw: Any
) -> NuveraClient:
    return NuveraClient(api_key, key, base_url=srv.base_url, **kw)


def _tokens(seen: list[Captured]) -> list[dict[str, Any]]:
    out = []
    for req in seen:
        token = (req.header("authorization") or "").split(" ", 1)[1]
        out.append(json.loads(_ref.b64url_decode(token.split(".")[1])))
    return out


# --- §2 headers ---------------------------------------------------------------------


def test_user_agent_and_headers_on_the_wire(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    with (
        capture_server(_script([], CUSTOMER)) as srv,
        _client(srv, conf_key, api_key) as c,
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    (req,) = srv.seen
    assert req.header("user-agent") == nuvera_client.USER_AGENT
    ua = nuvera_client.USER_AGENT.split(" ")
    assert [p.split("/")[0] for p in ua] == ["nuvera-python", "python", "httpx"]
    assert req.header("x-api-key") == api_key
    assert req.target == "/v1/customers/cus_3kT9wQ2mZ8bX5vL1nR7pY4cD"
    payload = _tokens(srv.seen)[0]
    assert payload["uri"] == req.target
    assert payload["exp"] - payload["iat"] == 30


def test_list_query_is_signed_as_sent(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    page = {"data": [], "has_more": False, "next_cursor": None}
    with capture_server(_script([], page)) as srv, _client(srv, conf_key, api_key) as c:
        list(c.customers.list(email="a+b@x.com", limit=10))
    (req,) = srv.seen
    assert "%40" in req.target
    assert "a+b" not in req.target  # '+' in a value must be encoded
    assert _tokens(srv.seen)[0]["uri"] == req.target


def test_money_sent_as_string(conf_key: rsa.RSAPrivateKey, api_key: str) -> None:
    with (
        capture_server(_script([], PAYMENT)) as srv,
        _client(srv, conf_key, api_key) as c,
    ):
        payment = c.payments.create(
            customer_id=PAYMENT["customer_id"],
            beneficiary_id=PAYMENT["beneficiary_id"],
            amount=Decimal("1250.00"),
            currency="EUR",
        )
    (req,) = srv.seen
    assert json.loads(req.body)["amount"] == "1250.00"
    assert payment.amount == Decimal("1250.00")
    assert isinstance(payment.amount, Decimal)
    key = req.header("idempotency-key")
    assert key is not None
    assert 1 <= len(key) <= 255
    assert all(0x21 <= ord(ch) <= 0x7E for ch in key)


# --- §4.1 retries -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_retried_on(conf_key: rsa.RSAPrivateKey, api_key: str, status: int) -> None:
    script = _script([(status, {"Retry-After": "0"})] * 2, CUSTOMER)
    with capture_server(script) as srv, _client(srv, conf_key, api_key) as c:
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 3
    jtis = [t["jti"] for t in _tokens(srv.seen)]
    assert len(set(jtis)) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 501, 505])
def test_not_retried_on(conf_key: rsa.RSAPrivateKey, api_key: str, status: int) -> None:
    with (
        capture_server(_script([status] * 3, CUSTOMER)) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(errors.APIError),
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 1


def test_default_two_retries_then_error(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    script = _script([(503, {"Retry-After": "0"})] * 5, CUSTOMER)
    with (
        capture_server(script) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(errors.ServerError),
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 3


def test_max_retries_zero(conf_key: rsa.RSAPrivateKey, api_key: str) -> None:
    script = _script([(503, {"Retry-After": "0"})] * 5, CUSTOMER)
    with (
        capture_server(script) as srv,
        _client(srv, conf_key, api_key, max_retries=0) as c,
        pytest.raises(errors.ServerError),
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 1


def test_backoff_bounds_without_retry_after(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    with (
        capture_server(_script([503, 503], CUSTOMER)) as srv,
        _client(srv, conf_key, api_key) as c,
    ):
        start = time.monotonic()
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
        elapsed = time.monotonic() - start
    assert len(srv.seen) == 3
    # min(8, 0.5 * 2^attempt), full jitter: two retries wait at most 0.5*2 + 0.5*4 s.
    assert elapsed < 3.0 + 1.0


def test_retry_after_is_honoured(conf_key: rsa.RSAPrivateKey, api_key: str) -> None:
    script = _script([(429, {"Retry-After": "1"})], CUSTOMER)
    with capture_server(script) as srv, _client(srv, conf_key, api_key) as c:
        start = time.monotonic()
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
        elapsed = time.monotonic() - start
    assert len(srv.seen) == 2
    assert elapsed >= 0.95


def test_retry_after_over_60_not_retried(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    script = _script([(429, {"Retry-After": "61"})] * 3, CUSTOMER)
    with (
        capture_server(script) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(errors.RateLimitError) as info,
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 1
    assert info.value.retry_after == 61


def test_post_without_idempotency_key_not_retried(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    script = _script([(503, {"Retry-After": "0"})] * 3, CUSTOMER)
    with (
        capture_server(script) as srv,
        _client(srv, conf_key, api_key) as c,
        contextlib.suppress(errors.ServerError),
    ):
        c.customers.create(type="individual", name="Ada", email="ada@example.com")
    keys = [r.header("idempotency-key") for r in srv.seen]
    if keys[0] is None:
        assert len(srv.seen) == 1
    else:
        assert len(srv.seen) == 3
        assert len(set(keys)) == 1


def test_payment_retried_with_same_key_new_jti(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    script = _script(
        [(503, {"Retry-After": "0"}), (500, {"Retry-After": "0"})], PAYMENT
    )
    with capture_server(script) as srv, _client(srv, conf_key, api_key) as c:
        c.payments.create(
            customer_id="cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
            beneficiary_id="ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
            amount=Decimal("10.00"),
            currency="EUR",
            idempotency_key="order-42",
        )
    assert len(srv.seen) == 3
    assert {r.header("idempotency-key") for r in srv.seen} == {"order-42"}
    assert len({t["jti"] for t in _tokens(srv.seen)}) == 3
    assert len({r.body for r in srv.seen}) == 1


@pytest.mark.parametrize("method", ["update", "delete"])
def test_patch_and_delete_retried(
    conf_key: rsa.RSAPrivateKey, api_key: str, method: str
) -> None:
    ben = {
        "id": "ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
        "object": "beneficiary",
        "deleted": True,
        "customer_id": "cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
        "type": "bank_account",
        "name": "X",
        "currency": "EUR",
        "bank_account": {
            "iban": "DE89370400440532013000",
            "bic": None,
            "bank_name": None,
            "country": "DE",
        },
        "crypto_wallet": None,
        "status": "active",
        "metadata": {},
        "created_at": "2026-11-27T21:53:40Z",
        "updated_at": "2026-11-27T21:53:40Z",
    }
    if method == "delete":
        ben = {"id": ben["id"], "object": "beneficiary", "deleted": True}
    script = _script([(502, {"Retry-After": "0"})], ben)
    with capture_server(script) as srv, _client(srv, conf_key, api_key) as c:
        if method == "update":
            c.beneficiaries.update("ben_8Hq2LmN4pR6sT9vW1xY3zA5b", name="X")
        else:
            c.beneficiaries.delete("ben_8Hq2LmN4pR6sT9vW1xY3zA5b")
    assert len(srv.seen) == 2


def test_connection_errors_retried_then_raised(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with NuveraClient(api_key, conf_key, base_url=f"http://127.0.0.1:{port}") as c:
        start = time.monotonic()
        with pytest.raises(errors.APIConnectionError) as info:
            c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert not isinstance(info.value, errors.APIError)
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert time.monotonic() - start < 5


def test_timeouts_retried_then_raised(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    def slow(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.6)
        return 200, {}, json.dumps(CUSTOMER).encode()

    with capture_server(slow) as srv, _client(srv, conf_key, api_key, timeout=0.2) as c:
        with pytest.raises(errors.APITimeoutError):
            c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
        time.sleep(0.7 * 3)
    assert len(srv.seen) == 3


# --- §4 clock skew ------------------------------------------------------------------


def _sandbox_client(
    server: SandboxServer, key: rsa.RSAPrivateKey, http: httpx.Client
) -> tuple[NuveraClient, list[str]]:
    release_key(server.sandbox, key)
    app = server.sandbox.create_application(
        name="skew",
        permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
        public_key_pem=public_pem(key),
    )
    seen: list[str] = []

    def hook(resp: httpx.Response) -> None:
        seen.append(str(resp.status_code))

    http.event_hooks["response"] = [hook]
    return NuveraClient(
        app.api_key, key, base_url=server.base_url, http_client=http
    ), seen


@pytest.mark.parametrize("offset", [300, -300])
def test_skew_learned_retried_once_and_kept(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey, offset: int
) -> None:
    server.sandbox.clock_offset = offset
    try:
        http = httpx.Client()
        client, seen = _sandbox_client(server, conf_key, http)
        with http, client:
            list(client.customers.list())
            assert seen == ["401", "200"]
            list(client.customers.list())
            client.customers.create(
                type="individual", name="S", email=f"s{offset}@e.com"
            )
            assert seen == ["401", "200", "200", "201"]
            assert abs(client.auth.clock_offset - offset) <= 2
    finally:
        server.sandbox.clock_offset = 0


def test_skew_retried_only_once(conf_key: rsa.RSAPrivateKey, api_key: str) -> None:
    # Two hours ahead: offsets beyond ±24 h are not learned (docs/spec/decisions.md).
    server_time = int(time.time()) + 7200

    def expired(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        body = error_body(
            "authentication_error", "token_expired", server_time=server_time
        )
        return 401, {}, body

    with (
        capture_server(expired) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(errors.AuthenticationError),
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert len(srv.seen) == 2
    first, second = _tokens(srv.seen)
    assert first["jti"] != second["jti"]
    assert abs(second["iat"] - server_time) <= 2


@pytest.mark.anyio
async def test_async_skew(server: SandboxServer, conf_key: rsa.RSAPrivateKey) -> None:
    server.sandbox.clock_offset = -200
    try:
        release_key(server.sandbox, conf_key)
        app = server.sandbox.create_application(
            name="askew",
            permissions=["CUSTOMERS_READ"],
            public_key_pem=public_pem(conf_key),
        )
        async with AsyncNuveraClient(
            app.api_key, conf_key, base_url=server.base_url
        ) as c:
            page = c.customers.list()
            items = [x async for x in page]
            assert items == []
            assert abs(c.auth.clock_offset + 200) <= 2
    finally:
        server.sandbox.clock_offset = 0


# --- §7 base URLs --------------------------------------------------------------------


@pytest.fixture
def keys() -> dict[str, str]:
    return {"live": _ref.random_api_key("live"), "test": _ref.random_api_key("test")}


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ("live", "https://api.sandbox.nuvera.com"),
        ("live", "https://api.sandbox.nuvera.com/"),
        ("live", "http://127.0.0.1:8787"),
        ("live", "http://127.9.8.7:8787"),
        ("live", "http://localhost:8787"),
        ("live", "http://[::1]:8787"),
        ("live", "https://localhost"),
        ("live", "https://API.SANDBOX.NUVERA.COM"),
        ("test", "https://api.nuvera.com"),
        ("test", "https://api.nuvera.com/"),
        ("test", "https://api.nuvera.com:443"),
        ("test", "https://API.Nuvera.com"),
        ("test", "http://example.com"),
        ("live", "http://proxy.partner.example"),
        ("test", "http://10.0.0.1:8787"),
        ("test", "http://128.0.0.1"),
    ],
)
def test_base_url_refused(
    conf_key: rsa.RSAPrivateKey, keys: dict[str, str], env: str, url: str
) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        NuveraClient(keys[env], conf_key, base_url=url)
    assert keys[env] not in str(info.value)


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ("live", "https://api.nuvera.com"),
        ("test", "https://api.sandbox.nuvera.com"),
        ("test", "http://127.0.0.1:8787"),
        ("test", "http://127.255.0.9:1"),
        ("test", "http://localhost:8787"),
        ("test", "http://[::1]:8787"),
        ("live", "https://egress.partner.example"),
        ("test", "https://egress.partner.example"),
        ("live", "https://proxy.partner.example/nuvera"),
    ],
)
def test_base_url_accepted(
    conf_key: rsa.RSAPrivateKey, keys: dict[str, str], env: str, url: str
) -> None:
    NuveraClient(keys[env], conf_key, base_url=url).close()


@pytest.mark.parametrize(
    ("env", "url"),
    [("live", "https://api.nuvera.com"), ("test", "https://api.sandbox.nuvera.com")],
)
def test_default_base_url_follows_key(
    conf_key: rsa.RSAPrivateKey, keys: dict[str, str], env: str, url: str
) -> None:
    with NuveraClient(keys[env], conf_key) as c:
        assert str(c.base_url).rstrip("/") == url


def test_invalid_key_refused_before_io(conf_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(errors.InvalidApiKeyError):
        NuveraClient("nvk_test_short", conf_key, base_url="http://127.0.0.1:1")


def test_unknown_key_server_says_invalid(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    with (
        NuveraClient(
            _ref.random_api_key("test"), conf_key, base_url=server.base_url
        ) as c,
        pytest.raises(errors.AuthenticationError) as info,
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    assert info.value.code == "invalid_api_key"
    assert info.value.status_code == 401
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_")


# --- raw targets the client builds -----------------------------------------------


def test_base_url_path_prefix_is_signed(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    with (
        capture_server(_script([], CUSTOMER)) as srv,
        NuveraClient(api_key, conf_key, base_url=srv.base_url + "/nuvera") as c,
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    (req,) = srv.seen
    assert req.target == "/nuvera/v1/customers/cus_3kT9wQ2mZ8bX5vL1nR7pY4cD"
    assert _tokens(srv.seen)[0]["uri"] == req.target


def test_odd_ids_are_encoded_and_signed_as_sent(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    with (
        capture_server(_script([404], CUSTOMER)) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(errors.NotFoundError),
    ):
        c.customers.retrieve("cus_a/b?c#d é")
    (req,) = srv.seen
    assert req.target.startswith("/v1/customers/")
    assert req.target.count("/") == 3
    assert "?" not in req.target
    assert "#" not in req.target
    assert req.target.isascii()
    assert _tokens(srv.seen)[0]["uri"] == req.target


def test_pagination_cursor_round_trip(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    pages = [
        {"data": [CUSTOMER], "has_more": True, "next_cursor": "c+/= &x"},
        {"data": [CUSTOMER], "has_more": False, "next_cursor": None},
    ]

    def respond(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, json.dumps(pages[min(n, 2) - 1]).encode()

    with capture_server(respond) as srv, _client(srv, conf_key, api_key) as c:
        items = list(c.customers.list(limit=1))
    assert len(items) == 2
    assert len(srv.seen) == 2
    second = srv.seen[1].target
    assert "cursor=c%2B%2F%3D%20%26x" in second or "cursor=c%2B%2F%3D+%26x" in second
    assert "limit=1" in second
    assert [t["uri"] for t in _tokens(srv.seen)] == [r.target for r in srv.seen]


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ("test", "https://api.nuvera.com./"),
        ("live", "https://api.sandbox.nuvera.com."),
    ],
)
def test_base_url_spelling_variants_refused(
    conf_key: rsa.RSAPrivateKey, keys: dict[str, str], env: str, url: str
) -> None:
    with pytest.raises(errors.ConfigurationError):
        NuveraClient(keys[env], conf_key, base_url=url).close()


# --- §6 errors as the client reports them -------------------------------------------

ERRORS = [
    (
        401,
        "authentication_error",
        "uri_mismatch",
        {"expected": "/v1/a", "received": "/v1/b"},
        errors.AuthenticationError,
    ),
    (
        403,
        "permission_error",
        "permission_denied",
        {"required_permission": "PAYMENTS_WRITE"},
        errors.PermissionDeniedError,
    ),
    (404, "not_found_error", "not_found", {}, errors.NotFoundError),
    (
        405,
        "invalid_request_error",
        "method_not_allowed",
        {"allowed_methods": ["GET"]},
        errors.APIError,
    ),
    (
        409,
        "idempotency_error",
        "idempotency_conflict",
        {},
        errors.IdempotencyConflictError,
    ),
    (
        413,
        "invalid_request_error",
        "payload_too_large",
        {"max_bytes": 10},
        errors.APIError,
    ),
    (415, "invalid_request_error", "unsupported_media_type", {}, errors.APIError),
    (
        422,
        "validation_error",
        "validation_failed",
        {"fields": {"email": "required"}},
        errors.ValidationError,
    ),
    (400, "invalid_request_error", "invalid_request", {}, errors.APIError),
]


@pytest.mark.parametrize(
    ("status", "type_", "code", "details", "cls"), ERRORS, ids=[e[2] for e in ERRORS]
)
def test_errors_keep_the_section_6_fields(
    conf_key: rsa.RSAPrivateKey,
    api_key: str,
    status: int,
    type_: str,
    code: str,
    details: dict[str, object],
    cls: type[errors.APIError],
) -> None:
    def respond(req: Captured, n: int) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(error_body(type_, code, **details))
        body["error"]["request_id"] = "req_abc123"
        return status, {}, json.dumps(body).encode()

    with (
        capture_server(respond) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises(cls) as info,
    ):
        c.customers.retrieve("cus_3kT9wQ2mZ8bX5vL1nR7pY4cD")
    err = info.value
    assert (err.status_code, err.type, err.code) == (status, type_, code)
    assert err.request_id == "req_abc123"
    assert err.details == details
    assert "req_abc123" in str(err)
    assert code in str(err)
    assert api_key not in str(err) + repr(err)
    if status == 422:
        assert err.fields == {"email": "required"}  # type: ignore[attr-defined]
    if status == 403:
        assert err.required_permission == "PAYMENTS_WRITE"  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "caf\u00e9", "tab\t"])
def test_client_refuses_bad_idempotency_keys_before_io(
    conf_key: rsa.RSAPrivateKey, api_key: str, key: str
) -> None:
    with (
        capture_server(_script([], PAYMENT)) as srv,
        _client(srv, conf_key, api_key) as c,
        pytest.raises((errors.NuveraError, ValueError)),
    ):
        c.payments.create(
            customer_id=PAYMENT["customer_id"],
            beneficiary_id=PAYMENT["beneficiary_id"],
            amount=Decimal("1.00"),
            currency="EUR",
            idempotency_key=key,
        )
    assert srv.seen == []


def test_client_accepts_255_char_idempotency_key(
    conf_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    key = "!" + "~" * 253 + "x"
    with (
        capture_server(_script([], PAYMENT)) as srv,
        _client(srv, conf_key, api_key) as c,
    ):
        c.payments.create(
            customer_id=PAYMENT["customer_id"],
            beneficiary_id=PAYMENT["beneficiary_id"],
            amount=Decimal("1.00"),
            currency="EUR",
            idempotency_key=key,
        )
    assert srv.seen[0].header("idempotency-key") == key
