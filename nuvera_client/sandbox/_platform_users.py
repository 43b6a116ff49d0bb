"""Owns the platform's people: the default users and organisations, creating users."""

from __future__ import annotations

import sqlite3

from nuvera_client.errors import SandboxError
from nuvera_client.sandbox._ids import new_id
from nuvera_client.sandbox._platform_access import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    DEFAULT_PARTNER,
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_PARTNER,
    ROLES,
    PlatformBase,
)
from nuvera_client.sandbox._views import User

_ORG_KIND = {
    ROLE_PARTNER: "partner",
    ROLE_ADMIN: "nuvera",
    ROLE_CUSTOMER: "customer_platform",
}


def seed_platform(db: sqlite3.Connection) -> None:
    """Create the default organisations and users (idempotent)."""
    for org_id, name, kind in (
        ("org_default", "Sandbox Partner", "partner"),
        ("org_nuvera", "Nuvera", "nuvera"),
        ("org_customers", "Customer Platform", "customer_platform"),
    ):
        db.execute(
            "INSERT OR IGNORE INTO organisations (id, name, kind, created_at)"
            " VALUES (?, ?, ?, 0)",
            (org_id, name, kind),
        )
    for user_id, email, role, org_id in (
        ("usr_partner", DEFAULT_PARTNER, ROLE_PARTNER, "org_default"),
        ("usr_admin", DEFAULT_ADMIN, ROLE_ADMIN, "org_nuvera"),
        ("usr_customer", DEFAULT_CUSTOMER, ROLE_CUSTOMER, "org_customers"),
    ):
        db.execute(
            "INSERT OR IGNORE INTO users (id, email, role, organisation_id, created_at)"
            " VALUES (?, ?, ?, ?, 0)",
            (user_id, email, role, org_id),
        )


class UserOperations(PlatformBase):
    """Create platform users in organisations."""

    # -- users -----------------------------------------------------------------

    def list_users(self) -> list[tuple[User, str]]:
        """Return every user with its organisation's name (the console's pick list)."""
        with self._store.transaction() as db:
            rows = db.execute(
                "SELECT u.id, u.email, u.role, u.organisation_id, o.name AS org"
                " FROM users u JOIN organisations o ON o.id = u.organisation_id"
                " ORDER BY o.name, u.email"
            ).fetchall()
        return [
            (User(r["id"], r["email"], r["role"], r["organisation_id"]), r["org"])
            for r in rows
        ]

    def organisation_names(self) -> dict[str, str]:
        """Return organisation id -> name."""
        with self._store.transaction() as db:
            rows = db.execute("SELECT id, name FROM organisations").fetchall()
        return {r["id"]: r["name"] for r in rows}

    def create_user(
        self, email: str, role: str, organisation: str | None = None
    ) -> User:
        """Create a user; ``organisation`` is an org id or name (new name: created)."""
        if role not in ROLES:
            raise SandboxError("invalid_argument", f"role must be one of {ROLES}")
        if "@" not in email:
            raise SandboxError("invalid_argument", "email must contain '@'")
        with self._store.transaction() as db:
            if db.execute("SELECT 1 FROM users WHERE email = ?", (email,)).fetchone():
                raise SandboxError("conflict", f"user {email} already exists")
            org_id = self._organisation(db, role, organisation)
            user = User(new_id("usr_"), email, role, org_id)
            db.execute(
                "INSERT INTO users (id, email, role, organisation_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.id, email, role, org_id, self._now()),
            )
            self._audit(
                db,
                "sandbox",
                "user.create",
                None,
                {"user": email, "role": role, "organisation_id": org_id},
            )
        return user

    def _organisation(
        self, db: sqlite3.Connection, role: str, organisation: str | None
    ) -> str:
        kind = _ORG_KIND[role]
        if organisation is None:
            default = {"partner": "org_default", "nuvera": "org_nuvera"}
            return default.get(kind, "org_customers")
        row = db.execute(
            "SELECT id, kind FROM organisations WHERE id = ? OR name = ?",
            (organisation, organisation),
        ).fetchone()
        if row is not None:
            if row["kind"] != kind:
                raise SandboxError(
                    "invalid_argument",
                    f"organisation {organisation} is a {row['kind']} organisation",
                )
            return str(row["id"])
        org_id = new_id("org_")
        db.execute(
            "INSERT INTO organisations (id, name, kind, created_at)"
            " VALUES (?, ?, ?, ?)",
            (org_id, organisation, kind, self._now()),
        )
        return org_id
