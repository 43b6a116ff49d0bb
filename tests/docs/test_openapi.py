"""docs/openapi.yaml: loads, covers PROTOCOL §5.1 exactly, and its schemas are sound."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .openapi_support import (
    PROTOCOL_ENDPOINTS,
    component_validator,
    load_openapi,
    operations,
    pointer,
    resolve,
    validator_for,
)

DOC = load_openapi()

ERROR_CODES = {
    # PROTOCOL §3
    "missing_api_key", "invalid_api_key", "api_key_revoked", "application_disabled",
    "missing_signature", "malformed_token", "unsupported_algorithm",
    "unknown_signing_key", "invalid_signature", "invalid_issuer", "invalid_audience",
    "invalid_lifetime", "token_not_yet_valid", "token_expired", "replayed_jti",
    "method_mismatch", "uri_mismatch", "body_hash_mismatch", "permission_denied",
    # §3.1 and §6
    "idempotency_key_required", "invalid_idempotency_key", "idempotency_conflict",
    "idempotency_in_progress", "invalid_request", "not_found", "method_not_allowed",
    "payload_too_large", "unsupported_media_type", "unsupported_content_encoding",
    "validation_failed", "rate_limited",
    "internal_error", "unavailable",
    # resources.md
    "invalid_state",
}  # fmt: skip


def _walk(node: Any, path: str = "#") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _media_schemas() -> Any:
    for method, path, op in operations(DOC):
        body = resolve(DOC, op.get("requestBody", {}))
        for media, content in body.get("content", {}).items():
            yield f"{method} {path} request {media}", content["schema"]
        for status, response in op["responses"].items():
            response = resolve(DOC, response)
            for media, content in response.get("content", {}).items():
                yield f"{method} {path} {status} {media}", content["schema"]


def test_is_openapi_3_1_with_both_security_schemes() -> None:
    assert DOC["openapi"] == "3.1.0"
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["ApiKey"]["name"] == "x-api-key"
    assert schemes["BearerJWT"]["scheme"] == "bearer"
    for claim in ("iss", "aud", "iat", "exp", "jti", "method", "uri", "body_hash"):
        assert f"`{claim}`" in schemes["BearerJWT"]["description"]
    assert DOC["security"] == [{"ApiKey": [], "BearerJWT": []}]


def test_operations_match_protocol_table_one_to_one() -> None:
    found = [(m, p, op["x-nuvera-permission"]) for m, p, op in operations(DOC)]
    assert len(found) == len(set(found)) == 28
    assert set(found) == PROTOCOL_ENDPOINTS


def test_operation_ids_are_unique_and_named_area_verb() -> None:
    ids = [op["operationId"] for _, _, op in operations(DOC)]
    assert len(ids) == len(set(ids))
    verbs = "list|create|retrieve|update|delete|upload|download|cancel|close"
    for op_id in ids:
        assert re.fullmatch(rf"[a-z]+(_[a-z]+)?_({verbs})", op_id), op_id


def test_every_ref_resolves() -> None:
    refs = [(where, node["$ref"]) for where, node in _walk(DOC) if "$ref" in node]
    assert len(refs) > 300
    for where, ref in refs:
        try:
            pointer(DOC, ref)
        except (KeyError, IndexError, TypeError):
            pytest.fail(f"{where}: $ref {ref} does not resolve")


@pytest.mark.parametrize("name", sorted(DOC["components"]["schemas"]))
def test_component_schema_is_valid_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(DOC["components"]["schemas"][name])


def test_every_request_and_response_schema_is_valid_2020_12() -> None:
    seen = 0
    for where, schema in _media_schemas():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:
            pytest.fail(f"{where}: {exc}")
        seen += 1
    assert seen >= 28 * 5


def test_request_bodies_are_closed() -> None:
    for method, path, op in operations(DOC):
        body = op.get("requestBody")
        if body is None:
            assert method in {"GET", "DELETE"} or path.endswith(("/cancel", "/close"))
            continue
        for content in body["content"].values():
            schema = resolve(DOC, content["schema"])
            variants = [resolve(DOC, v) for v in schema.get("oneOf", [schema])]
            for variant in variants:
                assert variant["type"] == "object", (method, path)
                assert variant["additionalProperties"] is False, (method, path)


def test_every_response_carries_request_id_and_date() -> None:
    for method, path, op in operations(DOC):
        for status, response in op["responses"].items():
            headers = resolve(DOC, response).get("headers", {})
            assert {"x-request-id", "Date"} <= set(headers), (method, path, status)
            if status == "429":
                assert "Retry-After" in headers
            if method == "POST" and status.startswith("2"):
                assert "Idempotent-Replayed" in headers, (method, path)


def test_idempotency_key_required_only_on_payment_creation() -> None:
    for method, path, op in operations(DOC):
        params = [resolve(DOC, p) for p in op.get("parameters", [])]
        keys = [p for p in params if p["name"] == "Idempotency-Key"]
        if method != "POST":
            assert keys == []
            continue
        assert len(keys) == 1, path
        assert keys[0]["in"] == "header"
        assert keys[0]["required"] is (path == "/v1/payments")


def test_paginated_lists_take_limit_and_cursor_and_return_the_envelope() -> None:
    for _method, path, op in operations(DOC):
        if not op["operationId"].endswith("_list"):
            continue
        names = {resolve(DOC, p)["name"] for p in op["parameters"]}
        assert {"limit", "cursor"} <= names, path
        schema = resolve(
            DOC, op["responses"]["200"]["content"]["application/json"]["schema"]
        )
        assert schema["required"] == ["data", "has_more", "next_cursor"]


def test_multipart_and_binary_operations() -> None:
    upload = DOC["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    upload_schema = resolve(DOC, upload["multipart/form-data"]["schema"])
    assert upload_schema["required"] == ["customer_id", "type", "file"]
    messages = DOC["paths"]["/v1/support/tickets/{id}/messages"]["post"]["requestBody"]
    assert set(messages["content"]) == {"application/json", "multipart/form-data"}
    download = DOC["paths"]["/v1/documents/{id}/content"]["get"]["responses"]["200"]
    assert list(download["content"]) == ["*/*"]


def test_error_codes_are_all_listed() -> None:
    assert set(DOC["components"]["schemas"]["ErrorCode"]["enum"]) == ERROR_CODES


def test_examples_validate_against_their_schemas() -> None:
    count = 0
    for name, response in DOC["components"]["responses"].items():
        for content in response.get("content", {}).values():
            validator = validator_for(content["schema"])
            for example in content.get("examples", {}).values():
                errors = list(validator.iter_errors(example["value"]))
                assert errors == [], (name, errors)
                count += 1
    assert count >= 3


CUSTOMER: dict[str, Any] = {
    "id": "cus_4fRt8ZkQ2mNp7Lx1Va9Cb3Dw",
    "object": "customer",
    "type": "individual",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": None,
    "country": "GB",
    "external_id": None,
    "status": "active",
    "kyc_status": "not_started",
    "metadata": {},
    "created_at": "2026-11-27T21:53:40Z",
    "updated_at": "2026-11-27T21:53:40Z",
}


def test_schemas_accept_a_real_customer_and_refuse_drift() -> None:
    strict = component_validator("Customer", strict=True)
    assert list(strict.iter_errors(CUSTOMER)) == []
    assert not strict.is_valid({**CUSTOMER, "surprise": 1})
    assert not strict.is_valid({k: v for k, v in CUSTOMER.items() if k != "phone"})
    assert not strict.is_valid({**CUSTOMER, "created_at": "yesterday"})
    # Lenient by default: responses may grow new fields.
    assert component_validator("Customer").is_valid({**CUSTOMER, "surprise": 1})


def test_money_is_a_decimal_string_never_a_number() -> None:
    money = component_validator("Money")
    assert money.is_valid("1250.00")
    assert money.is_valid("-0.5")
    for bad in (1250.0, 1250, "1,250.00", "1e3", ".5", ""):
        assert not money.is_valid(bad), bad


def test_beneficiary_create_needs_exactly_the_matching_object() -> None:
    create = component_validator("BeneficiaryCreateRequest")
    base = {"customer_id": "cus_1", "name": "Rent", "currency": "EUR"}
    bank = {"iban": "DE89370400440532013000"}
    wallet = {"asset": "USDC", "network": "ethereum", "address": "0x" + "a" * 40}
    assert create.is_valid({**base, "type": "bank_account", "bank_account": bank})
    assert create.is_valid({**base, "type": "crypto_wallet", "crypto_wallet": wallet})
    assert not create.is_valid(
        {**base, "type": "bank_account", "crypto_wallet": wallet}
    )
    assert not create.is_valid(
        {**base, "type": "bank_account", "bank_account": bank, "crypto_wallet": wallet}
    )


def test_error_shape_requires_details() -> None:
    error = component_validator("Error")
    body = {
        "type": "not_found_error",
        "code": "not_found",
        "message": "No such customer",
        "request_id": "req_1",
        "details": {},
    }
    assert error.is_valid({"error": body})
    assert not error.is_valid(
        {"error": {k: v for k, v in body.items() if k != "details"}}
    )
    assert not error.is_valid({"error": {**body, "code": "made_up"}})


def test_path_parameters_are_declared_exactly() -> None:
    for path, item in DOC["paths"].items():
        in_path = set(re.findall(r"\{([a-z_]+)\}", path))
        for method in ("get", "post", "patch", "delete"):
            if method not in item:
                continue
            params = [
                resolve(DOC, p)
                for p in [
                    *item.get("parameters", []),
                    *item[method].get("parameters", []),
                ]
            ]
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == in_path, (method, path)
            assert all(p["required"] for p in params if p["in"] == "path")
            assert {p["in"] for p in params} <= {"path", "query", "header"}


def test_tags_and_security_schemes_are_declared() -> None:
    tags = {tag["name"] for tag in DOC["tags"]}
    schemes = set(DOC["components"]["securitySchemes"])
    for requirement in DOC["security"]:
        assert set(requirement) <= schemes
    for _, _, op in operations(DOC):
        assert len(op["tags"]) == 1
        assert op["tags"][0] in tags
        assert op["summary"]
        assert all(re.fullmatch(r"[1-5]\d\d", status) for status in op["responses"])
