"""Bodies (JSON, media types), pagination and timestamps, shared by every endpoint."""

from __future__ import annotations

import base64

import pytest

from nuvera_client.sandbox._routes._common import iso
from nuvera_client.sandbox._routes._pagination import encode_cursor

from .conftest import Api

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"a": 1, "a": 2}', "duplicate member"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"name": "\xff"}', "not valid JSON"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not valid JSON"),
    ],
)
async def test_bad_json_is_400_invalid_request(
    api: Api, content: bytes, message: str
) -> None:
    result = await api.request(
        "POST", "/v1/customers", content=content, content_type="application/json"
    )
    assert result.status == 400
    assert result.error["type"] == "invalid_request_error"
    assert result.error["code"] == "invalid_request"
    assert message in result.error["message"]


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/x-www-form-urlencoded"]
)
async def test_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    result = await api.request(
        "POST", "/v1/customers", content=b"{}", content_type=content_type
    )
    assert result.status == 415
    assert result.error["code"] == "unsupported_media_type"
    assert result.error["type"] == "invalid_request_error"


async def test_json_content_type_parameters_are_accepted(api: Api) -> None:
    result = await api.request(
        "POST",
        "/v1/customers",
        content=b'{"type":"individual","name":"A","email":"a@b.co"}',
        content_type="Application/JSON; charset=utf-8",
    )
    assert result.status == 201


async def test_oversized_json_body_is_413(api: Api) -> None:
    api.max_body_bytes = 10
    result = await api.post("/v1/customers", {"type": "individual", "name": "A"})
    assert result.status == 413
    assert result.error["code"] == "payload_too_large"
    assert result.error["details"] == {"max_bytes": 10}


async def test_pagination_walks_every_page_newest_first(api: Api) -> None:
    made = [(await api.customer(name=f"C{i}"))["id"] for i in range(25)]
    seen: list[str] = []
    target = "/v1/customers?limit=10"
    pages = 0
    while True:
        pages += 1
        assert pages < 10
        page = await api.get(target)
        assert page.status == 200
        seen += [c["id"] for c in page.body["data"]]
        if not page.body["has_more"]:
            assert page.body["next_cursor"] is None
            break
        target = f"/v1/customers?limit=10&cursor={page.body['next_cursor']}"
    assert pages == 3
    # Same timestamp for all of them: order comes from the insertion sequence.
    assert seen == list(reversed(made))


async def test_default_limit_is_10_and_exact_fit_has_no_more(api: Api) -> None:
    for i in range(10):
        await api.customer(name=f"C{i}")
    page = await api.get("/v1/customers")
    assert len(page.body["data"]) == 10
    assert page.body["has_more"] is False
    assert page.body["next_cursor"] is None
    await api.customer()
    page = await api.get("/v1/customers")
    assert page.body["has_more"] is True
    assert isinstance(page.body["next_cursor"], str)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "", "1.5", "0010000"])
async def test_bad_limit_is_422(api: Api, limit: str) -> None:
    result = await api.get(f"/v1/customers?limit={limit}")
    assert result.fields == {"limit": "must be an integer from 1 to 100"}


@pytest.mark.parametrize("limit", ["1", "100", "050"])
async def test_good_limits(api: Api, limit: str) -> None:
    assert (await api.get(f"/v1/customers?limit={limit}")).status == 200


async def test_bad_cursor_is_422(api: Api) -> None:
    for cursor in ("garbage!", "", base64.urlsafe_b64encode(b"cus:x").decode()):
        result = await api.get(f"/v1/customers?cursor={cursor}")
        assert "cursor" in result.fields
    # A cursor from another list is refused too.
    foreign = encode_cursor("pay", 5)
    assert "cursor" in (await api.get(f"/v1/customers?cursor={foreign}")).fields


async def test_cursor_is_opaque_base64url(api: Api) -> None:
    for _ in range(2):
        await api.customer()
    page = await api.get("/v1/customers?limit=1")
    cursor = page.body["next_cursor"]
    assert "=" not in cursor
    assert ":" not in cursor


def test_timestamps_are_whole_seconds_utc_z() -> None:
    assert iso(1796075620.999) == "2026-11-30T21:53:40Z"
    assert iso(0) == "1970-01-01T00:00:00Z"


async def test_unknown_query_on_retrieve_is_422(api: Api) -> None:
    customer = await api.customer()
    result = await api.get(f"/v1/customers/{customer['id']}?expand=all")
    assert result.fields == {"expand": "unknown parameter"}
