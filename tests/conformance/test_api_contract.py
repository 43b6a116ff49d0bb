"""PROTOCOL §3.1 idempotency, §6 responses (errors, lists, money), over loopback."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from decimal import Decimal

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.sandbox import Sandbox, SandboxServer
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext

from . import _ref
from .conftest import Caller, FakeClock, assert_error, make_caller

IDEM = "idempotency_error"


def _key() -> str:
    return "idem-" + secrets.token_hex(8)


@pytest.fixture
def payee(caller: Caller) -> dict[str, str]:
    """A customer and an EUR bank-account beneficiary for payments."""
    email = f"{secrets.token_hex(4)}@example.com"
    customer = caller.post_json(
        "/v1/customers", {"type": "individual", "name": "Ada", "email": email}
    )
    assert customer.status == 201, customer.body
    assert isinstance(customer.json_body, dict)
    ben = caller.post_json(
        "/v1/beneficiaries",
        {
            "customer_id": customer.json_body["id"],
            "type": "bank_account",
            "name": "Ada",
            "currency": "EUR",
            "bank_account": {"iban": "DE89370400440532013000"},
        },
    )
    assert ben.status == 201, ben.body
    assert isinstance(ben.json_body, dict)
    return {
        "customer_id": customer.json_body["id"],
        "beneficiary_id": ben.json_body["id"],
    }


def _payment(payee: dict[str, str], amount: str = "10.00") -> dict[str, str]:
    return {**payee, "amount": amount, "currency": "EUR"}


def _idem(key: str) -> list[tuple[str, str]]:
    return [("Idempotency-Key", key)]


# --- §3.1 idempotency ----------------------------------------------------------


def test_payment_without_key_is_422(caller: Caller, payee: dict[str, str]) -> None:
    resp = caller.post_json("/v1/payments", _payment(payee))
    assert_error(resp, 422, "validation_error", "idempotency_key_required")


@pytest.mark.parametrize(
    "key",
    ["", "a" * 256, "has space", "tab\there", "caf\u00e9"],
    ids=["empty", "256", "space", "tab", "non-ascii"],
)
def test_invalid_idempotency_key(
    caller: Caller, payee: dict[str, str], key: str
) -> None:
    headers = [("Idempotency-Key", key)]
    body = json.dumps(_payment(payee)).encode()
    tok = caller.token("POST", "/v1/payments", body)
    sent = [
        ("x-api-key", caller.api_key),
        ("Authorization", f"Bearer {tok}"),
        ("Content-Type", "application/json"),
        *headers,
    ]
    lines = ["POST /v1/payments HTTP/1.1", f"Host: 127.0.0.1:{caller.port}"]
    lines += [f"{k}: {v}" for k, v in sent]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    wire = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
    resp = _send_wire(caller.port, wire)
    assert_error(resp, 422, "validation_error", "invalid_idempotency_key")


def _send_wire(port: int, wire: bytes) -> _ref.RawResponse:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(wire)
        data = b""
        for _ in range(10_000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return _ref._parse_response(data)


def test_idempotency_key_bounds_accepted(caller: Caller, payee: dict[str, str]) -> None:
    for key in ("a" * 255, "!~" + secrets.token_hex(4), "x"):
        resp = caller.post_json("/v1/payments", _payment(payee), headers=_idem(key))
        assert resp.status == 201, resp.body


def test_two_idempotency_key_headers(caller: Caller, payee: dict[str, str]) -> None:
    key = _key()
    resp = caller.post_json(
        "/v1/payments", _payment(payee), headers=[*_idem(key), *_idem(key)]
    )
    assert_error(resp, 422, "validation_error", "invalid_idempotency_key")


def test_idempotency_after_permission(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, ["PAYMENTS_READ"], name="payro")
    resp = c.post_json("/v1/payments", {"amount": "1.00"})
    assert_error(
        resp,
        403,
        "permission_error",
        "permission_denied",
        {"required_permission": "PAYMENTS_WRITE"},
    )
    resp = c.post_json("/v1/payments", {"amount": "1.00"}, headers=_idem(""))
    assert_error(resp, 403, "permission_error", "permission_denied")


def test_replay_returns_the_stored_response(
    caller: Caller, payee: dict[str, str]
) -> None:
    key = _key()
    first = caller.post_json("/v1/payments", _payment(payee), headers=_idem(key))
    assert first.status == 201
    assert first.header("idempotent-replayed") in (None, "false")
    again = caller.post_json("/v1/payments", _payment(payee), headers=_idem(key))
    assert again.status == 201
    assert again.header("idempotent-replayed") == "true"
    assert again.json_body == first.json_body
    assert again.header("x-request-id") != first.header("x-request-id")
    assert again.header("date")
    listed = caller.send("GET", f"/v1/payments?customer_id={payee['customer_id']}")
    assert isinstance(listed.json_body, dict)
    assert len(listed.json_body["data"]) == 1


def test_conflict_on_body(caller: Caller, payee: dict[str, str]) -> None:
    key = _key()
    assert (
        caller.post_json("/v1/payments", _payment(payee), headers=_idem(key)).status
        == 201
    )
    resp = caller.post_json(
        "/v1/payments", _payment(payee, "11.00"), headers=_idem(key)
    )
    assert_error(resp, 409, IDEM, "idempotency_conflict")


def test_conflict_on_uri(caller: Caller, payee: dict[str, str]) -> None:
    key = _key()
    body = {"subject": "Hello", "body": "First"}
    assert (
        caller.post_json("/v1/support/tickets", body, headers=_idem(key)).status == 201
    )
    resp = caller.post_json("/v1/customers", body, headers=_idem(key))
    assert_error(resp, 409, IDEM, "idempotency_conflict")


def test_conflict_on_query(caller: Caller) -> None:
    key = _key()
    body = {"subject": "Hello", "body": "First"}
    assert (
        caller.post_json("/v1/support/tickets", body, headers=_idem(key)).status == 201
    )
    resp = caller.post_json("/v1/support/tickets?x=1", body, headers=_idem(key))
    assert_error(resp, 409, IDEM, "idempotency_conflict")


def test_keys_scoped_to_the_application(
    server: SandboxServer, caller: Caller, other_key: rsa.RSAPrivateKey
) -> None:
    other = make_caller(server, other_key, name="idem-other")
    key = _key()
    body = {"subject": "Hello", "body": "First"}
    first = caller.post_json("/v1/support/tickets", body, headers=_idem(key))
    second = other.post_json("/v1/support/tickets", body, headers=_idem(key))
    assert (first.status, second.status) == (201, 201)
    assert second.header("idempotent-replayed") in (None, "false")
    assert isinstance(first.json_body, dict)
    assert isinstance(second.json_body, dict)
    assert first.json_body["id"] != second.json_body["id"]


def test_optional_key_on_other_posts_replays(caller: Caller) -> None:
    key = _key()
    body = {"type": "individual", "name": "Idem", "email": f"{key}@example.com"}
    first = caller.post_json("/v1/customers", body, headers=_idem(key))
    again = caller.post_json("/v1/customers", body, headers=_idem(key))
    assert (first.status, again.status) == (201, 201)
    assert again.header("idempotent-replayed") == "true"
    assert again.json_body == first.json_body


def test_4xx_responses_are_stored(caller: Caller) -> None:
    key = _key()
    body = {"type": "nope", "name": "", "email": "bad"}
    first = caller.post_json("/v1/customers", body, headers=_idem(key))
    assert_error(first, 422, "validation_error", "validation_failed")
    again = caller.post_json("/v1/customers", body, headers=_idem(key))
    assert again.status == 422
    assert again.header("idempotent-replayed") == "true"


def test_idempotency_kept_24h(
    clocked_server: SandboxServer, clock: FakeClock, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(clocked_server, conf_key)
    key = _key()
    body = {"subject": "Hello", "body": "First"}
    assert c.post_json("/v1/support/tickets", body, headers=_idem(key)).status == 201
    clock.t += 24 * 3600 - 5
    again = c.post_json("/v1/support/tickets", body, headers=_idem(key))
    assert again.header("idempotent-replayed") == "true"
    clock.t += 10
    later = c.post_json(
        "/v1/support/tickets", {**body, "body": "x"}, headers=_idem(key)
    )
    assert later.status == 201, later.body


# --- in-progress and not-stored statuses, with endpoints of our own ---------------


class _Gate:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.status = 201


@pytest.fixture
def gate() -> _Gate:
    return _Gate()


@pytest.fixture
def custom_server(gate: _Gate) -> Iterator[SandboxServer]:
    async def slow(ctx: RequestContext) -> Reply:
        gate.calls += 1
        gate.entered.set()
        for _ in range(200):  # at most ~2 s
            if gate.release.is_set():
                break
            await anyio.sleep(0.01)
        return Reply(status=gate.status, body={"calls": gate.calls})

    endpoints = [Endpoint("POST", "/v1/slow", "SUPPORT_WRITE", slow)]
    with Sandbox(endpoints=endpoints) as sandbox, sandbox.serve(port=0) as srv:
        yield srv


def test_in_progress(
    custom_server: SandboxServer, conf_key: rsa.RSAPrivateKey, gate: _Gate
) -> None:
    c = make_caller(custom_server, conf_key)
    key = _key()
    results: list[_ref.RawResponse] = []
    worker = threading.Thread(
        target=lambda: results.append(c.post_json("/v1/slow", {}, headers=_idem(key)))
    )
    worker.start()
    try:
        assert gate.entered.wait(10)
        resp = c.post_json("/v1/slow", {}, headers=_idem(key))
        assert_error(resp, 409, IDEM, "idempotency_in_progress")
    finally:
        gate.release.set()
        worker.join(10)
    assert results[0].status == 201
    assert gate.calls == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_5xx_and_429_not_stored(
    custom_server: SandboxServer, conf_key: rsa.RSAPrivateKey, gate: _Gate, status: int
) -> None:
    gate.release.set()
    gate.status = status
    c = make_caller(custom_server, conf_key)
    key = _key()
    assert c.post_json("/v1/slow", {}, headers=_idem(key)).status == status
    gate.status = 201
    again = c.post_json("/v1/slow", {}, headers=_idem(key))
    assert again.status == 201
    assert again.header("idempotent-replayed") in (None, "false")
    assert gate.calls == 2


def test_rate_limited_not_stored(conf_key: rsa.RSAPrivateKey) -> None:
    clock = FakeClock(1_800_000_000.0)
    with Sandbox(rate_limit=1, clock=clock) as sandbox, sandbox.serve(port=0) as srv:
        c = make_caller(srv, conf_key)
        key = _key()
        body = {"subject": "Hi", "body": "x"}
        assert c.send("GET", "/v1/support/tickets").status == 200
        limited = c.post_json("/v1/support/tickets", body, headers=_idem(key))
        details = assert_error(limited, 429, "rate_limit_error", "rate_limited")
        retry_after = limited.header("retry-after")
        assert retry_after is not None
        assert retry_after.isdigit()
        assert details.get("retry_after") == int(retry_after)
        clock.t += 5
        again = c.post_json("/v1/support/tickets", body, headers=_idem(key))
        assert again.status == 201, again.body
        assert again.header("idempotent-replayed") in (None, "false")


# --- §6 errors beyond §3 ------------------------------------------------------------


def test_400_invalid_json(caller: Caller) -> None:
    resp = caller.send("POST", "/v1/customers", b"{not json")
    assert_error(resp, 400, "invalid_request_error", "invalid_request")


def test_415_unsupported_media_type(caller: Caller) -> None:
    body = b'{"type":"individual","name":"A","email":"m@example.com"}'
    resp = caller.send("POST", "/v1/customers", body, content_type="text/plain")
    assert_error(resp, 415, "invalid_request_error", "unsupported_media_type")


def test_413_payload_too_large(conf_key: rsa.RSAPrivateKey) -> None:
    with Sandbox(max_body_bytes=1000) as sandbox, sandbox.serve(port=0) as srv:
        c = make_caller(srv, conf_key)
        body = json.dumps({"subject": "x", "body": "y" * 2000}).encode()
        resp = c.send("POST", "/v1/support/tickets", body)
        assert_error(
            resp, 413, "invalid_request_error", "payload_too_large", {"max_bytes": 1000}
        )


def test_422_validation_fields(caller: Caller) -> None:
    resp = caller.post_json("/v1/customers", {"type": "individual", "name": "A"})
    details = assert_error(resp, 422, "validation_error", "validation_failed")
    fields = details["fields"]
    assert isinstance(fields, dict)
    assert "email" in fields
    assert all(isinstance(v, str) for v in fields.values())


def test_404_unknown_object(caller: Caller) -> None:
    resp = caller.send("GET", "/v1/customers/cus_0000000000000000000000")
    assert_error(resp, 404, "not_found_error", "not_found")


def test_every_response_has_request_id_and_date(caller: Caller) -> None:
    for target in ("/v1/customers", "/v1/crypto/assets", "/v1/nothing"):
        resp = caller.send("GET", target)
        assert (resp.header("x-request-id") or "").startswith("req_")
        assert resp.header("date")
    resp = _ref.raw_request(caller.port, "GET", "/v1/customers")
    assert (resp.header("x-request-id") or "").startswith("req_")
    assert resp.header("date")


# --- §6 lists and pagination, §5.1 money ---------------------------------------------


def test_list_pagination(caller: Caller) -> None:
    ids = []
    for n in range(3):
        body = {"subject": f"T{n}", "body": "b"}
        resp = caller.post_json("/v1/support/tickets", body)
        assert isinstance(resp.json_body, dict)
        ids.append(resp.json_body["id"])
    first = caller.send("GET", "/v1/support/tickets?limit=2")
    page = first.json_body
    assert isinstance(page, dict)
    assert set(page) == {"data", "has_more", "next_cursor"}
    assert page["has_more"] is True
    assert isinstance(page["next_cursor"], str)
    second = caller.send(
        "GET", f"/v1/support/tickets?cursor={page['next_cursor']}&limit=2"
    )
    rest = second.json_body
    assert isinstance(rest, dict)
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None
    seen = [t["id"] for t in page["data"]] + [t["id"] for t in rest["data"]]
    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize("limit", ["0", "101", "x", "-1"])
def test_list_limit_bounds(caller: Caller, limit: str) -> None:
    resp = caller.send("GET", f"/v1/customers?limit={limit}")
    assert_error(resp, 422, "validation_error", "validation_failed")


def test_limit_100_accepted(caller: Caller) -> None:
    assert caller.send("GET", "/v1/customers?limit=100").status == 200


def test_money_is_a_decimal_string(caller: Caller, payee: dict[str, str]) -> None:
    resp = caller.post_json(
        "/v1/payments", _payment(payee, "10"), headers=_idem(_key())
    )
    assert resp.status == 201
    assert isinstance(resp.json_body, dict)
    assert resp.json_body["amount"] == "10.00"
    assert b'"amount": 10' not in resp.body
    assert Decimal(resp.json_body["amount"]) == Decimal(10)


def test_money_as_number_is_refused(caller: Caller, payee: dict[str, str]) -> None:
    body = {**payee, "amount": 10.5, "currency": "EUR"}
    resp = caller.post_json("/v1/payments", body, headers=_idem(_key()))
    details = assert_error(resp, 422, "validation_error", "validation_failed")
    assert "amount" in details["fields"]  # type: ignore[operator]


def test_multipart_upload_and_streamed_download(caller: Caller) -> None:
    import hashlib

    import httpx

    email = f"{secrets.token_hex(4)}@example.com"
    customer = caller.post_json(
        "/v1/customers", {"type": "individual", "name": "Doc", "email": email}
    )
    assert isinstance(customer.json_body, dict)
    content = bytes(range(256)) * 300
    built = httpx.Request(
        "POST",
        "http://127.0.0.1/v1/documents",
        data={"customer_id": customer.json_body["id"], "type": "passport"},
        files={"file": ("id.bin", content, "application/octet-stream")},
    )
    body = built.read()
    resp = caller.send(
        "POST", "/v1/documents", body, content_type=built.headers["content-type"]
    )
    assert resp.status == 201, resp.body
    doc = resp.json_body
    assert isinstance(doc, dict)
    assert doc["size"] == len(content)
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()
    got = caller.send("GET", f"/v1/documents/{doc['id']}/content")
    assert got.status == 200
    assert got.body == content
    assert (got.header("x-request-id") or "").startswith("req_")
    assert got.header("date")
    assert got.header("content-length") == str(len(content))
    assert 'filename="id.bin"' in (got.header("content-disposition") or "")


def test_exact_page_has_no_more(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, name="exact-page")
    for n in range(2):
        assert (
            c.post_json("/v1/support/tickets", {"subject": f"E{n}", "body": "b"}).status
            == 201
        )
    page = c.send("GET", "/v1/support/tickets?limit=2").json_body
    assert isinstance(page, dict)
    assert len(page["data"]) == 2
    assert page["has_more"] is False
    assert page["next_cursor"] is None


def test_default_limit_is_10(
    server: SandboxServer, conf_key: rsa.RSAPrivateKey
) -> None:
    c = make_caller(server, conf_key, name="default-limit")
    for n in range(11):
        assert (
            c.post_json("/v1/support/tickets", {"subject": f"D{n}", "body": "b"}).status
            == 201
        )
    page = c.send("GET", "/v1/support/tickets").json_body
    assert isinstance(page, dict)
    assert len(page["data"]) == 10
    assert page["has_more"] is True
