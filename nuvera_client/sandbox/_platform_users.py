"""Owns the platform's people: roles, users and organisations, access, the audit trail.

Partner users manage their own organisation's applications; Nuvera admins may view
any application, disable/enable it, fix its permissions and assist with rotation;
customer-platform users are refused everything. Every change writes an audit row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from nuvera_client.sandbox._credentials import new_id
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._views import AuditEntry, SandboxError, User

ROLE_PARTNER = "partner"
ROLE_ADMIN = "nuvera_admin"
ROLE_CUSTOMER = "customer_platform"
ROLES = (ROLE_PARTNER, ROLE_ADMIN, ROLE_CUSTOMER)
DEFAULT_PARTNER = "partner@sandbox.local"
DEFAULT_ADMIN = "admin@nuvera.local"
DEFAULT_CUSTOMER = "customer@sandbox.local"

# What a Nuvera admin may do to any application (support view, emergency switch,
# permission fixes, partner-assisted rotation); nothing else.
_ADMIN_ACTIONS = frozenset(
    {
        "application.view",
        "application.disable",
        "application.enable",
        "application.set_permissions",
        "api_key.rotate",
        "api_key.revoke",
        "signing_key.add",
        "signing_key.remove",
        "audit.view",
    }
)
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


class PlatformBase:
    """The store, the clock, who acts and may act, and the audit trail."""

    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self._store = store
        self._now = clock

    # -- access ----------------------------------------------------------------

    def _actor(self, db: sqlite3.Connection, actor: str | None) -> User:
        ident = actor or DEFAULT_PARTNER
        row = db.execute(
            "SELECT id, email, role, organisation_id FROM users"
            " WHERE id = ? OR email = ?",
            (ident, ident),
        ).fetchone()
        if row is None:
            raise SandboxError("unknown_user", f"no such user: {ident}")
        return User(row["id"], row["email"], row["role"], row["organisation_id"])

    def _authorize(
        self, db: sqlite3.Connection, actor: str | None, action: str, app_id: str | None
    ) -> tuple[User, sqlite3.Row | None]:
        user = self._actor(db, actor)
        if user.role == ROLE_CUSTOMER:
            raise SandboxError(
                "forbidden",
                "customer-platform users cannot create or use REST API applications",
            )
        app = None
        if app_id is not None:
            app = db.execute(
                "SELECT * FROM applications WHERE id = ?", (app_id,)
            ).fetchone()
            if app is None:
                raise SandboxError("not_found", f"no such application: {app_id}")
        if user.role == ROLE_ADMIN:
            if action not in _ADMIN_ACTIONS:
                raise SandboxError(
                    "forbidden", f"a Nuvera admin may not perform {action}"
                )
        elif user.role == ROLE_PARTNER:
            if app is not None and app["organisation_id"] != user.organisation_id:
                raise SandboxError(
                    "forbidden",
                    f"{app_id} belongs to another organisation than {user.email}'s",
                )
        else:
            raise SandboxError("forbidden", f"unknown role {user.role}")
        return user, app

    def _audit(
        self,
        db: sqlite3.Connection,
        user: User | str,
        action: str,
        app_id: str | None,
        details: Mapping[str, object],
        reason: str | None = None,
    ) -> None:
        actor = user if isinstance(user, str) else user.email
        if reason is not None:
            # Why an admin acted (PROTOCOL §1.3), as the actor gave it.
            details = {**details, "reason": reason}
        db.execute(
            "INSERT INTO audit_log (at, actor, action, application_id, details)"
            " VALUES (?, ?, ?, ?, ?)",
            (self._now(), actor, action, app_id, json.dumps(dict(details))),
        )

    # -- audit -----------------------------------------------------------------

    def audit_log(
        self, application_id: str | None = None, actor: str | None = None
    ) -> list[AuditEntry]:
        """Return audit rows, oldest first (partners: their organisation's only)."""
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "audit.view", application_id)
            query = "SELECT a.* FROM audit_log a"
            args: list[Any] = []
            where = []
            if application_id is not None:
                where.append("a.application_id = ?")
                args.append(application_id)
            if user.role != ROLE_ADMIN:
                query += " JOIN applications p ON p.id = a.application_id"
                where.append("p.organisation_id = ?")
                args.append(user.organisation_id)
            if where:
                query += " WHERE " + " AND ".join(where)
            rows = db.execute(query + " ORDER BY a.id", args).fetchall()
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                application_id=r["application_id"],
                details=json.loads(r["details"]),
            )
            for r in rows
        ]

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
