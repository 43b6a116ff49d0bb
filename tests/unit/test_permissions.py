from __future__ import annotations

import pytest

from nuvera_client._permissions import (
    ENDPOINTS,
    InvalidPermissionsError,
    Permission,
    validate_permissions,
)
from nuvera_client.errors import ConfigurationError


def test_twelve_permissions() -> None:
    assert len(Permission) == 12
    assert {p.value for p in Permission} == {
        f"{area}_{kind}"
        for area in ("CUSTOMERS", "BENEFICIARIES", "DOCUMENTS", "PAYMENTS", "SUPPORT")
        for kind in ("READ", "WRITE")
    } | {"CRYPTO_READ", "SCREENING_READ"}


def test_endpoint_table_covers_protocol() -> None:
    assert len(ENDPOINTS) == 28
    assert len({(m, t) for m, t, _ in ENDPOINTS}) == 28


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/customers", "CUSTOMERS_READ"),
        ("post", "/v1/customers", "CUSTOMERS_WRITE"),
        ("GET", "/v1/customers/cus_123?expand=x", "CUSTOMERS_READ"),
        ("PATCH", "/v1/customers/cus_123", "CUSTOMERS_WRITE"),
        ("DELETE", "/v1/beneficiaries/ben_1", "BENEFICIARIES_WRITE"),
        ("GET", "/v1/documents/doc_1/content", "DOCUMENTS_READ"),
        ("GET", "/v1/crypto/assets/BTC", "CRYPTO_READ"),
        ("GET", "/v1/crypto/networks", "CRYPTO_READ"),
        ("POST", "/v1/payments/pay_1/cancel", "PAYMENTS_WRITE"),
        ("GET", "/v1/screening/results/scr_1", "SCREENING_READ"),
        ("POST", "/v1/support/tickets/tkt_1/close", "SUPPORT_WRITE"),
        ("GET", "/v1/support/tickets/tkt_1/messages", "SUPPORT_READ"),
        ("POST", "/v1/support/tickets/tkt_1/messages", "SUPPORT_WRITE"),
        ("GET", "/payments", "PAYMENTS_READ"),
        ("GET", "/v1/customers/", "CUSTOMERS_READ"),
    ],
)
def test_required_for(method: str, path: str, expected: str) -> None:
    assert Permission.required_for(method, path) is Permission(expected)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/customers/cus_1"),
        ("GET", "/v1/unknown"),
        ("PUT", "/v1/payments/pay_1"),
        ("GET", "/v1/customers/cus_1/extra"),
        ("GET", "/v1/customers//x"),
    ],
)
def test_required_for_unknown(method: str, path: str) -> None:
    with pytest.raises(KeyError):
        Permission.required_for(method, path)


def test_validate_accepts_reads_and_pairs() -> None:
    got = validate_permissions(["CUSTOMERS_READ", "customers_write", "CRYPTO_READ"])
    assert got == {
        Permission.CUSTOMERS_READ,
        Permission.CUSTOMERS_WRITE,
        Permission.CRYPTO_READ,
    }
    assert validate_permissions([]) == frozenset()
    assert validate_permissions("PAYMENTS_READ,PAYMENTS_WRITE") == {
        Permission.PAYMENTS_READ,
        Permission.PAYMENTS_WRITE,
    }


def test_validate_write_needs_read() -> None:
    with pytest.raises(InvalidPermissionsError) as info:
        validate_permissions(["PAYMENTS_WRITE", "SUPPORT_WRITE", "SUPPORT_READ"])
    assert isinstance(info.value, ConfigurationError)
    text = str(info.value)
    assert "PAYMENTS_WRITE needs PAYMENTS_READ" in text
    assert "SUPPORT" not in text


def test_validate_unknown_name() -> None:
    with pytest.raises(InvalidPermissionsError, match="unknown permission 'ADMIN'"):
        validate_permissions(["ADMIN"])


def test_read_permission_and_str() -> None:
    assert Permission.DOCUMENTS_WRITE.read_permission is Permission.DOCUMENTS_READ
    assert Permission.DOCUMENTS_READ.read_permission is Permission.DOCUMENTS_READ
    assert str(Permission.CRYPTO_READ) == "CRYPTO_READ"
    assert Permission.CRYPTO_READ == "CRYPTO_READ"


@pytest.mark.parametrize(
    ("typo", "guess"),
    [
        ("CUSTOMER_READ", "CUSTOMERS_READ"),
        ("payment_write", "PAYMENTS_WRITE"),
        ("SUPORT_READ", "SUPPORT_READ"),
    ],
)
def test_unknown_permission_suggests_the_closest(typo: str, guess: str) -> None:
    with pytest.raises(InvalidPermissionsError, match=f"did you mean {guess}\\?"):
        Permission.parse(typo)


def test_no_suggestion_for_nonsense() -> None:
    with pytest.raises(InvalidPermissionsError) as info:
        Permission.parse("xyz")
    assert "did you mean" not in str(info.value)
