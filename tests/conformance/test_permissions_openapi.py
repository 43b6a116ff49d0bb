"""PROTOCOL §5 permissions (client, sandbox) and docs/openapi.yaml against §2-§7."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import Permission, validate_permissions
from nuvera_client.errors import ConfigurationError
from nuvera_client.sandbox import Sandbox, SandboxError, SandboxServer

from .conftest import ALL_PERMISSIONS, assert_error, make_caller

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"

# PROTOCOL §5.1, transcribed: method, path, permission, paginated.
TABLE: list[tuple[str, str, str, bool]] = [
    ("GET", "/customers", "CUSTOMERS_READ", True),
    ("POST", "/customers", "CUSTOMERS_WRITE", False),
    ("GET", "/customers/{id}", "CUSTOMERS_READ", False),
    ("PATCH", "/customers/{id}", "CUSTOMERS_WRITE", False),
    ("GET", "/beneficiaries", "BENEFICIARIES_READ", True),
    ("POST", "/beneficiaries", "BENEFICIARIES_WRITE", False),
    ("GET", "/beneficiaries/{id}", "BENEFICIARIES_READ", False),
    ("PATCH", "/beneficiaries/{id}", "BENEFICIARIES_WRITE", False),
    ("DELETE", "/beneficiaries/{id}", "BENEFICIARIES_WRITE", False),
    ("GET", "/documents", "DOCUMENTS_READ", True),
    ("POST", "/documents", "DOCUMENTS_WRITE", False),
    ("GET", "/documents/{id}", "DOCUMENTS_READ", False),
    ("GET", "/documents/{id}/content", "DOCUMENTS_READ", False),
    ("GET", "/crypto/assets", "CRYPTO_READ", True),
    ("GET", "/crypto/assets/{code}", "CRYPTO_READ", False),
    ("GET", "/crypto/networks", "CRYPTO_READ", True),
    ("GET", "/payments", "PAYMENTS_READ", True),
    ("POST", "/payments", "PAYMENTS_WRITE", False),
    ("GET", "/payments/{id}", "PAYMENTS_READ", False),
    ("POST", "/payments/{id}/cancel", "PAYMENTS_WRITE", False),
    ("GET", "/screening/results", "SCREENING_READ", True),
    ("GET", "/screening/results/{id}", "SCREENING_READ", False),
    ("GET", "/support/tickets", "SUPPORT_READ", True),
    ("POST", "/support/tickets", "SUPPORT_WRITE", False),
    ("GET", "/support/tickets/{id}", "SUPPORT_READ", False),
    ("POST", "/support/tickets/{id}/close", "SUPPORT_WRITE", False),
    ("GET", "/support/tickets/{id}/messages", "SUPPORT_READ", True),
    ("POST", "/support/tickets/{id}/messages", "SUPPORT_WRITE", False),
]
IDS = {
    "customers": "cus_",
    "beneficiaries": "ben_",
    "documents": "doc_",
    "payments": "pay_",
    "results": "scr_",
    "tickets": "tkt_",
}


def _concrete(path: str) -> str:
    parts = path.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        if part == "{id}":
            out.append(IDS[parts[i - 1]] + "3kT9wQ2mZ8bX5vL1nR7pY4cD")
        elif part == "{code}":
            out.append("BTC")
        else:
            out.append(part)
    return "/v1/" + "/".join(out)


def _row_id(row: tuple[str, str, str, bool]) -> str:
    return f"{row[0]} {row[1]}"


def test_permission_enum_is_section_5() -> None:
    names = {
        f"{a}_{rw}"
        for a in ("CUSTOMERS", "BENEFICIARIES", "DOCUMENTS", "PAYMENTS", "SUPPORT")
        for rw in ("READ", "WRITE")
    }
    names |= {"CRYPTO_READ", "SCREENING_READ"}
    assert {p.value for p in Permission} == names
    assert set(ALL_PERMISSIONS) == names


@pytest.mark.parametrize("row", TABLE, ids=_row_id)
def test_required_for(row: tuple[str, str, str, bool]) -> None:
    method, path, permission, _ = row
    concrete = _concrete(path)
    assert Permission.required_for(method, concrete) == permission
    assert Permission.required_for(method.lower(), concrete + "?limit=1") == permission
    assert Permission.required_for(method, concrete.removeprefix("/v1")) == permission


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/customers"),
        ("GET", "/v1/nothing"),
        ("DELETE", "/v1/customers/cus_1"),
        ("GET", "/v1/crypto/networks/ethereum"),
        ("POST", "/v1/documents/doc_1/content"),
    ],
)
def test_required_for_unknown(method: str, path: str) -> None:
    with pytest.raises(KeyError):
        Permission.required_for(method, path)


def test_write_needs_read() -> None:
    with pytest.raises(ConfigurationError, match="CUSTOMERS_READ"):
        validate_permissions(["CUSTOMERS_WRITE"])
    validate_permissions(["CUSTOMERS_WRITE", "CUSTOMERS_READ", "CRYPTO_READ"])
    with Sandbox() as sandbox, pytest.raises(SandboxError, match="PAYMENTS_READ"):
        sandbox.create_application(name="w", permissions=["PAYMENTS_WRITE"])


@pytest.fixture(scope="module")
def denied_server() -> Iterator[SandboxServer]:
    with Sandbox() as sandbox, sandbox.serve(port=0) as srv:
        yield srv


@pytest.mark.parametrize("row", TABLE, ids=_row_id)
def test_sandbox_enforces_the_table(
    denied_server: SandboxServer,
    conf_key: rsa.RSAPrivateKey,
    row: tuple[str, str, str, bool],
) -> None:
    method, path, permission, _ = row
    others = [
        p
        for p in ALL_PERMISSIONS
        if p != permission and p != permission.replace("_READ", "_WRITE")
    ]
    c = make_caller(denied_server, conf_key, others, name=f"deny-{permission}")
    resp = c.send(
        method, _concrete(path), b"{}" if method in {"POST", "PATCH"} else b""
    )
    assert_error(
        resp,
        403,
        "permission_error",
        "permission_denied",
        {"required_permission": permission},
    )
    # And with the permission (and its READ) granted, it is not a permission error.
    granted = sorted({permission, permission.replace("_WRITE", "_READ")})
    g = make_caller(denied_server, conf_key, granted, name=f"grant-{permission}")
    resp = g.send(
        method, _concrete(path), b"{}" if method in {"POST", "PATCH"} else b""
    )
    assert resp.status != 403, resp.body


# --- docs/openapi.yaml ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data = yaml.safe_load(OPENAPI.read_text())
    assert isinstance(data, dict)
    return data


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    for _ in range(20):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_openapi_operations_are_the_table(spec: dict[str, Any]) -> None:
    ops = {
        (method.upper(), path.removeprefix("/v1"))
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete", "head", "options"}
    }
    assert ops == {(m, p) for m, p, _, _ in TABLE}


@pytest.mark.parametrize("row", TABLE, ids=_row_id)
def test_openapi_operation(
    spec: dict[str, Any], row: tuple[str, str, str, bool]
) -> None:
    method, path, permission, paginated = row
    op = spec["paths"]["/v1" + path][method.lower()]
    assert op["x-nuvera-permission"] == permission
    params = [_resolve(spec, p) for p in op.get("parameters", [])]
    names = {(p["in"], p["name"]) for p in params}
    if paginated:
        assert {("query", "limit"), ("query", "cursor")} <= names
    idem = [p for p in params if p["name"] == "Idempotency-Key"]
    if method == "POST":
        assert len(idem) == 1
        assert idem[0]["required"] is (path == "/payments")
    else:
        assert idem == []
    responses = op["responses"]
    for status in ("401", "403"):
        assert status in responses, (method, path, status)
    for status, response in responses.items():
        response = _resolve(spec, response)
        headers = {h.lower() for h in response.get("headers", {})}
        assert {"x-request-id", "date"} <= headers, (method, path, status)
        if status.startswith(("4", "5")):
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}
    if method == "POST" and path == "/payments":
        assert "422" in responses


def test_openapi_error_codes_cover_the_protocol(spec: dict[str, Any]) -> None:
    codes = set(spec["components"]["schemas"]["ErrorCode"]["enum"])
    section3 = {
        "missing_api_key",
        "invalid_api_key",
        "api_key_revoked",
        "application_disabled",
        "missing_signature",
        "malformed_token",
        "unsupported_algorithm",
        "unknown_signing_key",
        "invalid_signature",
        "invalid_issuer",
        "invalid_audience",
        "invalid_lifetime",
        "token_not_yet_valid",
        "token_expired",
        "replayed_jti",
        "method_mismatch",
        "uri_mismatch",
        "body_hash_mismatch",
        "permission_denied",
    }
    section6 = {
        "invalid_request",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
        "unsupported_media_type",
        "unsupported_content_encoding",
        "validation_failed",
        "rate_limited",
        "internal_error",
        "unavailable",
        "idempotency_key_required",
        "invalid_idempotency_key",
        "idempotency_conflict",
        "idempotency_in_progress",
    }
    assert section3 | section6 <= codes
    types = set(spec["components"]["schemas"]["ErrorType"]["enum"])
    assert types == {
        "authentication_error",
        "permission_error",
        "not_found_error",
        "idempotency_error",
        "validation_error",
        "invalid_request_error",
        "rate_limit_error",
        "api_error",
    }
    err = spec["components"]["schemas"]["ErrorObject"]
    assert set(err["required"]) == {"type", "code", "message", "request_id", "details"}


def _walk(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_openapi_has_no_float_numbers(spec: dict[str, Any]) -> None:
    floats = [
        p
        for p, node in _walk(spec["components"]["schemas"])
        if node.get("type") == "number" or node.get("type") == ["number", "null"]
    ]
    assert floats == []


def test_openapi_money_fields_are_strings(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("Payment", "PaymentCreateRequest"):
        amount = _resolve(spec, schemas[name]["properties"]["amount"])
        assert amount["type"] == "string"


def test_openapi_lists_have_the_section_6_shape(spec: dict[str, Any]) -> None:
    lists = [n for n in spec["components"]["schemas"] if n.endswith("List")]
    assert len(lists) >= 8
    for name in lists:
        schema = spec["components"]["schemas"][name]
        assert set(schema["required"]) == {"data", "has_more", "next_cursor"}, name
        assert schema["properties"]["has_more"] == {"type": "boolean"}


def test_openapi_servers_are_section_7(spec: dict[str, Any]) -> None:
    urls = [s["url"] for s in spec["servers"]]
    assert urls == [
        "https://api.nuvera.com",
        "https://api.sandbox.nuvera.com",
        "http://127.0.0.1:8787",
    ]
    assert spec["security"] == [{"ApiKey": [], "BearerJWT": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "x-api-key"
