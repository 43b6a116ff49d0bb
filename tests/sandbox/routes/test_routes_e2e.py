"""End to end through the sandbox app: signed requests, in-process, every area."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.anyio

sandbox_module = pytest.importorskip("nuvera_client.sandbox")
auth_module = pytest.importorskip("nuvera_client._auth")

ALL = [
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
    "BENEFICIARIES_READ",
    "BENEFICIARIES_WRITE",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "CRYPTO_READ",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "SCREENING_READ",
    "SUPPORT_READ",
    "SUPPORT_WRITE",
]


class Clock:
    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(
    rsa_key: rsa.RSAPrivateKey, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    sandbox = sandbox_module.Sandbox(clock=clock)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app = sandbox.create_application(
        name="e2e", permissions=ALL, public_key_pem=pem.decode()
    )
    auth = auth_module.NuveraAuth(app.api_key, private_key=rsa_key)
    async with httpx.AsyncClient(
        transport=sandbox.async_transport(), base_url="http://sandbox", auth=auth
    ) as http:
        yield http
    sandbox.close()


async def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


async def test_partner_story(client: httpx.AsyncClient, clock: Clock) -> None:
    customer = await created(
        await client.post(
            "/v1/customers",
            json={
                "type": "individual",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
            },
        )
    )
    assert customer["kyc_status"] == "not_started"

    content = os.urandom(150_000)
    document = await created(
        await client.post(
            "/v1/documents",
            data={"customer_id": customer["id"], "type": "passport"},
            files={"file": ("passport.pdf", content, "application/pdf")},
        )
    )
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    download = await client.get(f"/v1/documents/{document['id']}/content")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert "passport.pdf" in download.headers["content-disposition"]
    kyc = (await client.get(f"/v1/customers/{customer['id']}")).json()["kyc_status"]
    assert kyc == "verified"

    beneficiary = await created(
        await client.post(
            "/v1/beneficiaries",
            json={
                "customer_id": customer["id"],
                "type": "bank_account",
                "name": "Charles Babbage",
                "currency": "EUR",
                "bank_account": {"iban": "DE89370400440532013000"},
            },
        )
    )
    assets = (await client.get("/v1/crypto/assets?limit=3")).json()
    assert [a["code"] for a in assets["data"]] == ["BTC", "ETH", "USDC"]

    body = {
        "customer_id": customer["id"],
        "beneficiary_id": beneficiary["id"],
        "amount": "1250.00",
        "currency": "EUR",
    }
    headers = {"Idempotency-Key": "pay-ada-1"}
    payment = await created(
        await client.post("/v1/payments", json=body, headers=headers)
    )
    replay = await client.post("/v1/payments", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == payment
    clock.shift += 6
    final = (await client.get(f"/v1/payments/{payment['id']}")).json()
    assert final["status"] == "completed"

    screening = (
        await client.get(f"/v1/screening/results?subject_id={customer['id']}")
    ).json()
    assert [r["status"] for r in screening["data"]] == ["clear"]

    ticket = await created(
        await client.post(
            "/v1/support/tickets", json={"subject": "Hi", "body": "Hello"}
        )
    )
    message = await created(
        await client.post(
            f"/v1/support/tickets/{ticket['id']}/messages",
            data={"body": "see log"},
            files=[("attachments", ("a.log", b"log", "text/plain"))],
        )
    )
    assert message["attachments"][0]["size"] == 3
    closed = await client.post(f"/v1/support/tickets/{ticket['id']}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


async def test_download_keeps_content_length(client: httpx.AsyncClient) -> None:
    customer = await created(
        await client.post(
            "/v1/customers",
            json={"type": "individual", "name": "Ada", "email": "ada@example.com"},
        )
    )
    document = await created(
        await client.post(
            "/v1/documents",
            data={"customer_id": customer["id"], "type": "other"},
            files={"file": ("a.bin", b"12345", "application/octet-stream")},
        )
    )
    download = await client.get(f"/v1/documents/{document['id']}/content")
    assert download.content == b"12345"
    assert download.headers["content-length"] == "5"


async def test_errors_through_the_app(client: httpx.AsyncClient) -> None:
    invalid = await client.post("/v1/customers", json={"type": "individual"})
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"] == {"name": "required", "email": "required"}
    assert error["request_id"] == invalid.headers["x-request-id"]

    wrong_type = await client.post(
        "/v1/customers", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    not_json = await client.post(
        "/v1/customers", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "invalid_request"

    missing = await client.get("/v1/payments/pay_nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"

    page = await client.get("/v1/customers?limit=500")
    assert page.json()["error"]["details"]["fields"] == {
        "limit": "must be an integer from 1 to 100"
    }


async def test_refused_request_writes_nothing(client: httpx.AsyncClient) -> None:
    customer = await created(
        await client.post(
            "/v1/customers",
            json={"type": "business", "name": "Acme", "email": "acme@example.com"},
        )
    )
    clash = await client.post(
        "/v1/customers",
        json={"type": "business", "name": "Sanction Co", "email": "ACME@example.com"},
    )
    assert clash.status_code == 422
    listing = (await client.get("/v1/customers")).json()
    assert [c["id"] for c in listing["data"]] == [customer["id"]]
    results = (await client.get("/v1/screening/results")).json()
    assert len(results["data"]) == 1


def test_sync_transport_streams_a_document(rsa_key: rsa.RSAPrivateKey) -> None:
    sandbox = sandbox_module.Sandbox()
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app = sandbox.create_application(
        name="sync", permissions=ALL, public_key_pem=pem.decode()
    )
    auth = auth_module.NuveraAuth(app.api_key, private_key=rsa_key)
    content = os.urandom(300_000)
    try:
        with httpx.Client(
            transport=sandbox.transport(), base_url="http://sandbox", auth=auth
        ) as http:
            customer = http.post(
                "/v1/customers",
                json={"type": "individual", "name": "Ada", "email": "ada@example.com"},
            ).json()
            document = http.post(
                "/v1/documents",
                data={"customer_id": customer["id"], "type": "bank_statement"},
                files={"file": ("statement.csv", content, "text/csv")},
            ).json()
            assert document["size"] == len(content)
            with http.stream("GET", f"/v1/documents/{document['id']}/content") as resp:
                assert resp.status_code == 200
                received = b"".join(resp.iter_bytes())
            assert hashlib.sha256(received).hexdigest() == document["sha256"]
    finally:
        sandbox.close()
