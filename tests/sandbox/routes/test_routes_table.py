"""The endpoint table, the schema, the seed, and isolation between applications."""

from __future__ import annotations

import ast
import inspect
import re
import sqlite3
from pathlib import Path

import pytest

from nuvera_client import _permissions
from nuvera_client.sandbox import _routes
from nuvera_client.sandbox._routes import ENDPOINTS, SCHEMA_SQL, seed

from .conftest import Api, make_db

PROTOCOL_ROWS = re.compile(
    r"^\| (GET|POST|PATCH|DELETE) \| `(/[^`]+)` \| ([A-Z_]+) \|", re.MULTILINE
)


def test_exactly_the_28_rows_of_protocol_5_1() -> None:
    rows = {(e.method, e.path, e.permission) for e in ENDPOINTS}
    assert len(ENDPOINTS) == 28
    assert len(rows) == 28
    expected = {(m, p, str(perm)) for m, p, perm in _permissions.ENDPOINTS}
    assert rows == expected


def test_rows_match_protocol_text() -> None:
    protocol = Path("/work/shared/PROTOCOL.md")
    if not protocol.exists():
        pytest.skip("PROTOCOL.md not available")
    found = {
        (m, "/v1" + p, perm)
        for m, p, perm in PROTOCOL_ROWS.findall(protocol.read_text())
    }
    assert {(e.method, e.path, e.permission) for e in ENDPOINTS} == found


def test_handlers_are_coroutine_functions_with_docstrings() -> None:
    for endpoint in ENDPOINTS:
        assert inspect.iscoroutinefunction(endpoint.handler), endpoint
        assert endpoint.handler.__doc__, endpoint


def test_sandbox_routes_import_nothing_from_the_client_side() -> None:
    banned = (
        "nuvera_client._signer",
        "nuvera_client._auth",
        "nuvera_client._api_key",
        "nuvera_client.keys",
        "nuvera_client._client",
        "nuvera_client.models",
    )
    for path in Path(_routes.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(banned), (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(banned), (path, alias.name)


def test_schema_and_seed_are_idempotent() -> None:
    db = make_db()
    try:
        db.executescript(SCHEMA_SQL)
        seed(db)
        seed(db)
        assert db.execute("SELECT COUNT(*) FROM crypto_assets").fetchone()[0] == 8
        assert db.execute("SELECT COUNT(*) FROM crypto_networks").fetchone()[0] == 7
        links = db.execute("SELECT COUNT(*) FROM crypto_asset_networks").fetchone()[0]
        assert links == 1 + 3 + 5 + 3 + 1 + 1 + 1 + 2
    finally:
        db.close()


def test_every_domain_table_is_scoped_by_application() -> None:
    db = make_db()
    try:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'crypto_%'"
            )
        ]
        assert len(tables) == 8
        for table in tables:
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            assert "application_id" in columns, table
            assert "seq" in columns, table
    finally:
        db.close()


@pytest.mark.anyio
async def test_applications_never_see_each_others_data(
    api: Api, other_api: Api
) -> None:
    customer = await api.customer()
    beneficiary = await api.bank_beneficiary(customer["id"])
    ticket = await api.post("/v1/support/tickets", {"subject": "Hi", "body": "Hello"})
    for target in (
        f"/v1/customers/{customer['id']}",
        f"/v1/beneficiaries/{beneficiary['id']}",
        f"/v1/support/tickets/{ticket.body['id']}",
    ):
        assert (await other_api.get(target)).error["code"] == "not_found"
    for target in (
        "/v1/customers",
        "/v1/beneficiaries",
        "/v1/screening/results",
        "/v1/support/tickets",
        "/v1/payments",
        "/v1/documents",
    ):
        assert (await other_api.get(target)).body["data"] == []
        assert (await api.get(target)).status == 200
    # The other application may reuse the same email: uniqueness is per application.
    await other_api.customer(email=customer["email"])
    # ... and cannot attach a beneficiary to this application's customer.
    result = await other_api.post(
        "/v1/beneficiaries",
        {
            "customer_id": customer["id"],
            "type": "bank_account",
            "name": "X",
            "currency": "EUR",
            "bank_account": {"iban": "DE89370400440532013000"},
        },
    )
    assert result.fields == {"customer_id": "no such customer"}


@pytest.mark.anyio
async def test_ids_have_the_prefix_form_with_either_new_id_convention(api: Api) -> None:
    for style in ("plain", "underscore"):
        api.new_id_style = style
        customer = await api.customer()
        assert re.fullmatch(r"cus_[0-9A-Za-z]{24}", customer["id"])


def test_a_connection_without_row_factory_works_too() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(SCHEMA_SQL)
    seed(db)
    assert (
        db.execute("SELECT code FROM crypto_assets ORDER BY seq").fetchone()[0] == "BTC"
    )
    db.close()
