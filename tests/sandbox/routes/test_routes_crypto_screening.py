"""Crypto reference data and screening results."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from nuvera_client.sandbox._routes.crypto import ASSETS, NETWORKS

from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_assets_seeded_in_reference_order(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    page = await api.get("/v1/crypto/assets?limit=100")
    assert page.status == 200
    assert page.body["has_more"] is False
    codes = [asset["code"] for asset in page.body["data"]]
    assert codes == ["BTC", "ETH", "USDC", "USDT", "SOL", "POL", "TRX", "EURC"]
    usdc = page.body["data"][2]
    assert usdc == {
        "object": "crypto_asset",
        "code": "USDC",
        "name": "USD Coin",
        "decimals": 6,
        "networks": ["ethereum", "polygon", "solana", "arbitrum", "base"],
        "status": "active",
    }
    openapi_schema(page.body, "CryptoAssetList")


async def test_assets_paginate(api: Api) -> None:
    first = await api.get("/v1/crypto/assets?limit=5")
    assert len(first.body["data"]) == 5
    assert first.body["has_more"] is True
    second = await api.get(
        f"/v1/crypto/assets?limit=5&cursor={first.body['next_cursor']}"
    )
    assert [a["code"] for a in second.body["data"]] == ["POL", "TRX", "EURC"]
    assert second.body["has_more"] is False


async def test_retrieve_asset_is_case_sensitive(api: Api) -> None:
    found = await api.get("/v1/crypto/assets/BTC")
    assert found.body["networks"] == ["bitcoin"]
    assert found.body["decimals"] == 8
    assert (await api.get("/v1/crypto/assets/btc")).status == 404
    assert (await api.get("/v1/crypto/assets/DOGE")).error["code"] == "not_found"


async def test_networks(api: Api, openapi_schema: Callable[[Any, str], None]) -> None:
    page = await api.get("/v1/crypto/networks")
    codes = [n["code"] for n in page.body["data"]]
    assert codes == [
        "bitcoin",
        "ethereum",
        "polygon",
        "solana",
        "tron",
        "arbitrum",
        "base",
    ]
    ethereum = page.body["data"][1]
    assert ethereum["address_pattern"] == "^0x[0-9a-fA-F]{40}$"
    assert ethereum["native_asset"] == "ETH"
    assert ethereum["object"] == "crypto_network"
    openapi_schema(page.body, "CryptoNetworkList")
    assert (await api.get("/v1/crypto/networks?limit=0")).status == 422


def test_reference_data_is_consistent() -> None:
    networks = {code: native for code, _, native, _, _ in NETWORKS}
    assets = {code for code, _, _, _ in ASSETS}
    for code, native in networks.items():
        assert native in assets, code
    for code, _, _, carried in ASSETS:
        assert set(carried) <= set(networks), code
    for _, _, _, _, pattern in NETWORKS:
        re.compile(pattern)


async def test_screening_created_for_customers_and_beneficiaries(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    clear = await api.customer(name="Grace Hopper")
    flagged = await api.customer(name="Sanctioned Trading Ltd")
    beneficiary = await api.bank_beneficiary(clear["id"], name="Sanction Holdings")
    page = await api.get("/v1/screening/results")
    assert page.status == 200
    results = page.body["data"]
    assert [r["subject_id"] for r in results] == [
        beneficiary["id"],
        flagged["id"],
        clear["id"],
    ]
    openapi_schema(page.body, "ScreeningResultList")
    ben_result, flagged_result, clear_result = results
    assert clear_result["status"] == "clear"
    assert clear_result["matches"] == []
    assert clear_result["subject_type"] == "customer"
    assert flagged_result["status"] == "potential_match"
    assert flagged_result["matches"] == [
        {"list": "OFAC SDN", "name": "Sanctioned Trading Ltd", "score": "0.92"}
    ]
    assert ben_result["subject_type"] == "beneficiary"
    assert ben_result["status"] == "potential_match"
    assert ben_result["id"].startswith("scr_")

    by_subject = await api.get(f"/v1/screening/results?subject_id={flagged['id']}")
    assert [r["id"] for r in by_subject.body["data"]] == [flagged_result["id"]]
    one = await api.get(f"/v1/screening/results/{clear_result['id']}")
    assert one.body == clear_result
    openapi_schema(one.body, "ScreeningResult")
    assert (await api.get("/v1/screening/results/scr_nothing")).status == 404
    bad = await api.get("/v1/screening/results?subject_id=pay_1")
    assert bad.fields == {"subject_id": "must be an id starting with cus_ or ben_"}


async def test_refused_creations_leave_no_screening(api: Api) -> None:
    result = await api.post("/v1/customers", {"type": "individual", "name": "Sanction"})
    assert result.status == 422
    assert (await api.get("/v1/screening/results")).body["data"] == []
