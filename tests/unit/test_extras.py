"""extra_headers / extra_query / extra_body: sent, signed, and refused when unsafe."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, CUSTOMER, DOCUMENT, PAYMENT, Script, Server

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import APIConnectionError, InvalidArgumentError


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body, headers={"x-request-id": "req_ok"})


@pytest.fixture
def make_client(
    rsa_key: rsa.RSAPrivateKey,
) -> Iterator[Callable[..., tuple[NuveraClient, Server]]]:
    made: list[NuveraClient] = []

    def make(*script: Script, **kwargs: Any) -> tuple[NuveraClient, Server]:
        server = Server(*script)
        client = NuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            http_client=httpx.Client(transport=httpx.MockTransport(server)),
            **kwargs,
        )
        client._sleep = lambda _: None
        made.append(client)
        return client, server

    yield make
    for client in made:
        client._http.close()


def test_extras_are_sent_and_signed(make_client: Any) -> None:
    client, server = make_client(ok(PAYMENT))
    client.payments.create(
        customer_id="cus_1",
        beneficiary_id="ben_1",
        amount="10.00",
        currency="EUR",
        extra_headers={"X-Partner-Trace": "t-1"},
        extra_query={"expand": "customer", "version": 2},
        extra_body={"purpose_code": "SALA", "currency": "USD"},
    )
    request = server.requests[0]
    assert request.headers["x-partner-trace"] == "t-1"
    assert request.url.raw_path == b"/v1/payments?expand=customer&version=2"
    body = json.loads(request.content)
    assert body["purpose_code"] == "SALA"
    assert body["currency"] == "USD"  # extra_body wins over the SDK's field
    assert body["amount"] == "10.00"
    claims = server.claims(0)
    assert claims["uri"] == "/v1/payments?expand=customer&version=2"
    assert claims["body_hash"] == hashlib.sha256(request.content).hexdigest()


def test_extra_query_on_every_page(make_client: Any) -> None:
    client, server = make_client(
        ok({"data": [CUSTOMER], "has_more": True, "next_cursor": "c2"}),
        ok({"data": [CUSTOMER], "has_more": False, "next_cursor": None}),
    )
    items = list(client.customers.list(limit=1, extra_query={"region": "eu"}))
    assert len(items) == 2
    assert [r.url.raw_path for r in server.requests] == [
        b"/v1/customers?limit=1&region=eu",
        b"/v1/customers?limit=1&cursor=c2&region=eu",
    ]
    assert server.claims(1)["uri"] == "/v1/customers?limit=1&cursor=c2&region=eu"


def test_extra_body_on_bodyless_post_and_multipart(make_client: Any) -> None:
    client, server = make_client(ok(PAYMENT), ok(DOCUMENT))
    client.payments.cancel("pay_1", extra_body={"reason": "duplicate"})
    assert json.loads(server.requests[0].content) == {"reason": "duplicate"}
    assert server.requests[0].headers["content-type"] == "application/json"
    client.documents.upload(
        customer_id="cus_1",
        type="passport",
        file=b"abc",
        extra_body={"issuing_country": "DE"},
    )
    upload = server.requests[1]
    assert b'name="issuing_country"\r\n\r\nDE\r\n' in upload.content
    assert server.claims(1)["body_hash"] == hashlib.sha256(upload.content).hexdigest()


@pytest.mark.parametrize(
    "name",
    [
        "x-api-key",
        "Authorization",
        "Idempotency-Key",
        "User-Agent",
        "Content-Type",
        "content-length",
        "Accept-Encoding",
        "Host",
    ],
)
def test_protected_headers_refused(make_client: Any, name: str) -> None:
    client, server = make_client(ok(CUSTOMER))
    with pytest.raises(InvalidArgumentError, match=name.lower()):
        client.customers.retrieve("cus_1", extra_headers={name: "sneaky-value"})
    with pytest.raises(InvalidArgumentError):
        client.customers.list(extra_headers={name: "x"})
    assert server.requests == []


def test_bad_extras_refused_before_sending(make_client: Any) -> None:
    client, server = make_client(ok(CUSTOMER))
    with pytest.raises(InvalidArgumentError, match="limit="):
        client.customers.list(limit=5, extra_query={"limit": 7})
    with pytest.raises(InvalidArgumentError, match="cursor="):
        client.customers.list(extra_query={"cursor": "c"})
    with pytest.raises(InvalidArgumentError, match="POST and PATCH"):
        client.customers.retrieve("cus_1", extra_body={"a": 1})
    with pytest.raises(InvalidArgumentError) as info:
        client.customers.retrieve("cus_1", extra_headers={"x-a": "v\r\nx: secret"})
    assert "secret" not in str(info.value)
    with pytest.raises(InvalidArgumentError):
        client.customers.retrieve("cus_1", extra_headers={"bad name": "v"})
    with pytest.raises(InvalidArgumentError):
        client.customers.retrieve("cus_1", extra_query={"flag": True})
    with pytest.raises(TypeError):
        client.customers.update("cus_1", name="A", extra_body={"amount": 1.5})
    assert server.requests == []


@pytest.mark.anyio
async def test_async_extras(rsa_key: rsa.RSAPrivateKey) -> None:
    server = Server(ok({"data": [PAYMENT], "has_more": False}), ok(PAYMENT))
    async with AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    ) as client:
        page = await client.payments.list(extra_headers={"x-trace": "a"})
        assert len(page.data) == 1
        await client.payments.retrieve("pay_1", extra_query={"expand": "all"})
        with pytest.raises(InvalidArgumentError):
            await client.payments.retrieve(
                "pay_1", extra_headers={"authorization": "Bearer x"}
            )
    assert server.requests[0].headers["x-trace"] == "a"
    assert server.claims(1)["uri"] == "/v1/payments/pay_1?expand=all"


def test_connection_error_names_the_url_without_query(make_client: Any) -> None:
    client, _ = make_client(httpx.ConnectError("refused"), max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.customers.list(email="secret@example.com").first_page()
    text = str(info.value)
    assert "http://127.0.0.1:8787/v1/customers" in text
    assert "secret" not in text
    assert "NUVERA_BASE_URL" in text
