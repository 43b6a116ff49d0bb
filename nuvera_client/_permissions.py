"""Owns the 12 permissions, the endpoint -> permission table (PROTOCOL §5.1)."""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable

from nuvera_client.errors import InvalidPermissionsError

__all__ = [
    "ENDPOINTS",
    "InvalidPermissionsError",
    "Permission",
    "validate_permissions",
]


class Permission(str, enum.Enum):
    """One of the 12 permissions an API application can hold (PROTOCOL §5)."""

    CUSTOMERS_READ = "CUSTOMERS_READ"
    CUSTOMERS_WRITE = "CUSTOMERS_WRITE"
    BENEFICIARIES_READ = "BENEFICIARIES_READ"
    BENEFICIARIES_WRITE = "BENEFICIARIES_WRITE"
    DOCUMENTS_READ = "DOCUMENTS_READ"
    DOCUMENTS_WRITE = "DOCUMENTS_WRITE"
    CRYPTO_READ = "CRYPTO_READ"
    PAYMENTS_READ = "PAYMENTS_READ"
    PAYMENTS_WRITE = "PAYMENTS_WRITE"
    SCREENING_READ = "SCREENING_READ"
    SUPPORT_READ = "SUPPORT_READ"
    SUPPORT_WRITE = "SUPPORT_WRITE"

    def __str__(self) -> str:
        return self.value

    @property
    def read_permission(self) -> Permission:
        """The ``*_READ`` of this permission's area (itself for a read)."""
        return Permission(self.value.rsplit("_", 1)[0] + "_READ")

    @property
    def is_write(self) -> bool:
        """Whether this is a ``*_WRITE`` permission."""
        return self.value.endswith("_WRITE")

    @classmethod
    def parse(cls, value: str | Permission) -> Permission:
        """Return the permission named ``value`` (case-insensitive).

        Raises:
            InvalidPermissionsError: no such permission.
        """
        if isinstance(value, Permission):
            return value
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            known = [p.value for p in cls]
            close = difflib.get_close_matches(str(value).strip().upper(), known, n=1)
            guess = f"did you mean {close[0]}? " if close else ""
            raise InvalidPermissionsError(
                f"unknown permission {value!r}; {guess}known permissions: "
                f"{', '.join(known)}"
            ) from None

    @classmethod
    def required_for(cls, method: str, path: str) -> Permission:
        """Return the permission an endpoint of PROTOCOL §5.1 needs.

        Args:
            method: the HTTP method (any case).
            path: the request path, with or without ``/v1`` and a query string,
                e.g. ``/v1/customers/cus_123?expand=x``.

        Raises:
            KeyError: the method and path are not an endpoint of the API.
        """
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if not clean.startswith("/v1/"):
            clean = "/v1" + ("" if clean.startswith("/") else "/") + clean
        clean = clean.rstrip("/") or "/"
        upper = method.upper()
        for endpoint_method, pattern, permission in _COMPILED:
            if endpoint_method == upper and pattern.fullmatch(clean):
                return permission
        raise KeyError(f"{upper} {path} is not an endpoint of the Nuvera API v1")


P = Permission

ENDPOINTS: tuple[tuple[str, str, Permission], ...] = (
    ("GET", "/v1/customers", P.CUSTOMERS_READ),
    ("POST", "/v1/customers", P.CUSTOMERS_WRITE),
    ("GET", "/v1/customers/{id}", P.CUSTOMERS_READ),
    ("PATCH", "/v1/customers/{id}", P.CUSTOMERS_WRITE),
    ("GET", "/v1/beneficiaries", P.BENEFICIARIES_READ),
    ("POST", "/v1/beneficiaries", P.BENEFICIARIES_WRITE),
    ("GET", "/v1/beneficiaries/{id}", P.BENEFICIARIES_READ),
    ("PATCH", "/v1/beneficiaries/{id}", P.BENEFICIARIES_WRITE),
    ("DELETE", "/v1/beneficiaries/{id}", P.BENEFICIARIES_WRITE),
    ("GET", "/v1/documents", P.DOCUMENTS_READ),
    ("POST", "/v1/documents", P.DOCUMENTS_WRITE),
    ("GET", "/v1/documents/{id}", P.DOCUMENTS_READ),
    ("GET", "/v1/documents/{id}/content", P.DOCUMENTS_READ),
    ("GET", "/v1/crypto/assets", P.CRYPTO_READ),
    ("GET", "/v1/crypto/assets/{code}", P.CRYPTO_READ),
    ("GET", "/v1/crypto/networks", P.CRYPTO_READ),
    ("GET", "/v1/payments", P.PAYMENTS_READ),
    ("POST", "/v1/payments", P.PAYMENTS_WRITE),
    ("GET", "/v1/payments/{id}", P.PAYMENTS_READ),
    ("POST", "/v1/payments/{id}/cancel", P.PAYMENTS_WRITE),
    ("GET", "/v1/screening/results", P.SCREENING_READ),
    ("GET", "/v1/screening/results/{id}", P.SCREENING_READ),
    ("GET", "/v1/support/tickets", P.SUPPORT_READ),
    ("POST", "/v1/support/tickets", P.SUPPORT_WRITE),
    ("GET", "/v1/support/tickets/{id}", P.SUPPORT_READ),
    ("POST", "/v1/support/tickets/{id}/close", P.SUPPORT_WRITE),
    ("GET", "/v1/support/tickets/{id}/messages", P.SUPPORT_READ),
    ("POST", "/v1/support/tickets/{id}/messages", P.SUPPORT_WRITE),
)
"""PROTOCOL §5.1: (method, path template, permission) for every endpoint."""

del P


def _compile(template: str) -> re.Pattern[str]:
    # A path parameter is one non-empty segment, e.g. cus_123 or BTC.
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))


_COMPILED = tuple((m, _compile(t), p) for m, t, p in ENDPOINTS)


def validate_permissions(
    permissions: Iterable[str | Permission],
) -> frozenset[Permission]:
    """Check a permission set: known names, and each ``*_WRITE`` with its ``*_READ``.

    Returns:
        The set as [`Permission`][nuvera_client.Permission] members.

    Raises:
        InvalidPermissionsError: an unknown name, or a write without its read
            (the message names every missing read).
    """
    if isinstance(permissions, str):
        permissions = [p for p in permissions.split(",") if p.strip()]
    parsed = frozenset(Permission.parse(p) for p in permissions)
    missing = sorted(
        {p.read_permission.value for p in parsed if p.is_write}
        - {p.value for p in parsed}
    )
    if missing:
        pairs = ", ".join(f"{m[: -len('_READ')]}_WRITE needs {m}" for m in missing)
        raise InvalidPermissionsError(
            f"invalid permission set: {pairs} (each *_WRITE permission requires the "
            "matching *_READ); add the missing read permission"
        )
    return parsed
