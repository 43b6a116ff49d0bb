"""Owns loading docs/openapi.yaml and validating JSON against its schemas."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "docs" / "openapi.yaml"
BASE_URI = "urn:nuvera:openapi"
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")

# PROTOCOL.md §5.1, copied so the docs test does not depend on a file outside the repo.
PROTOCOL_ENDPOINTS: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("GET", "/v1/customers", "CUSTOMERS_READ"),
        ("POST", "/v1/customers", "CUSTOMERS_WRITE"),
        ("GET", "/v1/customers/{id}", "CUSTOMERS_READ"),
        ("PATCH", "/v1/customers/{id}", "CUSTOMERS_WRITE"),
        ("GET", "/v1/beneficiaries", "BENEFICIARIES_READ"),
        ("POST", "/v1/beneficiaries", "BENEFICIARIES_WRITE"),
        ("GET", "/v1/beneficiaries/{id}", "BENEFICIARIES_READ"),
        ("PATCH", "/v1/beneficiaries/{id}", "BENEFICIARIES_WRITE"),
        ("DELETE", "/v1/beneficiaries/{id}", "BENEFICIARIES_WRITE"),
        ("GET", "/v1/documents", "DOCUMENTS_READ"),
        ("POST", "/v1/documents", "DOCUMENTS_WRITE"),
        ("GET", "/v1/documents/{id}", "DOCUMENTS_READ"),
        ("GET", "/v1/documents/{id}/content", "DOCUMENTS_READ"),
        ("GET", "/v1/crypto/assets", "CRYPTO_READ"),
        ("GET", "/v1/crypto/assets/{code}", "CRYPTO_READ"),
        ("GET", "/v1/crypto/networks", "CRYPTO_READ"),
        ("GET", "/v1/payments", "PAYMENTS_READ"),
        ("POST", "/v1/payments", "PAYMENTS_WRITE"),
        ("GET", "/v1/payments/{id}", "PAYMENTS_READ"),
        ("POST", "/v1/payments/{id}/cancel", "PAYMENTS_WRITE"),
        ("GET", "/v1/screening/results", "SCREENING_READ"),
        ("GET", "/v1/screening/results/{id}", "SCREENING_READ"),
        ("GET", "/v1/support/tickets", "SUPPORT_READ"),
        ("POST", "/v1/support/tickets", "SUPPORT_WRITE"),
        ("GET", "/v1/support/tickets/{id}", "SUPPORT_READ"),
        ("POST", "/v1/support/tickets/{id}/close", "SUPPORT_WRITE"),
        ("GET", "/v1/support/tickets/{id}/messages", "SUPPORT_READ"),
        ("POST", "/v1/support/tickets/{id}/messages", "SUPPORT_WRITE"),
    }
)


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


@FORMATS.checks("decimal", raises=InvalidOperation)
def _is_decimal(value: object) -> bool:
    return not isinstance(value, str) or Decimal(value).is_finite()


@cache
def load_hook() -> ModuleType:
    """Import docs/hooks/openapi_pages.py (it is not a package module)."""
    spec = importlib.util.spec_from_file_location(
        "openapi_pages", ROOT / "docs" / "hooks" / "openapi_pages.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def load_openapi() -> dict[str, Any]:
    """Return the parsed OpenAPI document (cached; do not mutate)."""
    with OPENAPI_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (METHOD, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` chains until a node without ``$ref``."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        node = pointer(document, node["$ref"])
        seen += 1
    return node


def pointer(document: dict[str, Any], ref: str) -> Any:
    """Return the node a local reference ``#/a/b`` points to (KeyError if none)."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _closed(node: Any) -> Any:
    """Forbid unknown members in every object schema that lists its properties."""
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


@cache
def _registry(strict: bool) -> Registry[Any]:
    document = copy.deepcopy(load_openapi())
    if strict:
        document = _closed(document)
    resource: Resource[Any] = Resource.from_contents(
        document, default_specification=DRAFT202012
    )
    registry: Registry[Any] = Registry().with_resource(BASE_URI, resource)
    return registry


def validator_for(
    schema: dict[str, Any], *, strict: bool = False
) -> Draft202012Validator:
    """Build a Draft 2020-12 validator whose local ``$ref`` resolve in openapi.yaml.

    With ``strict``, response objects refuse members the file does not list (the
    file itself lets them grow; the sandbox and the SDK must agree field for field).
    """
    registry = _registry(strict)
    target = _rebase(_closed(schema) if strict else schema)
    return Draft202012Validator(
        target,
        registry=registry,
        format_checker=FORMATS,
    )


def _rebase(node: Any) -> Any:
    """Point local references at the registered document."""
    if isinstance(node, dict):
        return {
            key: (
                BASE_URI + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _rebase(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def component_validator(name: str, *, strict: bool = False) -> Draft202012Validator:
    """Return a validator for ``#/components/schemas/<name>``."""
    return validator_for({"$ref": f"#/components/schemas/{name}"}, strict=strict)
