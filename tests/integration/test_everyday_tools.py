"""Against the sandbox: extra_* signed, raw responses and request ids, payments.wait."""

from __future__ import annotations

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import ValidationError, WaitTimeoutError
from nuvera_client.models import PaymentStatus

IBAN = "DE89370400440532013000"


def _payment(client: NuveraClient) -> str:
    ada = client.customers.create(type="individual", name="Ada", email="a@example.com")
    bank = client.beneficiaries.create(
        customer_id=ada.id,
        type="bank_account",
        name="Ada EUR",
        currency="EUR",
        bank_account={"iban": IBAN, "bic": None, "bank_name": "Bank"},
    )
    return client.payments.create(
        customer_id=ada.id, beneficiary_id=bank.id, amount="5", currency="EUR"
    ).id


def test_extras_pass_the_servers_signature_checks(client: NuveraClient) -> None:
    # The sandbox verifies uri and body_hash (§3 checks 17-18): extras are signed.
    created = client.customers.create(
        type="individual",
        name="Ada",
        email="ada@example.com",
        extra_headers={"x-partner-trace": "t-1"},
        extra_body={"external_id": "ext-1"},
    )
    assert created.external_id == "ext-1"
    page = client.customers.list(
        limit=5, extra_query={"external_id": "ext-1"}
    ).first_page()
    assert [c.id for c in page.data] == [created.id]
    # A parameter the sandbox does not know: refused by validation, i.e. after the
    # signature checks passed (an unsigned parameter would be uri_mismatch, 401).
    with pytest.raises(ValidationError) as info:
        client.customers.retrieve(created.id, extra_query={"expand": "none"})
    assert "expand" in info.value.fields


def test_request_ids_and_raw_responses(client: NuveraClient) -> None:
    created = client.customers.create(type="individual", name="B", email="b@x.com")
    assert created.request_id is not None
    assert created.request_id.startswith("req_")
    raw = client.with_raw_response.customers.retrieve(created.id)
    assert raw.status_code == 200
    assert raw.request_id == raw.headers["x-request-id"] != created.request_id
    assert "date" in raw.headers
    assert raw.parse() == created
    assert raw.parse().request_id == raw.request_id
    listed = client.with_raw_response.customers.list(limit=5)
    assert listed.parse().request_id == listed.request_id


def test_wait_returns_a_final_status_and_times_out(client: NuveraClient) -> None:
    payment_id = _payment(client)
    with pytest.raises(WaitTimeoutError) as info:
        client.payments.wait(
            payment_id, until={"processing"}, timeout=0.3, poll_interval=0.1
        )
    assert info.value.last is not None
    client.payments.cancel(payment_id)
    done = client.payments.wait(payment_id, timeout=5)
    assert done.status is PaymentStatus.CANCELED


@pytest.mark.anyio
async def test_async_everyday_tools(async_client: AsyncNuveraClient) -> None:
    created = await async_client.customers.create(
        type="individual", name="C", email="c@x.com", extra_body={"external_id": "e2"}
    )
    assert created.external_id == "e2"
    raw = await async_client.with_raw_response.customers.retrieve(
        created.id, extra_headers={"x-trace": "1"}
    )
    assert raw.parse() == created
    assert raw.request_id is not None
