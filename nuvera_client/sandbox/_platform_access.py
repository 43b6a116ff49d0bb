"""Owns the access model (PROTOCOL §1.3): roles, who may act, the audit trail.

Partner users manage their own organisation's applications; Nuvera admins may view
any application, disable/enable it, fix its permissions, remove a signing key and
start a rotation; customer-platform users are refused everything. An actor that may
not act is refused (``forbidden``) before anything it sent is validated. Every
change writes an audit row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from nuvera_client.errors import SandboxError
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._views import AuditEntry, User

ROLE_PARTNER = "partner"
ROLE_ADMIN = "nuvera_admin"
ROLE_CUSTOMER = "customer_platform"
ROLES = (ROLE_PARTNER, ROLE_ADMIN, ROLE_CUSTOMER)
DEFAULT_PARTNER = "partner@sandbox.local"
DEFAULT_ADMIN = "admin@nuvera.local"
DEFAULT_CUSTOMER = "customer@sandbox.local"

# What a Nuvera admin may do to any application (support view, emergency switch,
# permission fixes, partner-assisted rotation); nothing else. Never add a signing key
# or reveal an API key: with both, an admin would hold a working credential of
# another organisation (PROTOCOL §1.3).
_ADMIN_ACTIONS = frozenset(
    {
        "application.view",
        "application.disable",
        "application.enable",
        "application.set_permissions",
        "api_key.rotate",
        "api_key.revoke",
        "signing_key.remove",
        "audit.view",
    }
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

    def _check_access(self, actor: str | None, action: str, app_id: str | None) -> None:
        """Refuse an actor that may not act, before anything it sent is validated."""
        with self._store.transaction() as db:
            self._authorize(db, actor, action, app_id)

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
