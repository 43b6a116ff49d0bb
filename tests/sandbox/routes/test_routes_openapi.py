"""Every endpoint's success answer matches its schema in docs/openapi.yaml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from nuvera_client.sandbox._routes import ENDPOINTS

from .conftest import OPENAPI, Api

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not OPENAPI.exists(), reason="docs/openapi.yaml not present"),
]

EVM = "0x52908400098527886E0F7030069857D2E4169EE7"


def success_schema(method: str, path: str) -> tuple[int, str | None]:
    spec = yaml.safe_load(OPENAPI.read_text())
    responses = spec["paths"][path][method.lower()]["responses"]
    status = next(int(code) for code in responses if code.startswith("2"))
    content = responses[str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    return status, None if ref is None else ref.rsplit("/", 1)[-1]


async def populate(api: Api) -> dict[str, str]:
    customer = await api.customer(name="Sanction Test")
    bank = await api.bank_beneficiary(customer["id"])
    wallet = await api.post(
        "/v1/beneficiaries",
        {
            "customer_id": customer["id"],
            "type": "crypto_wallet",
            "name": "W",
            "currency": "USDC",
            "crypto_wallet": {"asset": "USDC", "network": "base", "address": EVM},
        },
    )
    document = await api.request(
        "POST",
        "/v1/documents",
        data={"customer_id": customer["id"], "type": "passport"},
        files={"file": ("p.pdf", b"%PDF", "application/pdf")},
    )
    payment = await api.post(
        "/v1/payments",
        {
            "customer_id": customer["id"],
            "beneficiary_id": bank["id"],
            "amount": "10.00",
            "currency": "EUR",
        },
    )
    ticket = await api.post("/v1/support/tickets", {"subject": "S", "body": "B"})
    screening = await api.get("/v1/screening/results?limit=1")
    return {
        "customers": customer["id"],
        "beneficiaries": wallet.body["id"],
        "documents": document.body["id"],
        "payments": payment.body["id"],
        "results": screening.body["data"][0]["id"],
        "tickets": ticket.body["id"],
        "assets": "USDC",
        "bank": bank["id"],
    }


def concrete(path: str, ids: dict[str, str]) -> str:
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part in ("{id}", "{code}"):
            parts[i] = ids[parts[i - 1]]
    return "/".join(parts)


WRITE_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/customers"): {"type": "business", "name": "B", "email": "b@b.co"},
    ("PATCH", "/v1/customers/{id}"): {"country": "FR"},
    ("PATCH", "/v1/beneficiaries/{id}"): {"status": "disabled"},
    ("POST", "/v1/payments/{id}/cancel"): None,
    ("POST", "/v1/support/tickets"): {"subject": "S", "body": "B", "priority": "low"},
    ("POST", "/v1/support/tickets/{id}/messages"): {"body": "more"},
    ("POST", "/v1/support/tickets/{id}/close"): None,
    ("DELETE", "/v1/beneficiaries/{id}"): None,
}


@pytest.mark.parametrize(
    "endpoint",
    [e for e in ENDPOINTS if e.method == "GET" or (e.method, e.path) in WRITE_BODIES],
    ids=lambda e: f"{e.method} {e.path}",
)
async def test_success_matches_openapi(
    api: Api, openapi_schema: Callable[[Any, str], None], endpoint: Any
) -> None:
    ids = await populate(api)
    status, schema = success_schema(endpoint.method, endpoint.path)
    target = concrete(endpoint.path, ids)
    if endpoint.method == "GET":
        result = await api.get(target)
    else:
        result = await api.request(
            endpoint.method,
            target,
            json_body=WRITE_BODIES[(endpoint.method, endpoint.path)],
        )
    assert result.status == status, result.body
    if schema is None:  # the raw document content
        assert result.content == b"%PDF"
        return
    openapi_schema(result.body, schema)
    if isinstance(result.body, dict) and "data" in result.body:
        assert result.body["data"], f"{endpoint.path} listed nothing to check"


def test_every_endpoint_is_in_openapi_with_the_same_permission() -> None:
    spec = yaml.safe_load(OPENAPI.read_text())
    for endpoint in ENDPOINTS:
        operation = spec["paths"][endpoint.path][endpoint.method.lower()]
        assert operation["x-nuvera-permission"] == endpoint.permission
