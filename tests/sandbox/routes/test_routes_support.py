"""Support: tickets, messages (JSON and multipart with attachments), close."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api

pytestmark = pytest.mark.anyio


async def open_ticket(api: Api, **changes: Any) -> dict[str, Any]:
    result = await api.post(
        "/v1/support/tickets",
        {"subject": "Payout delayed", "body": "Where is it?", **changes},
    )
    assert result.status == 201, result.body
    ticket: dict[str, Any] = result.body
    return ticket


async def test_create_ticket_with_first_message_and_reply(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    ticket = await open_ticket(api)
    assert ticket["id"].startswith("tkt_")
    assert ticket["object"] == "support_ticket"
    assert ticket["status"] == "open"
    assert ticket["priority"] == "normal"
    assert ticket["customer_id"] is None
    assert ticket["closed_at"] is None
    openapi_schema(ticket, "SupportTicket")
    messages = await api.get(f"/v1/support/tickets/{ticket['id']}/messages")
    assert messages.status == 200
    openapi_schema(messages.body, "SupportMessageList")
    first, reply = messages.body["data"]
    assert first["author"] == "partner"
    assert first["body"] == "Where is it?"
    assert first["attachments"] == []
    assert first["ticket_id"] == ticket["id"]
    assert reply["author"] == "nuvera"
    assert reply["body"]
    assert (await api.get(f"/v1/support/tickets/{ticket['id']}")).body == ticket


async def test_ticket_with_customer_and_priority(api: Api) -> None:
    customer = await api.customer()
    ticket = await open_ticket(api, customer_id=customer["id"], priority="urgent")
    assert ticket["customer_id"] == customer["id"]
    assert ticket["priority"] == "urgent"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"subject": "required", "body": "required"}),
        ({"subject": "", "body": "x"}, {"subject": "must not be empty"}),
        (
            {"subject": "s" * 201, "body": "x"},
            {"subject": "must be at most 200 characters"},
        ),
        (
            {"subject": "s", "body": "b" * 10001},
            {"body": "must be at most 10000 characters"},
        ),
        (
            {"subject": "s", "body": "b", "priority": "asap"},
            {"priority": "must be one of: low, normal, high, urgent"},
        ),
        (
            {"subject": "s", "body": "b", "customer_id": "cus_nobody"},
            {"customer_id": "no such customer"},
        ),
        (
            {"subject": "s", "body": "b", "status": "closed"},
            {"status": "unknown field"},
        ),
    ],
)
async def test_ticket_validation(
    api: Api, body: dict[str, Any], fields: dict[str, str]
) -> None:
    result = await api.post("/v1/support/tickets", body)
    assert result.fields == fields


async def test_json_message(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    ticket = await open_ticket(api)
    api.advance(10)
    result = await api.post(
        f"/v1/support/tickets/{ticket['id']}/messages", {"body": "Any news?"}
    )
    assert result.status == 201
    assert result.body["author"] == "partner"
    assert result.body["body"] == "Any news?"
    assert result.body["id"].startswith("msg_")
    assert result.body["created_at"] == "2026-11-27T21:53:50Z"
    openapi_schema(result.body, "SupportMessage")
    refreshed = (await api.get(f"/v1/support/tickets/{ticket['id']}")).body
    assert refreshed["updated_at"] == "2026-11-27T21:53:50Z"
    messages = (await api.get(f"/v1/support/tickets/{ticket['id']}/messages")).body[
        "data"
    ]
    assert [m["author"] for m in messages] == ["partner", "nuvera", "partner", "nuvera"]


async def test_multipart_message_with_attachments(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    ticket = await open_ticket(api)
    log = b"line 1\nline 2\n"
    result = await api.request(
        "POST",
        f"/v1/support/tickets/{ticket['id']}/messages",
        data={"body": "Logs attached"},
        files=[
            ("attachments", ("app.log", log, "text/plain")),
            ("attachments", ("empty.bin", b"", "application/octet-stream")),
        ],
    )
    assert result.status == 201, result.body
    openapi_schema(result.body, "SupportMessage")
    attachments = result.body["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in attachments] == [
        ("app.log", "text/plain", len(log)),
        ("empty.bin", "application/octet-stream", 0),
    ]
    assert attachments[0]["sha256"] == hashlib.sha256(log).hexdigest()
    assert attachments[0]["id"].startswith("att_")
    assert attachments[0]["object"] == "attachment"
    stored = api.db.execute(
        "SELECT content FROM support_attachments WHERE id = ?", (attachments[0]["id"],)
    ).fetchone()[0]
    assert bytes(stored) == log
    listed = (await api.get(f"/v1/support/tickets/{ticket['id']}/messages")).body[
        "data"
    ]
    assert listed[2]["attachments"] == attachments


async def test_multipart_message_without_attachments(api: Api) -> None:
    ticket = await open_ticket(api)
    result = await api.request(
        "POST",
        f"/v1/support/tickets/{ticket['id']}/messages",
        content=(
            b'--b\r\nContent-Disposition: form-data; name="body"\r\n\r\n'
            b"hello\r\n--b--\r\n"
        ),
        content_type="multipart/form-data; boundary=b",
    )
    assert result.status == 201, result.body
    assert result.body["body"] == "hello"
    assert result.body["attachments"] == []


async def test_message_validation(api: Api) -> None:
    ticket = await open_ticket(api)
    target = f"/v1/support/tickets/{ticket['id']}/messages"
    assert (await api.post(target, {})).fields == {"body": "required"}
    assert (await api.post(target, {"body": "x", "files": []})).fields == {
        "files": "unknown field"
    }
    no_body = await api.request(
        "POST", target, data={"note": "x"}, files={"attachments": ("a.txt", b"a")}
    )
    assert no_body.fields == {"note": "unknown field", "body": "required"}
    wrong_part = await api.request(
        "POST", target, data={"body": "x"}, files={"logs": ("a.txt", b"a")}
    )
    assert wrong_part.fields == {"logs": "unknown field"}
    text = await api.request(
        "POST", target, content=b"hello", content_type="text/plain"
    )
    assert text.status == 415
    assert text.error["details"]["accepted"] == [
        "application/json",
        "multipart/form-data",
    ]
    api.max_body_bytes = 100
    big = await api.request(
        "POST", target, data={"body": "x"}, files={"attachments": ("a.bin", b"a" * 200)}
    )
    assert big.status == 413
    assert (
        await api.post("/v1/support/tickets/tkt_nothing/messages", {"body": "x"})
    ).status == (404)


async def test_close_ticket(api: Api) -> None:
    ticket = await open_ticket(api)
    api.advance(120)
    closed = await api.post(f"/v1/support/tickets/{ticket['id']}/close")
    assert closed.status == 200
    assert closed.body["status"] == "closed"
    assert closed.body["closed_at"] == "2026-11-27T21:55:40Z"
    again = await api.post(f"/v1/support/tickets/{ticket['id']}/close", {})
    assert again.status == 409
    assert again.error["code"] == "invalid_state"
    assert again.error["details"] == {"status": "closed"}
    message = await api.post(
        f"/v1/support/tickets/{ticket['id']}/messages", {"body": "x"}
    )
    assert message.status == 409
    assert message.error["details"] == {"status": "closed"}
    assert (await api.post("/v1/support/tickets/tkt_nothing/close")).status == 404
    other = await open_ticket(api)
    with_body = await api.post(f"/v1/support/tickets/{other['id']}/close", {"why": "x"})
    assert with_body.fields == {"why": "unknown field"}


async def test_lists_paginate_tickets_newest_and_messages_oldest_first(
    api: Api,
) -> None:
    tickets = [await open_ticket(api, subject=f"T{i}") for i in range(3)]
    page = await api.get("/v1/support/tickets?limit=2")
    assert [t["id"] for t in page.body["data"]] == [tickets[2]["id"], tickets[1]["id"]]
    rest = await api.get(
        f"/v1/support/tickets?limit=2&cursor={page.body['next_cursor']}"
    )
    assert [t["id"] for t in rest.body["data"]] == [tickets[0]["id"]]

    target = f"/v1/support/tickets/{tickets[0]['id']}/messages"
    for i in range(2):
        await api.post(target, {"body": f"follow-up {i}"})
    bodies: list[str] = []
    cursor = None
    for _ in range(10):
        query = f"?limit=4&cursor={cursor}" if cursor else "?limit=4"
        page = await api.get(target + query)
        bodies += [m["body"] for m in page.body["data"] if m["author"] == "partner"]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert bodies == ["Where is it?", "follow-up 0", "follow-up 1"]
    assert (await api.get("/v1/support/tickets/tkt_nothing/messages")).status == 404
