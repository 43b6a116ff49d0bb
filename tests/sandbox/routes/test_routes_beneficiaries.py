"""Beneficiaries: IBAN/BIC bank accounts, crypto wallets, list, update, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nuvera_client.sandbox._routes._banking import (
    IBAN_LENGTHS,
    iban_checksum_ok,
    iban_problem,
)

from .conftest import Api

pytestmark = pytest.mark.anyio

VALID_IBANS = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "BE68539007547034",
    "CH9300762011623852957",
    "NO9386011117947",
    "AT611904300234573201",
    "PL61109010140000071219812874",
]
EVM = "0x52908400098527886E0F7030069857D2E4169EE7"
ADDRESSES = {
    "bitcoin": [
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ],
    "ethereum": [EVM],
    "solana": ["9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"],
    "tron": ["TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"],
}


def bank_body(owner: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": owner,
        "type": "bank_account",
        "name": "Charles Babbage",
        "currency": "EUR",
        "bank_account": {"iban": "DE89370400440532013000"},
    }
    body.update(changes)
    return body


def wallet_body(customer_id: str, **wallet: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "type": "crypto_wallet",
        "name": "Cold wallet",
        "currency": wallet.get("asset", "USDC"),
        "crypto_wallet": {
            "asset": "USDC",
            "network": "ethereum",
            "address": EVM,
            **wallet,
        },
    }


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_known_good_ibans_pass(iban: str) -> None:
    assert len(iban) == IBAN_LENGTHS[iban[:2]]
    assert iban_checksum_ok(iban)
    assert iban_problem(iban) is None


def test_iban_problems() -> None:
    assert iban_problem("DE89370400440532013001") == "invalid IBAN checksum"
    assert iban_problem("DE8937040044053201300") == (
        "a DE IBAN has 22 characters, this one has 21"
    )
    assert iban_problem("ZZ89370400440532013000") == "IBANs from ZZ are not supported"
    assert "must be an IBAN" in str(iban_problem("1234567890123456"))


async def test_create_bank_account(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    customer = await api.customer()
    result = await api.post(
        "/v1/beneficiaries",
        bank_body(
            customer["id"],
            bank_account={
                "iban": "gb82 west 1234 5698 7654 32",
                "bic": "NWBKGB2L",
                "bank_name": "NatWest",
            },
            currency="GBP",
            metadata={"ref": "1"},
        ),
    )
    assert result.status == 201, result.body
    body = result.body
    assert body["id"].startswith("ben_")
    assert body["object"] == "beneficiary"
    assert body["bank_account"] == {
        "iban": "GB82WEST12345698765432",
        "bic": "NWBKGB2L",
        "bank_name": "NatWest",
        "country": "GB",
    }
    assert body["crypto_wallet"] is None
    assert body["status"] == "active"
    assert body["metadata"] == {"ref": "1"}
    openapi_schema(body, "Beneficiary")


async def test_bank_account_optional_parts_are_null(api: Api) -> None:
    customer = await api.customer()
    result = await api.post("/v1/beneficiaries", bank_body(customer["id"]))
    assert result.body["bank_account"] == {
        "iban": "DE89370400440532013000",
        "bic": None,
        "bank_name": None,
        "country": "DE",
    }


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"bank_account": {"iban": "DE89370400440532013001"}},
            {"bank_account.iban": "invalid IBAN checksum"},
        ),
        (
            {"bank_account": {"iban": "DE89 3704 0044 0532 0130 0"}},
            {"bank_account.iban": "a DE IBAN has 22 characters, this one has 21"},
        ),
        (
            {"bank_account": {"iban": "DE89370400440532013000", "bic": "COBADE"}},
            {"bank_account.bic": "must be a BIC: 8 or 11 uppercase letters and digits"},
        ),
        (
            {"bank_account": {"iban": "DE89370400440532013000", "bic": "cobadeff"}},
            {"bank_account.bic": "must be a BIC: 8 or 11 uppercase letters and digits"},
        ),
        (
            {"bank_account": {"iban": "DE89370400440532013000", "branch": "x"}},
            {"bank_account.branch": "unknown field"},
        ),
        ({"bank_account": {}}, {"bank_account.iban": "required"}),
        (
            {"bank_account": {"iban": "DE89"}},
            {
                "bank_account.iban": "must be an IBAN: country code, 2 check digits,"
                " then 11 to 30 letters or digits"
            },
        ),
        ({"bank_account": {"iban": ""}}, {"bank_account.iban": "must not be empty"}),
        (
            {"bank_account": "DE89370400440532013000"},
            {"bank_account": "must be an object"},
        ),
        ({"bank_account": None}, {"bank_account": "required"}),
        (
            {"currency": "BTC"},
            {"currency": "must be an ISO 4217 fiat currency for a bank account"},
        ),
        (
            {"currency": "eur"},
            {"currency": "must be an uppercase currency or asset code"},
        ),
        (
            {"crypto_wallet": {"asset": "BTC"}},
            {"crypto_wallet": "must be absent or null for type bank_account"},
        ),
        ({"customer_id": "cus_missing"}, {"customer_id": "no such customer"}),
        ({"customer_id": "ben_x"}, {"customer_id": "must be an id starting with cus_"}),
        ({"type": "card"}, {"type": "must be one of: bank_account, crypto_wallet"}),
        ({"name": ""}, {"name": "must not be empty"}),
        ({"iban": "DE89370400440532013000"}, {"iban": "unknown field"}),
    ],
)
async def test_bank_account_validation(
    api: Api, changes: dict[str, Any], fields: dict[str, str]
) -> None:
    customer = await api.customer()
    result = await api.post("/v1/beneficiaries", bank_body(customer["id"], **changes))
    assert result.status == 422
    assert result.fields == fields


async def test_null_other_object_is_accepted(api: Api) -> None:
    customer = await api.customer()
    body = bank_body(customer["id"], crypto_wallet=None)
    assert (await api.post("/v1/beneficiaries", body)).status == 201


@pytest.mark.parametrize(
    ("asset", "network", "address"),
    [("BTC", "bitcoin", address) for address in ADDRESSES["bitcoin"]]
    + [
        ("ETH", "base", EVM),
        ("USDC", "polygon", EVM),
        ("USDC", "solana", ADDRESSES["solana"][0]),
        ("USDT", "tron", ADDRESSES["tron"][0]),
        ("EURC", "ethereum", EVM),
    ],
)
async def test_create_crypto_wallet(
    api: Api,
    openapi_schema: Callable[[Any, str], None],
    asset: str,
    network: str,
    address: str,
) -> None:
    customer = await api.customer()
    result = await api.post(
        "/v1/beneficiaries",
        wallet_body(customer["id"], asset=asset, network=network, address=address),
    )
    assert result.status == 201, result.body
    assert result.body["crypto_wallet"] == {
        "asset": asset,
        "network": network,
        "address": address,
        "memo": None,
    }
    assert result.body["bank_account"] is None
    assert result.body["currency"] == asset
    openapi_schema(result.body, "Beneficiary")


@pytest.mark.parametrize(
    ("wallet", "currency", "fields"),
    [
        ({"asset": "DOGE"}, "DOGE", {"crypto_wallet.asset": "unknown asset DOGE"}),
        (
            {"network": "cardano"},
            None,
            {"crypto_wallet.network": "unknown network cardano"},
        ),
        (
            {"asset": "BTC", "network": "ethereum"},
            "BTC",
            {"crypto_wallet.network": "network ethereum does not carry BTC"},
        ),
        (
            {"address": "0x1234"},
            None,
            {"crypto_wallet.address": "not a valid Ethereum address"},
        ),
        (
            {"asset": "USDT", "network": "tron", "address": EVM},
            "USDT",
            {"crypto_wallet.address": "not a valid TRON address"},
        ),
        (
            {"asset": "BTC", "network": "bitcoin", "address": "bc1qINVALIDUPPER"},
            "BTC",
            {"crypto_wallet.address": "not a valid Bitcoin address"},
        ),
        ({}, "ETH", {"currency": "must equal crypto_wallet.asset"}),
        ({"memo": 7}, None, {"crypto_wallet.memo": "must be a string"}),
        ({"tag": "x"}, None, {"crypto_wallet.tag": "unknown field"}),
        ({"asset": "usdc"}, "USDC", {"crypto_wallet.asset": "unknown asset usdc"}),
    ],
)
async def test_crypto_wallet_validation(
    api: Api, wallet: dict[str, Any], currency: str | None, fields: dict[str, str]
) -> None:
    customer = await api.customer()
    body = wallet_body(customer["id"], **wallet)
    body["currency"] = currency or "USDC"
    result = await api.post("/v1/beneficiaries", body)
    assert result.status == 422
    assert result.fields == fields


async def test_missing_wallet_fields(api: Api) -> None:
    customer = await api.customer()
    body = wallet_body(customer["id"])
    body["crypto_wallet"] = {}
    result = await api.post("/v1/beneficiaries", body)
    assert result.fields == {
        "crypto_wallet.asset": "required",
        "crypto_wallet.network": "required",
        "crypto_wallet.address": "required",
    }


async def test_wallet_memo_is_kept(api: Api) -> None:
    customer = await api.customer()
    result = await api.post(
        "/v1/beneficiaries", wallet_body(customer["id"], memo="12345")
    )
    assert result.body["crypto_wallet"]["memo"] == "12345"


async def test_list_filter_update_delete(api: Api) -> None:
    ada = await api.customer()
    bob = await api.customer(name="Bob")
    first = await api.bank_beneficiary(ada["id"])
    second = await api.bank_beneficiary(bob["id"])
    everyone = await api.get("/v1/beneficiaries")
    assert [b["id"] for b in everyone.body["data"]] == [second["id"], first["id"]]
    only_ada = await api.get(f"/v1/beneficiaries?customer_id={ada['id']}")
    assert [b["id"] for b in only_ada.body["data"]] == [first["id"]]
    bad = await api.get("/v1/beneficiaries?customer_id=nope")
    assert bad.fields == {"customer_id": "must be an id starting with cus_"}

    api.advance(30)
    updated = await api.patch(
        f"/v1/beneficiaries/{first['id']}",
        {"name": "Renamed", "status": "disabled", "metadata": {"k": "v"}},
    )
    assert updated.status == 200
    assert updated.body["name"] == "Renamed"
    assert updated.body["status"] == "disabled"
    assert updated.body["metadata"] == {"k": "v"}
    assert updated.body["bank_account"] == first["bank_account"]
    assert updated.body["updated_at"] == "2026-11-27T21:54:10Z"
    assert (await api.get(f"/v1/beneficiaries/{first['id']}")).body == updated.body

    refused = await api.patch(
        f"/v1/beneficiaries/{first['id']}",
        {"bank_account": {"iban": "x"}, "status": "gone"},
    )
    assert refused.fields == {
        "bank_account": "unknown field",
        "status": "must be one of: active, disabled",
    }
    assert (await api.patch(f"/v1/beneficiaries/{first['id']}", {})).status == 422

    deleted = await api.delete(f"/v1/beneficiaries/{first['id']}")
    assert deleted.status == 200
    assert deleted.body == {"id": first["id"], "object": "beneficiary", "deleted": True}
    assert (await api.get(f"/v1/beneficiaries/{first['id']}")).status == 404
    assert (await api.delete(f"/v1/beneficiaries/{first['id']}")).status == 404
    assert (
        await api.patch(f"/v1/beneficiaries/{first['id']}", {"name": "x"})
    ).status == 404
    remaining = await api.get("/v1/beneficiaries")
    assert [b["id"] for b in remaining.body["data"]] == [second["id"]]
