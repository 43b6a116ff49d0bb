"""Customers: create, validation, uniqueness, list filters, retrieve, update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_create_returns_201_with_every_field(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    result = await api.post(
        "/v1/customers",
        {
            "type": "business",
            "name": "Acme GmbH",
            "email": "ops@acme.example",
            "phone": "+4930123456",
            "country": "DE",
            "external_id": "crm-1",
            "metadata": {"tier": "gold"},
        },
    )
    assert result.status == 201
    body = result.body
    assert body["object"] == "customer"
    assert body["id"].startswith("cus_")
    assert body["status"] == "active"
    assert body["kyc_status"] == "not_started"
    assert body["metadata"] == {"tier": "gold"}
    assert body["created_at"] == "2026-11-27T21:53:40Z" == body["updated_at"]
    openapi_schema(body, "Customer")


async def test_optional_fields_are_present_as_null(api: Api) -> None:
    body = await api.customer()
    assert body["phone"] is None
    assert body["country"] is None
    assert body["external_id"] is None
    assert body["metadata"] == {}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"type": "required", "name": "required", "email": "required"}),
        (
            {"type": "person", "name": "A", "email": "a@b.co"},
            {"type": "must be one of: individual, business"},
        ),
        (
            {"type": "individual", "name": "", "email": "a@b.co"},
            {"name": "must not be empty"},
        ),
        (
            {"type": "individual", "name": "x", "email": "a..b@example.com"},
            {"email": "must be an email address"},
        ),
        (
            {"type": "individual", "name": "x" * 201, "email": "a@b.co"},
            {"name": "must be at most 200 characters"},
        ),
        (
            {"type": "individual", "name": 5, "email": "a@b.co"},
            {"name": "must be a string"},
        ),
        (
            {"type": "individual", "name": "A", "email": "not-an-email"},
            {"email": "must be an email address"},
        ),
        (
            {"type": "individual", "name": "A", "email": "a@b.co", "phone": "030 1234"},
            {"phone": "must be E.164: + and 7 to 15 digits"},
        ),
        (
            {"type": "individual", "name": "A", "email": "a@b.co", "country": "de"},
            {"country": "must be an ISO 3166-1 alpha-2 code in uppercase"},
        ),
        (
            {"type": "individual", "name": "A", "email": "a@b.co", "nickname": "x"},
            {"nickname": "unknown field"},
        ),
        (
            {"type": "individual", "name": None, "email": "a@b.co"},
            {"name": "required"},
        ),
        (
            {"type": "individual", "name": "A", "email": "a@b.co", "metadata": []},
            {"metadata": "must be an object of strings"},
        ),
        (
            {
                "type": "individual",
                "name": "A",
                "email": "a@b.co",
                "metadata": {"k": 1},
            },
            {"metadata.k": "must be a string"},
        ),
        (
            {
                "type": "individual",
                "name": "A",
                "email": "a@b.co",
                "metadata": {f"k{i}": "v" for i in range(21)},
            },
            {"metadata": "must have at most 20 keys"},
        ),
        (
            {
                "type": "individual",
                "name": "A",
                "email": "a@b.co",
                "metadata": {"k" * 41: "v"},
            },
            {"metadata": "keys must be 1..40 characters"},
        ),
        (
            {
                "type": "individual",
                "name": "A",
                "email": "a@b.co",
                "metadata": {"k": "v" * 501},
            },
            {"metadata.k": "must be at most 500 characters"},
        ),
    ],
)
async def test_create_validation(
    api: Api, body: dict[str, Any], fields: dict[str, str]
) -> None:
    result = await api.post("/v1/customers", body)
    assert result.status == 422
    assert result.error["type"] == "validation_error"
    assert result.fields == fields


async def test_email_and_external_id_are_unique_per_application(api: Api) -> None:
    first = await api.customer(email="Ada@Example.com", external_id="e-1")
    again = await api.post(
        "/v1/customers",
        {
            "type": "individual",
            "name": "B",
            "email": "ada@example.COM",
            "external_id": "e-1",
        },
    )
    assert again.fields == {"email": "already exists", "external_id": "already exists"}
    # Nothing was written by the refused request.
    listing = await api.get("/v1/customers")
    assert [c["id"] for c in listing.body["data"]] == [first["id"]]


async def test_list_filters(api: Api) -> None:
    a = await api.customer(email="a@example.com", external_id="x-a")
    b = await api.customer(email="b@example.com")
    await api.patch(f"/v1/customers/{b['id']}", {"status": "suspended"})
    by_email = await api.get("/v1/customers?email=A%40example.com")
    assert [c["id"] for c in by_email.body["data"]] == [a["id"]]
    by_external = await api.get("/v1/customers?external_id=x-a")
    assert [c["id"] for c in by_external.body["data"]] == [a["id"]]
    suspended = await api.get("/v1/customers?status=suspended")
    assert [c["id"] for c in suspended.body["data"]] == [b["id"]]
    bad = await api.get("/v1/customers?status=gone")
    assert bad.fields == {"status": "must be one of: active, suspended, closed"}
    unknown = await api.get("/v1/customers?colour=red")
    assert unknown.fields == {"colour": "unknown parameter"}


async def test_retrieve_and_404s(api: Api) -> None:
    customer = await api.customer()
    found = await api.get(f"/v1/customers/{customer['id']}")
    assert found.body == customer
    missing = await api.get("/v1/customers/cus_doesnotexist")
    assert missing.status == 404
    assert missing.error["type"] == "not_found_error"
    malformed = await api.get("/v1/customers/ben_123")
    assert malformed.error["code"] == "not_found"


async def test_update_sets_only_given_fields(api: Api) -> None:
    customer = await api.customer(phone="+4915112345678", metadata={"a": "1"})
    api.advance(60)
    result = await api.patch(
        f"/v1/customers/{customer['id']}",
        {"name": "Ada King", "phone": None, "status": "closed", "metadata": {"b": "2"}},
    )
    assert result.status == 200
    body = result.body
    assert body["name"] == "Ada King"
    assert body["phone"] is None
    assert body["status"] == "closed"
    assert body["metadata"] == {"b": "2"}
    assert body["email"] == customer["email"]
    assert body["created_at"] == customer["created_at"]
    assert body["updated_at"] == "2026-11-27T21:54:40Z"


async def test_update_validation(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer()
    target = f"/v1/customers/{customer['id']}"
    assert (await api.patch(target, {})).fields == {
        "body": "at least one field is required"
    }
    assert (await api.patch(target, {"kyc_status": "verified"})).fields == {
        "kyc_status": "unknown field"
    }
    assert (await api.patch(target, {"type": "business"})).fields == {
        "type": "unknown field"
    }
    assert (await api.patch(target, {"email": other["email"]})).fields == {
        "email": "already exists"
    }
    # Its own email is not a clash.
    assert (await api.patch(target, {"email": customer["email"]})).status == 200
    assert (await api.patch(target, {"status": "deleted"})).fields == {
        "status": "must be one of: active, suspended, closed"
    }
    assert (await api.patch("/v1/customers/cus_nope", {"name": "x"})).status == 404
