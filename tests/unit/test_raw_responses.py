"""request_id on results; client.with_raw_response.<area>.<method>(...)."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, CUSTOMER, PAYMENT, Script, Server

from nuvera_client import RawResponse
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import NotFoundError
from nuvera_client.models import Customer, Payment


def ok(body: Any, request_id: str = "req_1", **headers: str) -> httpx.Response:
    return httpx.Response(
        200, json=body, headers={"x-request-id": request_id, **headers}
    )


def page(*items: Any, cursor: str | None = None) -> dict[str, Any]:
    return {"data": list(items), "has_more": cursor is not None, "next_cursor": cursor}


@pytest.fixture
def make_client(
    rsa_key: rsa.RSAPrivateKey,
) -> Iterator[Callable[..., tuple[NuveraClient, Server]]]:
    made: list[NuveraClient] = []

    def make(*script: Script) -> tuple[NuveraClient, Server]:
        server = Server(*script)
        client = NuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            http_client=httpx.Client(transport=httpx.MockTransport(server)),
        )
        client._sleep = lambda _: None
        made.append(client)
        return client, server

    yield make
    for client in made:
        client._http.close()


def test_models_carry_the_request_id_without_changing_equality(
    make_client: Any,
) -> None:
    client, _ = make_client(ok(CUSTOMER, "req_a"), ok(CUSTOMER, "req_b"))
    first = client.customers.retrieve("cus_1")
    second = client.customers.retrieve("cus_1")
    assert (first.request_id, second.request_id) == ("req_a", "req_b")
    assert first == second == Customer.from_dict(CUSTOMER)
    assert Customer.from_dict(CUSTOMER).request_id is None
    assert "req_a" not in repr(first)
    assert first.to_dict() == CUSTOMER
    assert "request_id" not in first.to_record()
    assert pickle.loads(pickle.dumps(first)).request_id == "req_a"  # noqa: S301
    assert dataclasses.replace(first, name="B").request_id is None


def test_pages_and_their_items_carry_the_request_id(make_client: Any) -> None:
    client, _ = make_client(
        ok(page(CUSTOMER, cursor="c2"), "req_p1"), ok(page(CUSTOMER), "req_p2")
    )
    first = client.customers.list().first_page()
    assert first.request_id == "req_p1"
    assert first.data[0].request_id == "req_p1"
    second = first.next_page()
    assert second is not None
    assert second.request_id == "req_p2"


def test_raw_response_of_a_method(make_client: Any) -> None:
    client, server = make_client(ok(PAYMENT, "req_raw", **{"x-extra": "1"}))
    raw = client.with_raw_response.payments.retrieve("pay_1")
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["x-extra"] == "1"
    assert raw.request_id == "req_raw"
    assert raw.url.path == "/v1/payments/pay_1"
    payment = raw.parse()
    assert isinstance(payment, Payment)
    assert payment == raw.data == Payment.from_dict(PAYMENT)
    assert payment.request_id == "req_raw"
    assert b'"pay_1"' in raw.content
    assert len(server.requests) == 1
    assert "req_raw" in repr(raw)


def test_raw_response_of_a_list_nested_area_and_retries(make_client: Any) -> None:
    client, server = make_client(
        httpx.Response(503, headers={"x-request-id": "req_503"}),
        ok(page(CUSTOMER), "req_after_retry"),
        ok(page(), "req_assets"),
    )
    with pytest.raises(AttributeError, match="raw response"):
        client.with_raw_response.documents.stream  # noqa: B018
    assert client.with_raw_response.payments.create.__name__ == "create"
    raw = client.with_raw_response.customers.list(limit=1)
    assert raw.request_id == "req_after_retry"  # the final attempt's answer
    assert raw.parse().cursor is None
    assert raw.parse().data == (Customer.from_dict(CUSTOMER),)
    assert len(server.requests) == 2
    assets = client.with_raw_response.crypto.assets.list()
    assert assets.request_id == "req_assets"
    assert assets.parse().data == ()
    assert server.requests[2].url.path == "/v1/crypto/assets"


def test_raw_response_errors_raise_as_usual(make_client: Any) -> None:
    client, _ = make_client(
        httpx.Response(
            404,
            json={
                "error": {
                    "type": "not_found_error",
                    "code": "not_found",
                    "message": "no",
                    "request_id": "req_404",
                    "details": {},
                }
            },
            headers={"x-request-id": "req_404"},
        )
    )
    with pytest.raises(NotFoundError) as info:
        client.with_raw_response.customers.retrieve("cus_x")
    assert info.value.request_id == "req_404"


@pytest.mark.anyio
async def test_async_raw_response_and_request_ids(rsa_key: rsa.RSAPrivateKey) -> None:
    server = Server(
        ok(PAYMENT, "req_1"),
        ok(page(PAYMENT), "req_2"),
        ok(PAYMENT, "req_4"),
    )
    async with AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    ) as client:
        raw = await client.with_raw_response.payments.retrieve("pay_1")
        assert raw.request_id == "req_1"
        assert raw.parse().request_id == "req_1"
        raw_page = await client.with_raw_response.payments.list()
        assert raw_page.request_id == "req_2"
        assert raw_page.parse().request_id == "req_2"
        assert len(raw_page.parse().data) == 1
        plain = await client.payments.retrieve("pay_1")
        assert plain.request_id == "req_4"
        with pytest.raises(AttributeError):
            client.with_raw_response.documents.download_to  # noqa: B018
