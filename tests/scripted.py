"""Scripted httpx.MockTransport handlers and sample API objects for client tests."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from nuvera_client._api_key import ApiKey

BASE = "http://127.0.0.1:8787"
TS = "2026-11-27T21:53:40Z"
API_KEY = ApiKey.generate("test")

CUSTOMER: dict[str, Any] = {
    "id": "cus_1",
    "object": "customer",
    "type": "individual",
    "name": "Ada",
    "email": "ada@example.com",
    "phone": None,
    "country": None,
    "external_id": None,
    "status": "active",
    "kyc_status": "not_started",
    "metadata": {},
    "created_at": TS,
    "updated_at": TS,
}
PAYMENT: dict[str, Any] = {
    "id": "pay_1",
    "object": "payment",
    "customer_id": "cus_1",
    "beneficiary_id": "ben_1",
    "amount": "10.00",
    "currency": "EUR",
    "status": "created",
    "reference": None,
    "description": None,
    "failure_reason": None,
    "metadata": {},
    "created_at": TS,
    "updated_at": TS,
}
DOCUMENT: dict[str, Any] = {
    "id": "doc_1",
    "object": "document",
    "customer_id": "cus_1",
    "type": "passport",
    "filename": "p.pdf",
    "content_type": "application/pdf",
    "size": 3,
    "sha256": "00" * 32,
    "created_at": TS,
}

Script = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Server:
    """A scripted handler: one entry per request (the last repeats)."""

    def __init__(self, *script: Script) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item

    def claims(self, index: int) -> dict[str, Any]:
        token = self.requests[index].headers["authorization"].split(" ", 1)[1]
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        return claims
