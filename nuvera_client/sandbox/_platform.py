"""Owns the platform's applications: creation, status, permission sets, support views.

The settings screens and the admin hub, with roles: ``Platform`` adds the
application operations to those on keys (``_platform_keys``) and users
(``_platform_users``), all built on ``PlatformBase`` (``_platform_access``: who
may act, and the audit trail).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from nuvera_client.errors import SandboxError
from nuvera_client.sandbox._credentials import (
    API_KEY_PREFIX_CHARS,
    generate_key_pair,
    kid_of,
    public_pem,
)
from nuvera_client.sandbox._ids import new_id
from nuvera_client.sandbox._platform_access import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    DEFAULT_PARTNER,
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_PARTNER,
    ROLES,
)
from nuvera_client.sandbox._platform_keys import (
    DEFAULT_GRACE_PERIOD,
    MAX_ACTIVE_KEYS,
    KeyOperations,
    load_key,
)
from nuvera_client.sandbox._platform_users import UserOperations, seed_platform
from nuvera_client.sandbox._views import (
    ApiKeyView,
    ApplicationView,
    CreatedApplication,
    SigningKeyView,
)

__all__ = [
    "DEFAULT_ADMIN",
    "DEFAULT_CUSTOMER",
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_PARTNER",
    "MAX_ACTIVE_KEYS",
    "PERMISSIONS",
    "ROLES",
    "ROLE_ADMIN",
    "ROLE_CUSTOMER",
    "ROLE_PARTNER",
    "Platform",
    "seed_platform",
    "validate_permissions",
]

PERMISSIONS = (
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
    "BENEFICIARIES_READ",
    "BENEFICIARIES_WRITE",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "CRYPTO_READ",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "SCREENING_READ",
    "SUPPORT_READ",
    "SUPPORT_WRITE",
)


def validate_permissions(permissions: Iterable[str]) -> tuple[str, ...]:
    """Return the permission set in table order, or raise ``SandboxError``."""
    wanted = set(permissions)
    unknown = sorted(wanted.difference(PERMISSIONS))
    if unknown:
        raise SandboxError(
            "invalid_permissions",
            f"unknown permission(s): {', '.join(unknown)};"
            f" known: {', '.join(PERMISSIONS)}",
        )
    orphans = sorted(
        p for p in wanted if p.endswith("_WRITE") and p[:-6] + "_READ" not in wanted
    )
    if orphans:
        needed = ", ".join(p[:-6] + "_READ" for p in orphans)
        raise SandboxError(
            "invalid_permissions",
            f"{', '.join(orphans)} needs its read permission too: add {needed}",
        )
    return tuple(p for p in PERMISSIONS if p in wanted)


class Platform(KeyOperations, UserOperations):
    """The settings-screen and admin-hub operations on one ``Store``.

    Applications and their views are here; API and signing keys come from
    ``KeyOperations``, users from ``UserOperations``, access and audit from
    their common base ``PlatformBase``.
    """

    # -- applications ----------------------------------------------------------

    def create_application(
        self,
        *,
        name: str,
        permissions: Sequence[str],
        public_key_pem: str | None = None,
        actor: str | None = None,
    ) -> CreatedApplication:
        """Create an application; return its one-time API key (and private key)."""
        self._check_access(actor, "application.create", None)
        if not name or len(name) > 200:
            raise SandboxError("invalid_argument", "name must be 1-200 characters")
        if isinstance(permissions, str):
            raise SandboxError("invalid_argument", "permissions must be a list")
        perms = validate_permissions(permissions)
        private_pem = None
        if public_key_pem is None:
            private_pem, public_key_pem = generate_key_pair()
        key = load_key(public_key_pem)
        kid = kid_of(key)
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "application.create", None)
            app_id = new_id("app_")
            self._check_key_free(db, app_id, kid)
            now = self._now()
            db.execute(
                "INSERT INTO applications (id, organisation_id, name, status,"
                " permissions, created_by, created_at, updated_at)"
                " VALUES (?, ?, ?, 'active', ?, ?, ?, ?)",
                (
                    app_id,
                    user.organisation_id,
                    name,
                    json.dumps(perms),
                    user.email,
                    now,
                    now,
                ),
            )
            api_key = self._insert_api_key(db, app_id)
            db.execute(
                "INSERT INTO signing_keys (application_id, kid, public_key_pem, status,"
                " created_at) VALUES (?, ?, ?, 'active', ?)",
                (app_id, kid, public_pem(key), now),
            )
            self._audit(
                db,
                user,
                "application.create",
                app_id,
                {
                    "name": name,
                    "permissions": list(perms),
                    "kid": kid,
                    "api_key_prefix": api_key[:API_KEY_PREFIX_CHARS],
                    "key_generated": private_pem is not None,
                },
            )
        return CreatedApplication(
            id=app_id,
            name=name,
            kid=kid,
            permissions=perms,
            public_key_pem=public_pem(key),
            api_key=api_key,
            private_key_pem=private_pem,
        )

    def _set_status(
        self, app_id: str, status: str, actor: str | None, reason: str | None = None
    ) -> None:
        action = "application.enable" if status == "active" else "application.disable"
        with self._store.transaction() as db:
            user, app = self._authorize(db, actor, action, app_id)
            assert app is not None  # noqa: S101 - _authorize found it
            db.execute(
                "UPDATE applications SET status = ?, updated_at = ? WHERE id = ?",
                (status, self._now(), app_id),
            )
            self._audit(
                db, user, action, app_id, {"previous_status": app["status"]}, reason
            )

    def disable_application(
        self, app_id: str, actor: str | None = None, *, reason: str | None = None
    ) -> None:
        """Disable an application: its requests get ``application_disabled``."""
        self._set_status(app_id, "disabled", actor, reason)

    def enable_application(
        self, app_id: str, actor: str | None = None, *, reason: str | None = None
    ) -> None:
        """Enable a disabled application."""
        self._set_status(app_id, "active", actor, reason)

    def set_permissions(
        self,
        app_id: str,
        permissions: Sequence[str],
        actor: str | None = None,
        *,
        reason: str | None = None,
    ) -> tuple[str, ...]:
        """Replace an application's permission set; return it in table order."""
        self._check_access(actor, "application.set_permissions", app_id)
        perms = validate_permissions(permissions)
        with self._store.transaction() as db:
            user, app = self._authorize(
                db, actor, "application.set_permissions", app_id
            )
            assert app is not None  # noqa: S101 - _authorize found it
            db.execute(
                "UPDATE applications SET permissions = ?, updated_at = ? WHERE id = ?",
                (json.dumps(perms), self._now(), app_id),
            )
            self._audit(
                db,
                user,
                "application.set_permissions",
                app_id,
                {
                    "previous": json.loads(app["permissions"]),
                    "permissions": list(perms),
                },
                reason,
            )
        return perms

    # -- views -----------------------------------------------------------------

    def get_application(self, app_id: str, actor: str | None = None) -> ApplicationView:
        """Return the non-secret support view of one application."""
        with self._store.transaction() as db:
            _, app = self._authorize(db, actor, "application.view", app_id)
            assert app is not None  # noqa: S101 - _authorize found it
            return self._view(db, app)

    def list_applications(self, actor: str | None = None) -> list[ApplicationView]:
        """List the applications the actor may see (own organisation; admin: all)."""
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "application.view", None)
            if user.role == ROLE_ADMIN:
                rows = db.execute("SELECT * FROM applications ORDER BY created_at, id")
            else:
                rows = db.execute(
                    "SELECT * FROM applications WHERE organisation_id = ?"
                    " ORDER BY created_at, id",
                    (user.organisation_id,),
                )
            return [self._view(db, row) for row in rows.fetchall()]

    def _view(self, db: sqlite3.Connection, app: sqlite3.Row) -> ApplicationView:
        now = self._now()
        keys = tuple(
            ApiKeyView(
                prefix=r["prefix"],
                last_four=r["last_four"],
                status=(
                    "active"
                    if r["status"] == "active"
                    and (r["expires_at"] is None or now < r["expires_at"])
                    else "revoked"
                ),
                created_at=r["created_at"],
                expires_at=r["expires_at"],
                last_used_at=r["last_used_at"],
                request_count=r["request_count"],
            )
            for r in db.execute(
                "SELECT * FROM api_keys WHERE application_id = ?"
                " ORDER BY created_at, rowid",
                (app["id"],),
            )
        )
        signing = tuple(
            SigningKeyView(r["kid"], r["status"], r["created_at"], r["public_key_pem"])
            for r in db.execute(
                "SELECT * FROM signing_keys WHERE application_id = ?"
                " ORDER BY created_at, kid",
                (app["id"],),
            )
        )
        return ApplicationView(
            id=app["id"],
            name=app["name"],
            organisation_id=app["organisation_id"],
            status=app["status"],
            permissions=tuple(json.loads(app["permissions"])),
            created_at=app["created_at"],
            api_keys=keys,
            signing_keys=signing,
        )
