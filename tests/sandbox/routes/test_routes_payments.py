"""Payments: validation, Decimal amounts, the timed status machine, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nuvera_client.sandbox._routes.payments import check_amount

from .conftest import Api

pytestmark = pytest.mark.anyio


async def setup(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = await api.customer()
    beneficiary = await api.bank_beneficiary(customer["id"])
    return customer, beneficiary


def pay_body(
    customer: dict[str, Any], beneficiary: dict[str, Any], **changes: Any
) -> Any:
    return {
        "customer_id": customer["id"],
        "beneficiary_id": beneficiary["id"],
        "amount": "1250.00",
        "currency": beneficiary["currency"],
        **changes,
    }


async def test_create_payment(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    customer, beneficiary = await setup(api)
    result = await api.post(
        "/v1/payments",
        pay_body(customer, beneficiary, reference="INV-1", metadata={"order": "7"}),
    )
    assert result.status == 201
    body = result.body
    assert body["id"].startswith("pay_")
    assert body["object"] == "payment"
    assert body["status"] == "created"
    assert body["amount"] == "1250.00"
    assert body["reference"] == "INV-1"
    assert body["description"] is None
    assert body["failure_reason"] is None
    assert body["metadata"] == {"order": "7"}
    openapi_schema(body, "Payment")


async def test_status_machine_follows_the_clock(api: Api) -> None:
    customer, beneficiary = await setup(api)
    created = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    target = f"/v1/payments/{created['id']}"
    api.advance(1.9)
    assert (await api.get(target)).body["status"] == "created"
    api.advance(0.1)
    processing = (await api.get(target)).body
    assert processing["status"] == "processing"
    assert processing["updated_at"] == "2026-11-27T21:53:42Z"
    api.advance(2.9)
    assert (await api.get(target)).body["status"] == "processing"
    api.advance(0.1)
    done = (await api.get(target)).body
    assert done["status"] == "completed"
    assert done["failure_reason"] is None
    assert done["updated_at"] == "2026-11-27T21:53:45Z"
    api.advance(3600)
    assert (await api.get(target)).body == done


async def test_a_late_first_read_jumps_straight_to_final(api: Api) -> None:
    customer, beneficiary = await setup(api)
    created = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    api.advance(60)
    final = (await api.get(f"/v1/payments/{created['id']}")).body
    assert final["status"] == "completed"
    assert final["updated_at"] == "2026-11-27T21:53:45Z"


async def test_amount_13_13_fails_with_insufficient_funds(api: Api) -> None:
    customer, beneficiary = await setup(api)
    created = (
        await api.post("/v1/payments", pay_body(customer, beneficiary, amount="13.13"))
    ).body
    api.advance(5)
    failed = (await api.get(f"/v1/payments/{created['id']}")).body
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "insufficient_funds"


async def test_cancel_only_while_created(api: Api) -> None:
    customer, beneficiary = await setup(api)
    first = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    api.advance(1)
    canceled = await api.post(f"/v1/payments/{first['id']}/cancel")
    assert canceled.status == 200
    assert canceled.body["status"] == "canceled"
    assert canceled.body["updated_at"] == "2026-11-27T21:53:41Z"
    api.advance(10)
    # A canceled payment never progresses.
    assert (await api.get(f"/v1/payments/{first['id']}")).body["status"] == "canceled"
    again = await api.post(f"/v1/payments/{first['id']}/cancel")
    assert again.status == 409
    assert again.error["type"] == "invalid_request_error"
    assert again.error["code"] == "invalid_state"
    assert again.error["details"] == {"status": "canceled"}

    second = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    api.advance(2)
    late = await api.post(f"/v1/payments/{second['id']}/cancel", {})
    assert late.status == 409
    assert late.error["details"] == {"status": "processing"}
    assert (await api.post("/v1/payments/pay_nothing/cancel")).status == 404


async def test_cancel_body_must_be_empty(api: Api) -> None:
    customer, beneficiary = await setup(api)
    payment = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    result = await api.post(f"/v1/payments/{payment['id']}/cancel", {"reason": "x"})
    assert result.fields == {"reason": "unknown field"}
    wrong_type = await api.request(
        "POST",
        f"/v1/payments/{payment['id']}/cancel",
        content=b"x",
        content_type="text/plain",
    )
    assert wrong_type.status == 415


async def test_list_filters_use_current_status(api: Api) -> None:
    customer, beneficiary = await setup(api)
    other, other_beneficiary = await setup(api)
    old = (await api.post("/v1/payments", pay_body(customer, beneficiary))).body
    api.advance(3)
    new = (await api.post("/v1/payments", pay_body(other, other_beneficiary))).body
    everything = await api.get("/v1/payments")
    assert [p["id"] for p in everything.body["data"]] == [new["id"], old["id"]]
    processing = await api.get("/v1/payments?status=processing")
    assert [p["id"] for p in processing.body["data"]] == [old["id"]]
    created = await api.get("/v1/payments?status=created")
    assert [p["id"] for p in created.body["data"]] == [new["id"]]
    mine = await api.get(f"/v1/payments?customer_id={customer['id']}")
    assert [p["id"] for p in mine.body["data"]] == [old["id"]]
    assert (await api.get("/v1/payments?status=done")).status == 422


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"amount": 12.5},
            {"amount": 'must be a decimal string such as "1250.00", not a number'},
        ),
        ({"amount": "0"}, {"amount": "must be greater than 0"}),
        ({"amount": "0.00"}, {"amount": "must be greater than 0"}),
        ({"amount": "-5.00"}, {"amount": 'must be a decimal string such as "1250.00"'}),
        ({"amount": "1e3"}, {"amount": 'must be a decimal string such as "1250.00"'}),
        ({"amount": "1,50"}, {"amount": 'must be a decimal string such as "1250.00"'}),
        ({"amount": "10.001"}, {"amount": "must have at most 2 decimals"}),
        ({"amount": "1234567890123456789"}, {"amount": "must have at most 18 digits"}),
        (
            {"currency": "USD"},
            {"currency": "must equal the beneficiary's currency EUR"},
        ),
        ({"currency": "XXX"}, {"currency": "unknown currency XXX"}),
        ({"customer_id": "cus_nobody"}, {"customer_id": "no such customer"}),
        ({"beneficiary_id": "ben_nobody"}, {"beneficiary_id": "no such beneficiary"}),
        ({"reference": "r" * 141}, {"reference": "must be at most 140 characters"}),
        ({"description": "d" * 501}, {"description": "must be at most 500 characters"}),
        ({"fee": "1.00"}, {"fee": "unknown field"}),
    ],
)
async def test_create_validation(
    api: Api, changes: dict[str, Any], fields: dict[str, str]
) -> None:
    customer, beneficiary = await setup(api)
    result = await api.post("/v1/payments", pay_body(customer, beneficiary, **changes))
    assert result.status == 422
    assert result.fields == fields
    assert (await api.get("/v1/payments")).body["data"] == []


async def test_required_fields(api: Api) -> None:
    result = await api.post("/v1/payments", {})
    assert result.fields == {
        "customer_id": "required",
        "beneficiary_id": "required",
        "amount": "required",
        "currency": "required",
    }


async def test_amount_is_checked_even_without_currency(api: Api) -> None:
    result = await api.post("/v1/payments", {"amount": "-1"})
    assert result.fields["amount"] == 'must be a decimal string such as "1250.00"'
    assert result.fields["currency"] == "required"
    unknown = await api.post("/v1/payments", {"amount": "0", "currency": "ZZZ"})
    assert unknown.fields["amount"] == "must be greater than 0"
    assert unknown.fields["currency"] == "unknown currency ZZZ"


async def test_beneficiary_rules(api: Api) -> None:
    customer, beneficiary = await setup(api)
    stranger, strangers_beneficiary = await setup(api)
    other_owner = await api.post(
        "/v1/payments", pay_body(customer, strangers_beneficiary)
    )
    assert other_owner.fields == {"beneficiary_id": "belongs to another customer"}
    await api.patch(f"/v1/beneficiaries/{beneficiary['id']}", {"status": "disabled"})
    disabled = await api.post("/v1/payments", pay_body(customer, beneficiary))
    assert disabled.fields == {"beneficiary_id": "beneficiary is disabled"}
    await api.delete(f"/v1/beneficiaries/{strangers_beneficiary['id']}")
    deleted = await api.post("/v1/payments", pay_body(stranger, strangers_beneficiary))
    assert deleted.fields == {"beneficiary_id": "no such beneficiary"}
    await api.patch(f"/v1/customers/{stranger['id']}", {"status": "suspended"})
    fresh = await api.bank_beneficiary(stranger["id"])
    suspended = await api.post("/v1/payments", pay_body(stranger, fresh))
    assert suspended.fields == {"customer_id": "customer is suspended"}


async def test_fiat_amounts_get_minor_units_and_crypto_keeps_digits(api: Api) -> None:
    customer, beneficiary = await setup(api)
    fiat = await api.post("/v1/payments", pay_body(customer, beneficiary, amount="10"))
    assert fiat.body["amount"] == "10.00"
    wallet = await api.post(
        "/v1/beneficiaries",
        {
            "customer_id": customer["id"],
            "type": "crypto_wallet",
            "name": "W",
            "currency": "BTC",
            "crypto_wallet": {
                "asset": "BTC",
                "network": "bitcoin",
                "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            },
        },
    )
    crypto = await api.post(
        "/v1/payments", pay_body(customer, wallet.body, amount="0.00012345")
    )
    assert crypto.status == 201
    assert crypto.body["amount"] == "0.00012345"
    too_fine = await api.post(
        "/v1/payments", pay_body(customer, wallet.body, amount="0.000000001")
    )
    assert too_fine.fields == {"amount": "must have at most 8 decimals"}


def test_check_amount_uses_decimal_not_float() -> None:
    # 0.1 + 0.2 style inputs stay exact; trailing zeros beyond the limit are fine.
    assert check_amount("0.30", 2) == ("0.30", None)
    assert check_amount("5.000", 2) == ("5.000", None)
    assert check_amount("13.13", 2) == ("13.13", None)
    assert check_amount("00001.5", 2) == ("00001.5", None)
    assert check_amount("999999999999999999", 0) == ("999999999999999999", None)
    assert check_amount("1.5", 0)[1] == "must have at most 0 decimals"


async def test_jpy_has_no_minor_units(api: Api) -> None:
    customer = await api.customer()
    beneficiary = await api.bank_beneficiary(customer["id"], currency="JPY")
    ok = await api.post("/v1/payments", pay_body(customer, beneficiary, amount="1500"))
    assert ok.body["amount"] == "1500"
    refused = await api.post(
        "/v1/payments", pay_body(customer, beneficiary, amount="1.5")
    )
    assert refused.fields == {"amount": "must have at most 0 decimals"}
