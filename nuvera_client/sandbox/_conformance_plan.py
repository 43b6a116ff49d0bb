"""Owns the conformance plan: the requests a foreign SDK must send, and their grades.

The plan is data. ``plan_document()`` renders it as published in
``docs/spec/conformance-plan.json`` (placeholders such as ``{customer_id}`` left in)
and ``render_plan()`` fills the placeholders with the ids of one run's fixtures.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

PLAN_VERSION = 1
CASE_HEADER = "Nuvera-Conformance-Case"
CLOCK_SKEW = 300

# A 1x1 PNG: the file part of the multipart cases.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA"
    "AABJRU5ErkJggg=="
)
_CUSTOMER = (
    '{"email":"zoe@example.com","metadata":{"note":"€5 \\"quoted\\" \\u00e9"},'
    '"name":"Zoë Łukasiewicz 山田","type":"individual"}'
)
_CUSTOMER_FIELDS = (
    '{"email":"ada@example.com","name":"Ada Lovelace","type":"individual"}'
)
_PAYMENT = (
    '{"amount":"1250.00","beneficiary_id":"{beneficiary_id}",'
    '"currency":"USDC","customer_id":"{customer_id}"}'
)


def _json(method: str, target: str, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "method": method,
        "target": target,
        "headers": {"Content-Type": "application/json", **extra.pop("headers", {})},
        "body_utf8": body,
        **extra,
    }


def _multipart(stream: bool) -> dict[str, Any]:
    return {
        "method": "POST",
        "target": "/v1/documents",
        "headers": {},
        "multipart": {
            "fields": [["customer_id", "{customer_id}"], ["type", "passport"]],
            "files": [
                {
                    "name": "file",
                    "filename": "passport.png",
                    "content_type": "image/png",
                    "content_base64": base64.b64encode(_PNG).decode("ascii"),
                }
            ],
        },
        "stream": stream,
    }


def _get(target: str) -> dict[str, Any]:
    return {"method": "GET", "target": target, "headers": {}}


# Each case: id, title, request, expect (see docs/spec/conformance.md for the grades).
CASES: tuple[dict[str, Any], ...] = (
    {
        "id": "get-no-query",
        "title": "GET without a query, empty body",
        "request": _get("/v1/customers"),
        "expect": {"status": 200},
    },
    {
        "id": "get-encoded-query",
        "title": "percent-encoded query kept byte for byte",
        "request": _get("/v1/customers?email=a%40b.com&limit=10"),
        "expect": {"status": 200},
    },
    {
        "id": "get-plus-and-quote",
        "title": "'+' and an unencoded apostrophe in the query (WHATWG URL would "
        "encode the apostrophe: send the target as given)",
        "request": _get("/v1/customers?external_id=o'brien&email=x+y%40b.com"),
        "expect": {"status": 200},
    },
    {
        "id": "get-repeated-keys",
        "title": "a repeated query parameter",
        "request": _get("/v1/payments?status=processing&status=completed&limit=100"),
        "expect": {"status": 200},
    },
    {
        "id": "get-non-ascii-query",
        "title": "non-ASCII query value, percent-encoded UTF-8",
        "request": _get("/v1/customers?email=zo%C3%AB%40example.com"),
        "expect": {"status": 200},
    },
    {
        "id": "get-encoded-path",
        "title": "a percent-encoded path segment (%44 is D): signed as sent",
        "request": _get("/v1/crypto/assets/US%44C"),
        "expect": {"status": 200},
    },
    {
        "id": "get-bare-question-mark",
        "title": "a target ending in a bare '?': drop it before signing and sending",
        "request": _get("/v1/customers?"),
        "expect": {"status": 200, "target": "/v1/customers"},
    },
    {
        "id": "get-by-id",
        "title": "GET one object",
        "request": _get("/v1/customers/{customer_id}"),
        "expect": {"status": 200},
    },
    {
        "id": "post-json-non-ascii",
        "title": "POST non-ASCII JSON (UTF-8, escaped quotes), no Idempotency-Key",
        "request": _json("POST", "/v1/customers", _CUSTOMER),
        "expect": {"status": 201, "body_exact": True},
    },
    {
        "id": "patch-json",
        "title": "PATCH with a JSON body",
        "request": _json(
            "PATCH", "/v1/customers/{customer_id}", '{"external_id":"crm-42"}'
        ),
        "expect": {"status": 200, "body_exact": True},
    },
    {
        "id": "put-no-endpoint",
        "title": "PUT (no endpoint takes it): verified, then 405",
        "request": _json("PUT", "/v1/customers/{customer_id}", '{"status":"active"}'),
        "expect": {"status": 405, "code": "method_not_allowed", "body_exact": True},
    },
    {
        "id": "delete-empty-body",
        "title": "DELETE with an empty body",
        "request": {
            "method": "DELETE",
            "target": "/v1/beneficiaries/{spare_beneficiary_id}",
            "headers": {},
        },
        "expect": {"status": 200, "body_exact": True},
    },
    {
        "id": "post-empty-body",
        "title": "POST with an empty body (hash of zero bytes)",
        "request": {
            "method": "POST",
            "target": "/v1/support/tickets/{ticket_id}/close",
            "headers": {},
        },
        "expect": {"status": 200, "body_exact": True},
    },
    {
        "id": "post-multipart",
        "title": "multipart/form-data upload: hash the whole encoded body",
        "request": _multipart(stream=False),
        "expect": {"status": 201, "multipart": True},
    },
    {
        "id": "post-multipart-streamed",
        "title": "the same upload streamed (hashed in one pass, sent in another; "
        "chunked framing, if used, is not hashed)",
        "request": _multipart(stream=True),
        "expect": {"status": 201, "multipart": True},
    },
    {
        "id": "post-gzip",
        "title": "a gzip body: hash the compressed bytes",
        "request": _json(
            "POST",
            "/v1/support/tickets/{gzip_ticket_id}/messages",
            '{"body":"Compressed: ünïcödé"}',
            gzip=True,
        ),
        "expect": {"status": 201, "gzip": True},
    },
    {
        "id": "retry-idempotent-post",
        "title": "the first attempt gets 503 (Retry-After: 0): retry with a fresh jti "
        "and the same Idempotency-Key",
        "request": _json(
            "POST",
            "/v1/payments",
            _PAYMENT,
            headers={"Idempotency-Key": "conformance-retry-0001"},
        ),
        "inject": {"first_attempt_status": 503},
        "expect": {
            "status": 201,
            "attempts": 2,
            "fresh_jti": True,
            "same_idempotency_key": True,
        },
    },
    {
        "id": "clock-server-ahead",
        "title": "the server clock runs 300 s ahead from here on: learn the offset "
        "from token_expired, re-sign with a fresh jti, retry once",
        "server_clock_offset": CLOCK_SKEW,
        "request": _get("/v1/crypto/networks"),
        "expect": {
            "status": 200,
            "attempts": 2,
            "first_refusal": "token_expired",
            "fresh_jti": True,
        },
    },
    {
        "id": "clock-server-behind",
        "title": "the server clock now runs 300 s behind: token_not_yet_valid, the "
        "new offset replaces the old; a POST without Idempotency-Key is re-signed too",
        "server_clock_offset": -CLOCK_SKEW,
        "request": _json("POST", "/v1/customers", _CUSTOMER_FIELDS),
        "expect": {
            "status": 201,
            "attempts": 2,
            "first_refusal": "token_not_yet_valid",
            "fresh_jti": True,
        },
    },
    {
        "id": "offset-kept",
        "title": "the learned offset is kept: the next call passes at once",
        "request": _get("/v1/crypto/assets?limit=5"),
        "expect": {"status": 200},
    },
)


def plan_document() -> dict[str, Any]:
    """Return the plan as published (placeholders left in)."""
    return {
        "description": "Nuvera conformance plan: each case is a request an SDK sends "
        "to `nuvera sandbox conformance`, which grades what arrives. "
        "See docs/spec/conformance.md.",
        "version": PLAN_VERSION,
        "case_header": CASE_HEADER,
        "placeholders": [
            "customer_id",
            "beneficiary_id",
            "spare_beneficiary_id",
            "ticket_id",
            "gzip_ticket_id",
        ],
        "cases": [_published(case) for case in CASES],
    }


def _published(case: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(case))
    request = out["request"]
    if "body_utf8" in request:
        request["body_base64"] = base64.b64encode(
            request["body_utf8"].encode("utf-8")
        ).decode("ascii")
    return dict(out)


def plan_text() -> str:
    """Return ``docs/spec/conformance-plan.json`` as it must read."""
    return json.dumps(plan_document(), indent=2, ensure_ascii=False) + "\n"


def render_plan(plan: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Fill ``{name}`` placeholders with this run's fixture ids."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            for name, actual in values.items():
                value = value.replace("{" + name + "}", actual)
            return value
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    rendered: dict[str, Any] = fill(plan)
    for case in rendered["cases"]:
        request = case["request"]
        if "body_utf8" in request:
            request["body_base64"] = base64.b64encode(
                request["body_utf8"].encode("utf-8")
            ).decode("ascii")
    return rendered


def body_of(request: dict[str, Any]) -> bytes:
    """Return the exact (uncompressed) body bytes a case names, if it names them."""
    text = request.get("body_utf8")
    return b"" if text is None else str(text).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
