"""The sandbox enforces exactly docs/openapi.yaml's string rules (issue 17 findings).

Emails: ``format: email`` as schema tools read it, both ways. Strings: ``minLength``
counts characters (whitespace-only passes), ``""`` is refused where ``minLength: 1``
is declared, body ids are capped where ``maxLength: 64`` is declared.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nuvera_client import NuveraAuth
from proof.operations import seed
from proof.servers import running_sandbox

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
SCHEMAS = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]
EMAIL = jsonschema_rs.validator_for(
    {"type": "string", "format": "email"}, validate_formats=True
)


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with running_sandbox() as env:
        ids = seed(env.base_url, env.app.api_key, env.private_key_pem)
        auth = NuveraAuth(env.app.api_key, env.private_key_pem)
        with httpx.Client(base_url=env.base_url, auth=auth, timeout=30) as http:
            yield http, ids


def _customer(http: httpx.Client, **fields: Any) -> httpx.Response:
    body = {
        "type": "individual",
        "name": "Ada",
        "email": f"{secrets.token_hex(6)}@e.co",
    }
    body.update(fields)
    return http.post("/v1/customers", json=body)


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        (".a@example.com", False),
        ("a..b@example.com", False),
        ("ü@example.com", False),
        ("a@-x.com", False),
        ('"a b"@example.com', True),
        ("user@localhost", True),
        ("a@[127.0.0.1]", True),
    ],
)
def test_issue_examples_follow_format_email(
    api: tuple[httpx.Client, dict[str, str]], email: str, valid: bool
) -> None:
    http, _ = api
    assert EMAIL.is_valid(email) is valid
    response = _customer(http, email=email)
    assert response.status_code == (201 if valid else 422), response.text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(email=st.emails() | st.text(min_size=1, max_size=30))
@example(email="a@b")
@example(email="a@b.c.")
def test_server_agrees_with_the_schema_on_any_email(
    api: tuple[httpx.Client, dict[str, str]], email: str
) -> None:
    http, _ = api
    if len(email) > 254:
        return
    response = _customer(http, email=email)
    if response.status_code == 422:
        fields = response.json()["error"]["details"]["fields"]
        if fields.get("email") == "already exists":
            return
        assert not EMAIL.is_valid(email), (email, fields)
    else:
        assert response.status_code == 201, response.text
        assert EMAIL.is_valid(email), email


def test_whitespace_only_strings_meet_min_length_1(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    http, _ = api
    assert SCHEMAS["CustomerCreateRequest"]["properties"]["name"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
    }
    assert _customer(http, name="   ").status_code == 201
    assert _customer(http, name="").status_code == 422


@pytest.mark.parametrize("name", ["reference", "description"])
def test_empty_payment_texts_are_refused_as_declared(
    api: tuple[httpx.Client, dict[str, str]], name: str
) -> None:
    http, ids = api
    assert SCHEMAS["PaymentCreateRequest"]["properties"][name]["minLength"] == 1
    body = {
        "customer_id": ids["cus"],
        "beneficiary_id": ids["ben"],
        "amount": "1.00",
        "currency": "EUR",
    }
    response = http.post(
        "/v1/payments",
        json={**body, name: ""},
        headers={"idempotency-key": secrets.token_hex(8)},
    )
    assert response.status_code == 422
    assert name in response.json()["error"]["details"]["fields"]
    ok = http.post(
        "/v1/payments",
        json={**body, name: " "},
        headers={"idempotency-key": secrets.token_hex(8)},
    )
    assert ok.status_code == 201, ok.text


def test_empty_memo_is_refused_as_declared(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    http, ids = api
    assert SCHEMAS["CryptoWalletInput"]["properties"]["memo"]["minLength"] == 1
    response = http.post(
        "/v1/beneficiaries",
        json={
            "customer_id": ids["cus"],
            "type": "crypto_wallet",
            "name": "W",
            "currency": "ETH",
            "crypto_wallet": {
                "asset": "ETH",
                "network": "ethereum",
                "address": "0x" + "a" * 40,
                "memo": "",
            },
        },
    )
    assert response.status_code == 422
    assert "crypto_wallet.memo" in response.json()["error"]["details"]["fields"]


def test_body_ids_are_capped_as_declared(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    http, _ = api
    assert SCHEMAS["CustomerId"]["maxLength"] == 64
    response = http.post(
        "/v1/support/tickets",
        json={"subject": "s", "body": "b", "customer_id": "cus_" + "a" * 61},
    )
    assert response.status_code == 422
    assert "at most 64" in response.json()["error"]["details"]["fields"]["customer_id"]
