"""NuveraClient / AsyncNuveraClient against httpx.MockTransport (no sockets)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from scripted import API_KEY, BASE, CUSTOMER, DOCUMENT, PAYMENT, TS, Script, Server

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._permissions import InvalidPermissionsError, Permission
from nuvera_client.credentials import Credentials
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    EnvironmentMismatchError,
    InvalidArgumentError,
    NotFoundError,
    NuveraDeprecationWarning,
    PermissionDeniedError,
    PermissionNotGrantedError,
    RateLimitError,
    ServerError,
    SignatureMismatchError,
    ValidationError,
)
from nuvera_client.models import Customer, Payment


def error(status: int, code: str, **details: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {
                "type": "x",
                "code": code,
                "message": f"m {code}",
                "request_id": "req_abc",
                "details": details,
            }
        },
        headers={"x-request-id": "req_abc"},
    )


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json=body, headers={"x-request-id": "req_ok", **headers}
    )


@pytest.fixture
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return keys.private_key_pem(rsa_key)


@pytest.fixture
def make_client(
    rsa_key: rsa.RSAPrivateKey,
) -> Iterator[Callable[..., tuple[NuveraClient, Server, list[float]]]]:
    made: list[NuveraClient] = []

    def make(
        *script: Script, **kwargs: Any
    ) -> tuple[NuveraClient, Server, list[float]]:
        server = Server(*script)
        kwargs.setdefault("base_url", BASE)
        if "credentials" not in kwargs:
            kwargs.setdefault("api_key", API_KEY)
            kwargs.setdefault("private_key", rsa_key)
        client = NuveraClient(
            http_client=httpx.Client(transport=httpx.MockTransport(server)), **kwargs
        )
        sleeps: list[float] = []
        client._sleep = sleeps.append
        made.append(client)
        return client, server, sleeps

    yield make
    for client in made:
        client._http.close()


@pytest.fixture
def make_async(
    rsa_key: rsa.RSAPrivateKey,
) -> Callable[..., tuple[AsyncNuveraClient, Server, list[float]]]:
    def make(
        *script: Script, **kwargs: Any
    ) -> tuple[AsyncNuveraClient, Server, list[float]]:
        server = Server(*script)
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("private_key", rsa_key)
        client = AsyncNuveraClient(
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
            **kwargs,
        )
        sleeps: list[float] = []

        async def sleep(delay: float) -> None:
            sleeps.append(delay)

        client._sleep = sleep
        return client, server, sleeps

    return make


# -- signing and request shape ----------------------------------------------------


def test_request_is_signed(make_client: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    client, server, _ = make_client(ok({"data": [CUSTOMER], "has_more": False}))
    got = client.customers.list(email="a@b.com", limit=10).first_page()
    assert got.data == (Customer.from_dict(CUSTOMER),)
    request = server.requests[0]
    assert request.url.raw_path == b"/v1/customers?email=a%40b.com&limit=10"
    assert request.headers["x-api-key"] == API_KEY.reveal()
    assert request.headers["user-agent"].startswith("nuvera-python/")
    token = request.headers["authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")
    rsa_key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{head}.{payload}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    claims = server.claims(0)
    assert claims["method"] == "GET"
    assert claims["uri"] == "/v1/customers?email=a%40b.com&limit=10"
    assert claims["body_hash"] == hashlib.sha256(b"").hexdigest()


def test_json_body_hashed_and_ids_encoded(make_client: Any) -> None:
    client, server, _ = make_client(ok(CUSTOMER))
    client.customers.update("cus_1/../x", name="Bob", metadata={"a": "b"})
    request = server.requests[0]
    assert request.url.raw_path == b"/v1/customers/cus_1%2F..%2Fx"
    assert json.loads(request.content) == {"name": "Bob", "metadata": {"a": "b"}}
    assert request.headers["content-type"] == "application/json"
    assert server.claims(0)["body_hash"] == hashlib.sha256(request.content).hexdigest()


def test_update_needs_a_field(make_client: Any) -> None:
    client, server, _ = make_client(ok(CUSTOMER))
    with pytest.raises(InvalidArgumentError, match="at least one"):
        client.customers.update("cus_1")
    assert server.requests == []


def test_amount_never_float(make_client: Any) -> None:
    client, server, _ = make_client(ok(PAYMENT, 201))
    with pytest.raises(TypeError, match="float"):
        client.payments.create(
            customer_id="c",
            beneficiary_id="b",
            amount=10.0,
            currency="EUR",
        )
    payment = client.payments.create(
        customer_id="c", beneficiary_id="b", amount=Decimal("10.00"), currency="EUR"
    )
    assert payment.amount == Decimal("10.00")
    assert json.loads(server.requests[0].content)["amount"] == "10.00"


# -- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (error(404, "not_found"), NotFoundError),
        (
            error(422, "validation_failed", fields={"email": "already exists"}),
            ValidationError,
        ),
        (
            error(403, "permission_denied", required_permission="PAYMENTS_WRITE"),
            PermissionDeniedError,
        ),
        (
            error(401, "body_hash_mismatch", expected="a", received="b"),
            SignatureMismatchError,
        ),
        (error(401, "invalid_signature"), AuthenticationError),
        (error(429, "rate_limited"), RateLimitError),
        (error(500, "internal_error"), ServerError),
    ],
)
def test_error_mapping(make_client: Any, response: httpx.Response, cls: type) -> None:
    client, _, _ = make_client(response, max_retries=0)
    with pytest.raises(cls) as info:
        client.customers.retrieve("cus_1")
    err = info.value
    assert isinstance(err, APIError)
    assert err.request_id == "req_abc"
    assert err.status_code == response.status_code
    assert API_KEY.reveal() not in str(err)


def test_error_details(make_client: Any) -> None:
    client, _, _ = make_client(
        error(422, "validation_failed", fields={"email": "already exists"})
    )
    with pytest.raises(ValidationError) as info:
        client.customers.create(type="individual", name="A", email="a@b.c")
    assert info.value.fields == {"email": "already exists"}
    client, _, _ = make_client(
        error(403, "permission_denied", required_permission="PAYMENTS_WRITE")
    )
    with pytest.raises(PermissionDeniedError) as denied:
        client.payments.retrieve("pay_1")
    assert denied.value.required_permission == "PAYMENTS_WRITE"
    assert "needs PAYMENTS_WRITE" in str(denied.value)


def test_unparseable_success_body(make_client: Any) -> None:
    client, _, _ = make_client(httpx.Response(200, content=b"<html>"))
    with pytest.raises(APIError) as info:
        client.customers.retrieve("cus_1")
    assert info.value.code == "invalid_response"


def test_transport_errors_mapped(make_client: Any) -> None:
    client, server, _ = make_client(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        client.customers.retrieve("cus_1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(server.requests) == 3
    client, _, _ = make_client(httpx.ReadTimeout("slow"), max_retries=0)
    with pytest.raises(APITimeoutError):
        client.customers.retrieve("cus_1")


# -- retries and idempotency -------------------------------------------------------


def test_get_retried_with_backoff_and_fresh_jti(make_client: Any) -> None:
    client, server, sleeps = make_client(
        error(503, "unavailable"), error(502, "bad_gateway"), ok(CUSTOMER)
    )
    assert client.customers.retrieve("cus_1").id == "cus_1"
    assert len(server.requests) == 3
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0
    assert len({server.claims(i)["jti"] for i in range(3)}) == 3


def test_retries_exhausted(make_client: Any) -> None:
    client, server, sleeps = make_client(error(500, "internal_error"))
    with pytest.raises(ServerError):
        client.customers.retrieve("cus_1")
    assert len(server.requests) == 3
    assert len(sleeps) == 2


def test_per_call_max_retries(make_client: Any) -> None:
    client, server, _ = make_client(error(500, "internal_error"))
    with pytest.raises(ServerError):
        client.customers.retrieve("cus_1", max_retries=0)
    assert len(server.requests) == 1
    with pytest.raises(ServerError):
        client.customers.retrieve("cus_1", max_retries=4)
    assert len(server.requests) == 1 + 5


def test_retry_after_honoured(make_client: Any) -> None:
    limited = httpx.Response(
        429, json={"error": {"code": "rate_limited"}}, headers={"Retry-After": "7"}
    )
    client, _, sleeps = make_client(limited, ok(CUSTOMER))
    client.customers.retrieve("cus_1")
    assert sleeps == [7.0]
    too_long = httpx.Response(
        429, json={"error": {"code": "rate_limited"}}, headers={"Retry-After": "120"}
    )
    client, server, _ = make_client(too_long, ok(CUSTOMER))
    with pytest.raises(RateLimitError) as info:
        client.customers.retrieve("cus_1")
    assert info.value.retry_after == 120
    assert len(server.requests) == 1


def test_payment_always_has_stable_idempotency_key(make_client: Any) -> None:
    client, server, _ = make_client(
        httpx.ConnectError("reset"), httpx.ReadTimeout("t"), ok(PAYMENT, 201)
    )
    payment = client.payments.create(
        customer_id="cus_1", beneficiary_id="ben_1", amount="10.00", currency="EUR"
    )
    assert payment == Payment.from_dict(PAYMENT)
    assert len(server.requests) == 3
    idem = {r.headers["idempotency-key"] for r in server.requests}
    assert len(idem) == 1
    assert 1 <= len(idem.pop()) <= 255
    assert len({server.claims(i)["jti"] for i in range(3)}) == 3
    assert len({r.content for r in server.requests}) == 1
    # The next logical call gets a new key.
    client.payments.create(
        customer_id="cus_1", beneficiary_id="ben_1", amount="10.00", currency="EUR"
    )
    assert (
        server.requests[3].headers["idempotency-key"]
        != server.requests[0].headers["idempotency-key"]
    )


def test_caller_idempotency_key_kept(make_client: Any) -> None:
    client, server, _ = make_client(error(503, "unavailable"), ok(PAYMENT, 201))
    client.payments.create(
        customer_id="cus_1",
        beneficiary_id="ben_1",
        amount="10.00",
        currency="EUR",
        idempotency_key="order-42",
    )
    assert [r.headers["idempotency-key"] for r in server.requests] == ["order-42"] * 2
    with pytest.raises(TypeError, match="idempotency_key"):
        client.customers.retrieve("cus_1", **{"idempotency_key": "x"})


def test_upload_retried_with_identical_multipart_body(
    make_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "passport.pdf"
    path.write_bytes(b"%PDF-1.7 data" * 1000)
    client, server, _ = make_client(httpx.ConnectError("x"), ok(DOCUMENT, 201))
    client.documents.upload(customer_id="cus_1", type="passport", file=path)
    first, second = server.requests
    assert first.content == second.content
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert server.claims(0)["body_hash"] == server.claims(1)["body_hash"]
    assert server.claims(1)["body_hash"] == hashlib.sha256(second.content).hexdigest()
    assert b'filename="passport.pdf"' in second.content
    assert b"Content-Type: application/pdf" in second.content
    assert b'name="customer_id"\r\n\r\ncus_1' in second.content


class OneShot(io.RawIOBase):
    """A readable, non-seekable stream (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.name = "scan.png"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_upload_non_seekable_file_survives_retry(make_client: Any) -> None:
    data = bytes(range(256)) * 500
    client, server, _ = make_client(error(503, "unavailable"), ok(DOCUMENT, 201))
    client.documents.upload(customer_id="cus_1", type="other", file=OneShot(data))
    assert len(server.requests) == 2
    assert data in server.requests[1].content
    assert server.requests[0].content == server.requests[1].content
    assert b'filename="scan.png"' in server.requests[1].content
    assert b"Content-Type: image/png" in server.requests[1].content


def test_message_attachments_multipart(make_client: Any) -> None:
    message = {
        "id": "msg_1",
        "object": "support_message",
        "ticket_id": "tkt_1",
        "author": "partner",
        "body": "see",
        "attachments": [],
        "created_at": TS,
    }
    client, server, _ = make_client(ok(message, 201))
    client.support.tickets.messages.create(
        "tkt_1", body="see", attachments=[b"one", io.BytesIO(b"two")]
    )
    content = server.requests[0].content
    assert content.count(b'name="attachments"') == 2
    assert b'name="body"\r\n\r\nsee' in content
    client.support.tickets.messages.create("tkt_1", body="plain")
    assert json.loads(server.requests[1].content) == {"body": "plain"}


# -- clock skew and credential rotation --------------------------------------------


@pytest.mark.parametrize("skew", [300, -300])
def test_clock_skew_learned_and_kept(make_client: Any, skew: int) -> None:
    code = "token_not_yet_valid" if skew < 0 else "token_expired"

    def refuse(request: httpx.Request) -> httpx.Response:
        return error(401, code, server_time=int(time.time()) + skew)

    client, server, sleeps = make_client(refuse, ok(PAYMENT, 201), ok(PAYMENT))
    client.payments.create(
        customer_id="c", beneficiary_id="b", amount="1.00", currency="EUR"
    )
    assert sleeps == []
    assert client.auth.clock_offset == pytest.approx(skew, abs=2)
    assert server.claims(1)["iat"] - server.claims(0)["iat"] == pytest.approx(
        skew, abs=2
    )
    assert server.claims(0)["jti"] != server.claims(1)["jti"]
    client.payments.retrieve("pay_1")
    assert server.claims(2)["iat"] - int(time.time()) == pytest.approx(skew, abs=2)


def test_clock_skew_retried_once_only(make_client: Any) -> None:
    client, server, _ = make_client(
        error(401, "token_expired", server_time=int(time.time()) + 100)
    )
    with pytest.raises(AuthenticationError):
        client.customers.retrieve("cus_1")
    assert len(server.requests) == 2


def test_credential_provider_refreshed_once(
    make_client: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    new_key = ApiKey.generate("test")

    class Provider:
        def __init__(self) -> None:
            self.gets = 0
            self.refreshes = 0

        def get(self) -> Credentials:
            self.gets += 1
            return Credentials(API_KEY, rsa_key)

        def refresh(self) -> Credentials:
            self.refreshes += 1
            time.sleep(0.05)  # let other threads pile up behind the refresh
            return Credentials(new_key, rsa_key)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["x-api-key"] == API_KEY.reveal():
            return error(401, "api_key_revoked")
        return ok(CUSTOMER)

    provider = Provider()
    client, _, _ = make_client(answer, credentials=provider)
    assert provider.gets == 1
    failures: list[BaseException] = []

    def work() -> None:
        try:
            client.customers.retrieve("cus_1")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert provider.refreshes == 1
    assert client.auth.api_key == new_key


def test_callable_credentials(make_client: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    keys_given = [API_KEY, ApiKey.generate("test")]
    calls: list[int] = []

    def source() -> Credentials:
        calls.append(1)
        return Credentials(keys_given[min(len(calls) - 1, 1)], rsa_key)

    client, server, _ = make_client(
        error(401, "unknown_signing_key"), ok(CUSTOMER), credentials=source
    )
    client.customers.retrieve("cus_1")
    assert len(calls) == 2
    assert server.requests[1].headers["x-api-key"] == keys_given[1].reveal()


def test_no_provider_no_refresh(make_client: Any) -> None:
    client, server, _ = make_client(error(401, "api_key_revoked"))
    with pytest.raises(AuthenticationError):
        client.customers.retrieve("cus_1")
    assert len(server.requests) == 1


def test_rotate_credentials(
    make_client: Any, rsa_keys: dict[int, rsa.RSAPrivateKey]
) -> None:
    client, server, _ = make_client(ok(CUSTOMER))
    new_key = ApiKey.generate("test")
    client.rotate_credentials(api_key=new_key, private_key=rsa_keys[3072])
    client.customers.retrieve("cus_1")
    assert server.requests[0].headers["x-api-key"] == new_key.reveal()
    assert client.auth.kid == keys.kid_of(rsa_keys[3072])
    with pytest.raises(EnvironmentMismatchError):
        client.rotate_credentials(api_key=ApiKey.generate("live"))


def test_credentials_and_keys_exclusive(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="either"):
        NuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            credentials=lambda: Credentials(API_KEY, rsa_key),
        )


# -- permissions ---------------------------------------------------------------------


def test_permission_not_granted_before_traffic(make_client: Any) -> None:
    client, server, _ = make_client(ok(CUSTOMER), permissions=["CUSTOMERS_READ"])
    with pytest.raises(PermissionNotGrantedError) as info:
        client.payments.create(
            customer_id="c", beneficiary_id="b", amount="1", currency="EUR"
        )
    assert info.value.required_permission == "PAYMENTS_WRITE"
    with pytest.raises(PermissionNotGrantedError):
        client.payments.list()  # refused at list(), not at iteration
    with pytest.raises(PermissionNotGrantedError):
        client.documents.download("doc_1")
    assert server.requests == []
    client.customers.retrieve("cus_1")
    assert client.permissions_used == {Permission.CUSTOMERS_READ}


def test_invalid_permission_set(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidPermissionsError):
        NuveraClient(API_KEY, rsa_key, base_url=BASE, permissions=["PAYMENTS_WRITE"])


def test_permissions_used_and_recorded(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "perms.txt"
    monkeypatch.setenv("NUVERA_RECORD_PERMISSIONS_FILE", str(record))
    client, _, _ = make_client(ok(CUSTOMER))
    client.customers.retrieve("cus_1")
    client.customers.retrieve("cus_2")
    client.customers.update("cus_1", name="B")
    with pytest.raises(APIError):
        client.crypto.assets.retrieve("BTC")  # needs CRYPTO_READ even if it fails
    assert client.permissions_used == {
        Permission.CUSTOMERS_READ,
        Permission.CUSTOMERS_WRITE,
        Permission.CRYPTO_READ,
    }
    assert record.read_text().splitlines() == [
        "CUSTOMERS_READ",
        "CUSTOMERS_WRITE",
        "CRYPTO_READ",
    ]


# -- downloads ---------------------------------------------------------------------


def test_download_stream_and_download_to(make_client: Any, tmp_path: Path) -> None:
    data = b"x" * 300_000
    client, server, _ = make_client(
        httpx.Response(200, content=data, headers={"content-type": "application/pdf"})
    )
    assert client.documents.download("doc_1") == data
    with client.documents.stream("doc_1") as chunks:
        got = list(chunks)
    assert b"".join(got) == data
    assert len(got) > 1
    target = client.documents.download_to("doc_1", tmp_path / "out.pdf")
    assert target.read_bytes() == data
    assert server.requests[0].url.path == "/v1/documents/doc_1/content"


def test_stream_error_raises_typed(make_client: Any) -> None:
    client, _, _ = make_client(error(404, "not_found"))
    with pytest.raises(NotFoundError), client.documents.stream("doc_x") as chunks:
        list(chunks)


# -- lifecycle signals, logging, secrets --------------------------------------------


def test_deprecation_warned_once_per_endpoint(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, _, _ = make_client(
        ok(CUSTOMER, Deprecation="true", Sunset="Wed, 01 Jul 2026 00:00:00 GMT")
    )
    with pytest.warns(
        NuveraDeprecationWarning, match=r"GET /v1/customers/\{id\}.*01 Jul 2026"
    ):
        client.customers.retrieve("cus_1")
    assert "01 Jul 2026" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.customers.retrieve("cus_2")  # same endpoint: silent
    with pytest.warns(NuveraDeprecationWarning, match="PATCH"):
        client.customers.update("cus_1", name="x")


def test_debug_log_without_secrets(
    make_client: Any, caplog: pytest.LogCaptureFixture, pem: str
) -> None:
    client, _, _ = make_client(error(503, "unavailable"), ok(CUSTOMER))
    with caplog.at_level(logging.DEBUG, logger="nuvera_client"):
        client.customers.retrieve("cus_1")
    text = caplog.text
    assert "GET /v1/customers/cus_1 -> 503 request_id=req_abc attempt=1" in text
    assert "GET /v1/customers/cus_1 -> 200 request_id=req_ok attempt=2" in text
    assert API_KEY.reveal() not in text
    assert "Bearer" not in text
    assert "eyJ" not in text


def test_no_secret_in_repr(make_client: Any) -> None:
    client, _, _ = make_client(ok(CUSTOMER))
    text = repr(client) + repr(client.auth) + str(client.__dict__)
    assert API_KEY.reveal() not in text
    assert "PRIVATE KEY" not in text


def test_close_owned_but_not_given_http_client(rsa_key: rsa.RSAPrivateKey) -> None:
    given = httpx.Client(transport=httpx.MockTransport(Server(ok(CUSTOMER))))
    with NuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=given) as client:
        client.customers.retrieve("cus_1")
    assert not given.is_closed
    given.close()
    own = NuveraClient(API_KEY, rsa_key, base_url=BASE)
    own.close()
    assert own._http.is_closed


def test_environment_checks_in_client(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(EnvironmentMismatchError):
        NuveraClient(ApiKey.generate("live"), rsa_key, base_url=BASE)
    client = NuveraClient(ApiKey.generate("live"), rsa_key)
    assert str(client.base_url) == "https://api.nuvera.com"
    client.close()


def test_env_variables(monkeypatch: pytest.MonkeyPatch, pem: str) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", API_KEY.reveal())
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem)
    monkeypatch.setenv("NUVERA_BASE_URL", "http://localhost:8787")
    with NuveraClient() as client:
        assert client.auth.api_key == API_KEY
        assert client.base_url.host == "localhost"


# -- async twin ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_retry_and_idempotency(make_async: Any) -> None:
    client, server, sleeps = make_async(
        httpx.ConnectError("x"), error(503, "unavailable"), ok(PAYMENT, 201)
    )
    async with client:
        payment = await client.payments.create(
            customer_id="c", beneficiary_id="b", amount="10.00", currency="EUR"
        )
    assert payment.id == "pay_1"
    assert len(sleeps) == 2
    assert len({r.headers["idempotency-key"] for r in server.requests}) == 1
    assert len({server.claims(i)["jti"] for i in range(3)}) == 3


@pytest.mark.anyio
async def test_async_skew_pages_stream(make_async: Any) -> None:
    pages = [
        ok({"data": [CUSTOMER], "has_more": True, "next_cursor": "c2"}),
        ok(
            {
                "data": [dict(CUSTOMER, id="cus_2")],
                "has_more": False,
                "next_cursor": None,
            }
        ),
    ]
    skew = error(401, "token_expired", server_time=int(time.time()) + 300)
    client, server, _ = make_async(skew, *pages, httpx.Response(200, content=b"abc"))
    ids = [c.id async for c in client.customers.list(limit=1)]
    assert ids == ["cus_1", "cus_2"]
    assert client.auth.clock_offset == pytest.approx(300, abs=2)
    assert server.requests[2].url.params["cursor"] == "c2"
    async with client.documents.stream("doc_1") as chunks:
        assert b"".join([c async for c in chunks]) == b"abc"
    await client.aclose()


@pytest.mark.anyio
async def test_async_permissions_and_errors(make_async: Any) -> None:
    client, server, _ = make_async(error(404, "not_found"), permissions=["CRYPTO_READ"])
    with pytest.raises(PermissionNotGrantedError):
        client.customers.list()
    with pytest.raises(PermissionNotGrantedError):
        await client.customers.retrieve("cus_1")
    with pytest.raises(NotFoundError):
        await client.crypto.assets.retrieve("XYZ")
    assert len(server.requests) == 1
    assert client.permissions_used == {Permission.CRYPTO_READ}
    await client.aclose()


@pytest.mark.anyio
async def test_async_upload_non_seekable(make_async: Any) -> None:
    data = b"abc" * 10_000
    client, server, _ = make_async(error(500, "internal_error"), ok(DOCUMENT, 201))
    await client.documents.upload(customer_id="c", type="other", file=OneShot(data))
    assert server.requests[0].content == server.requests[1].content
    assert data in server.requests[1].content
    await client.aclose()


@pytest.mark.anyio
async def test_async_concurrent_requests_distinct_jti(make_async: Any) -> None:
    import anyio

    client, server, _ = make_async(ok(CUSTOMER))
    async with anyio.create_task_group() as group:
        for _ in range(200):
            group.start_soon(client.customers.retrieve, "cus_1")
    assert len(server.requests) == 200
    assert len({server.claims(i)["jti"] for i in range(200)}) == 200
    await client.aclose()


@pytest.mark.anyio
async def test_async_signing_error_propagates(make_async: Any) -> None:
    client, server, _ = make_async(ok(CUSTOMER))

    class Broken:
        def public_key(self) -> rsa.RSAPublicKey:
            public: rsa.RSAPublicKey = client.auth.signer._public
            return public

        def sign(self, data: bytes) -> bytes:
            raise RuntimeError("HSM unavailable")

    client.rotate_credentials(private_key=Broken())
    with pytest.raises(RuntimeError, match="HSM unavailable"):
        await client.customers.retrieve("cus_1")
    assert server.requests == []
    await client.aclose()


@pytest.mark.anyio
async def test_async_signing_cancellation(make_async: Any) -> None:
    import anyio

    client, _, _ = make_async(ok(CUSTOMER))
    with anyio.move_on_after(0):
        await client.customers.retrieve("cus_1")
    # The pool survives a cancelled waiter.
    assert (await client.customers.retrieve("cus_1")).id == "cus_1"
    await client.aclose()


def test_download_to_leaves_no_partial_file(make_client: Any, tmp_path: Path) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b"first chunk"
            raise httpx.ReadError("connection reset mid-body")

    client, _, _ = make_client(httpx.Response(200, stream=Broken()))
    with pytest.raises(APIConnectionError):
        client.documents.download_to("doc_1", tmp_path / "out.bin")
    assert list(tmp_path.iterdir()) == []


def test_deprecation_warning_points_at_caller(make_client: Any) -> None:
    client, _, _ = make_client(ok(CUSTOMER, Sunset="Wed, 01 Jul 2026 00:00:00 GMT"))
    with pytest.warns(NuveraDeprecationWarning) as record:
        client.customers.retrieve("cus_1")
    assert record[0].filename == __file__


class PollingProvider:
    """A caching provider: ``generation`` grows when its source is read again."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.generation = 1
        self.gets = 0
        self.due = False

    def needs_fetch(self) -> bool:
        return self.due

    def get(self) -> Credentials:
        self.gets += 1
        return self.creds

    def refresh(self) -> Credentials:
        return self.creds


def test_caching_provider_polled_before_each_call(
    make_client: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    provider = PollingProvider(Credentials(API_KEY, rsa_key))
    client, server, _ = make_client(ok(CUSTOMER), credentials=provider)
    client.customers.retrieve("cus_1")
    new_key = ApiKey.generate("test")
    provider.creds = Credentials(new_key, rsa_key)  # the interval passed: new read
    client.customers.retrieve("cus_1")
    assert server.requests[0].headers["x-api-key"] == API_KEY.reveal()
    assert server.requests[1].headers["x-api-key"] == new_key.reveal()
    assert provider.gets == 3  # once at start, once per call


def test_plain_callable_not_polled(
    make_client: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    calls: list[int] = []

    def source() -> Credentials:
        calls.append(1)
        return Credentials(API_KEY, rsa_key)

    client, _, _ = make_client(ok(CUSTOMER), credentials=source)
    for _ in range(3):
        client.customers.retrieve("cus_1")
    assert calls == [1]


@pytest.mark.anyio
async def test_async_caching_provider_polled(
    make_async: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    provider = PollingProvider(Credentials(API_KEY, rsa_key))
    client, server, _ = make_async(
        ok(CUSTOMER), credentials=provider, api_key=None, private_key=None
    )
    new_key = ApiKey.generate("test")
    provider.creds = Credentials(new_key, rsa_key)
    provider.due = True  # fetched in a worker thread
    await client.customers.retrieve("cus_1")
    assert server.requests[0].headers["x-api-key"] == new_key.reveal()
    await client.aclose()


def test_deprecation_warning_visible_by_default() -> None:
    assert issubclass(NuveraDeprecationWarning, UserWarning)
    assert not issubclass(NuveraDeprecationWarning, DeprecationWarning)


def test_base_url_with_path_prefix(make_client: Any) -> None:
    client, server, _ = make_client(ok(CUSTOMER), base_url=BASE + "/gateway/")
    client.customers.retrieve("cus_1")
    assert server.requests[0].url.raw_path == b"/gateway/v1/customers/cus_1"
    assert server.claims(0)["uri"] == "/gateway/v1/customers/cus_1"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_invalid_idempotency_key_refused_locally(make_client: Any, key: str) -> None:
    client, server, _ = make_client(ok(PAYMENT, 201))
    with pytest.raises(InvalidArgumentError, match="idempotency_key"):
        client.payments.create(
            customer_id="c",
            beneficiary_id="b",
            amount="1",
            currency="EUR",
            idempotency_key=key,
        )
    assert server.requests == []


def test_non_transport_httpx_error_wrapped(make_client: Any) -> None:
    client, server, _ = make_client(
        lambda request: httpx.Response(
            200,
            headers={"content-encoding": "gzip"},
            stream=httpx.ByteStream(b"not gzip"),
        )
    )
    with pytest.raises(APIConnectionError) as info:
        client.customers.retrieve("cus_1")
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert len(server.requests) == 1  # not retried


def test_async_auth_outside_asyncio_falls_back(rsa_key: rsa.RSAPrivateKey) -> None:
    """Without a running asyncio loop (e.g. trio) signing uses anyio's threads."""
    import asyncio
    from unittest import mock

    auth = NuveraAuth(API_KEY, rsa_key)
    request = httpx.Request("GET", BASE + "/v1/customers")

    async def sign() -> httpx.Request:
        flow = auth.async_auth_flow(request)
        signed = await flow.__anext__()
        await flow.aclose()
        return signed

    real = anyio.to_thread.run_sync
    with (
        mock.patch("nuvera_client._signing_pool._running_loop", return_value=None),
        mock.patch("anyio.to_thread.run_sync", side_effect=real) as fallback,
    ):
        signed = asyncio.run(sign())
    assert signed.headers["authorization"].startswith("Bearer ")
    assert fallback.call_count == 1


def test_permissions_used_leaves_out_refused_calls(make_client: Any) -> None:
    refused = httpx.Response(
        403,
        json={
            "error": {
                "type": "permission_error",
                "code": "permission_denied",
                "message": "lacks CRYPTO_READ",
                "request_id": "req_1",
                "details": {"required_permission": "CRYPTO_READ"},
            }
        },
    )
    client, _, _ = make_client(refused)
    with pytest.raises(APIError):
        client.crypto.assets.retrieve("BTC")
    assert client.permissions_used == frozenset()
