"""Owns the platform emulation: the settings screens and the admin hub, with roles.

Partner users manage their own organisation's applications; Nuvera admins may view
any application, disable/enable it, fix its permissions and assist with rotation;
customer-platform users are refused everything. Every change writes an audit row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.sandbox._credentials import (
    API_KEY_PREFIX_CHARS,
    KeyMaterialError,
    generate_key_pair,
    kid_of,
    load_public_key,
    new_api_key,
    new_id,
    public_pem,
    sha256_hex,
)
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._views import (
    ApiKeyView,
    ApplicationView,
    AuditEntry,
    CreatedApplication,
    RotatedApiKey,
    SandboxError,
    SigningKeyView,
    User,
    rfc3339,
)

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
ROLE_PARTNER = "partner"
ROLE_ADMIN = "nuvera_admin"
ROLE_CUSTOMER = "customer_platform"
ROLES = (ROLE_PARTNER, ROLE_ADMIN, ROLE_CUSTOMER)
DEFAULT_GRACE_PERIOD = 24 * 3600
MAX_ACTIVE_KEYS = 2
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


def validate_permissions(permissions: Iterable[str]) -> tuple[str, ...]:
    """Return the permission set in table order, or raise :class:`SandboxError`."""
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


class Platform:
    """The settings-screen and admin-hub operations on one :class:`Store`."""

    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self._store = store
        self._now = clock

    # -- helpers ---------------------------------------------------------------

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
    ) -> None:
        actor = user if isinstance(user, str) else user.email
        db.execute(
            "INSERT INTO audit_log (at, actor, action, application_id, details)"
            " VALUES (?, ?, ?, ?, ?)",
            (self._now(), actor, action, app_id, json.dumps(dict(details))),
        )

    def _active_api_keys(
        self, db: sqlite3.Connection, app_id: str
    ) -> list[sqlite3.Row]:
        now = self._now()
        return [
            row
            for row in db.execute(
                "SELECT * FROM api_keys WHERE application_id = ? AND status = 'active'"
                " ORDER BY created_at, rowid",
                (app_id,),
            )
            if row["expires_at"] is None or now < row["expires_at"]
        ]

    def _insert_api_key(self, db: sqlite3.Connection, app_id: str) -> str:
        taken = {
            row[0]
            for row in db.execute(
                "SELECT prefix FROM api_keys WHERE application_id = ?", (app_id,)
            )
        }
        key = new_api_key()
        while key[:API_KEY_PREFIX_CHARS] in taken:  # prefixes name keys; keep unique
            key = new_api_key()
        db.execute(
            "INSERT INTO api_keys (sha256, application_id, prefix, last_four, status,"
            " created_at) VALUES (?, ?, ?, ?, 'active', ?)",
            (
                sha256_hex(key),
                app_id,
                key[:API_KEY_PREFIX_CHARS],
                key[-4:],
                self._now(),
            ),
        )
        return key

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
        if not name or len(name) > 200:
            raise SandboxError("invalid_argument", "name must be 1-200 characters")
        if isinstance(permissions, str):
            raise SandboxError("invalid_argument", "permissions must be a list")
        perms = validate_permissions(permissions)
        private_pem = None
        if public_key_pem is None:
            private_pem, public_key_pem = generate_key_pair()
        key = _load_key(public_key_pem)
        kid = kid_of(key)
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "application.create", None)
            app_id = new_id("app_")
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

    def _set_status(self, app_id: str, status: str, actor: str | None) -> None:
        action = "application.enable" if status == "active" else "application.disable"
        with self._store.transaction() as db:
            user, app = self._authorize(db, actor, action, app_id)
            assert app is not None  # noqa: S101 - _authorize found it
            db.execute(
                "UPDATE applications SET status = ?, updated_at = ? WHERE id = ?",
                (status, self._now(), app_id),
            )
            self._audit(db, user, action, app_id, {"previous_status": app["status"]})

    def disable_application(self, app_id: str, actor: str | None = None) -> None:
        """Disable an application: its requests get ``application_disabled``."""
        self._set_status(app_id, "disabled", actor)

    def enable_application(self, app_id: str, actor: str | None = None) -> None:
        """Enable a disabled application."""
        self._set_status(app_id, "active", actor)

    def set_permissions(
        self, app_id: str, permissions: Sequence[str], actor: str | None = None
    ) -> tuple[str, ...]:
        """Replace an application's permission set; return it in table order."""
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
            )
        return perms

    # -- API keys --------------------------------------------------------------

    def rotate_api_key(
        self,
        app_id: str,
        grace_period: int = DEFAULT_GRACE_PERIOD,
        actor: str | None = None,
    ) -> RotatedApiKey:
        """Issue a new API key; the current one keeps working for ``grace_period`` s."""
        if isinstance(grace_period, bool) or not isinstance(grace_period, int):
            raise SandboxError("invalid_argument", "grace_period must be whole seconds")
        if grace_period < 0:
            raise SandboxError("invalid_argument", "grace_period must be >= 0")
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "api_key.rotate", app_id)
            active = self._active_api_keys(db, app_id)
            if len(active) >= MAX_ACTIVE_KEYS:
                raise SandboxError(
                    "limit_reached",
                    "two API keys are already active: revoke one "
                    f"({', '.join(r['prefix'] for r in active)}) before rotating again",
                )
            expires_at = self._now() + grace_period
            previous = [row for row in active if row["expires_at"] is None]
            for row in previous:
                db.execute(
                    "UPDATE api_keys SET expires_at = ? WHERE sha256 = ?",
                    (expires_at, row["sha256"]),
                )
            key = self._insert_api_key(db, app_id)
            prefixes = tuple(row["prefix"] for row in previous)
            self._audit(
                db,
                user,
                "api_key.rotate",
                app_id,
                {
                    "new_prefix": key[:API_KEY_PREFIX_CHARS],
                    "previous_prefixes": list(prefixes),
                    "grace_period": grace_period,
                    "previous_expires_at": rfc3339(expires_at) if previous else None,
                },
            )
        return RotatedApiKey(
            prefix=key[:API_KEY_PREFIX_CHARS],
            last_four=key[-4:],
            previous_prefixes=prefixes,
            previous_expires_at=expires_at if previous else None,
            api_key=key,
        )

    def revoke_api_key(
        self, app_id: str, prefix: str, actor: str | None = None
    ) -> None:
        """Revoke the active API key whose first 13 characters are ``prefix``."""
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "api_key.revoke", app_id)
            matches = [
                r for r in self._active_api_keys(db, app_id) if r["prefix"] == prefix
            ]
            if not matches:
                raise SandboxError(
                    "not_found", f"no active API key {prefix!r} on {app_id}"
                )
            now = self._now()
            db.execute(
                "UPDATE api_keys SET status = 'revoked', revoked_at = ?"
                " WHERE sha256 = ?",
                (now, matches[0]["sha256"]),
            )
            self._audit(db, user, "api_key.revoke", app_id, {"prefix": prefix})

    # -- signing keys ----------------------------------------------------------

    def add_signing_key(
        self, app_id: str, public_key_pem: str, actor: str | None = None
    ) -> str:
        """Upload another public key (at most two active); return its kid."""
        key = _load_key(public_key_pem)
        kid = kid_of(key)
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "signing_key.add", app_id)
            rows = db.execute(
                "SELECT kid, status FROM signing_keys WHERE application_id = ?",
                (app_id,),
            ).fetchall()
            active = [r["kid"] for r in rows if r["status"] == "active"]
            if kid in active:
                raise SandboxError("conflict", f"signing key {kid} is already active")
            if len(active) >= MAX_ACTIVE_KEYS:
                raise SandboxError(
                    "limit_reached",
                    "two signing keys are already active: remove one "
                    f"({', '.join(active)}) first",
                )
            now = self._now()
            db.execute(
                "INSERT INTO signing_keys (application_id, kid, public_key_pem, status,"
                " created_at) VALUES (?, ?, ?, 'active', ?)"
                " ON CONFLICT (application_id, kid) DO UPDATE SET status = 'active',"
                " created_at = excluded.created_at, removed_at = NULL",
                (app_id, kid, public_pem(key), now),
            )
            self._audit(db, user, "signing_key.add", app_id, {"kid": kid})
        return kid

    def remove_signing_key(
        self, app_id: str, kid: str, actor: str | None = None
    ) -> None:
        """Remove an active signing key: tokens naming it are refused at once."""
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "signing_key.remove", app_id)
            updated = db.execute(
                "UPDATE signing_keys SET status = 'removed', removed_at = ?"
                " WHERE application_id = ? AND kid = ? AND status = 'active'",
                (self._now(), app_id, kid),
            ).rowcount
            if not updated:
                raise SandboxError(
                    "not_found", f"no active signing key {kid} on {app_id}"
                )
            self._audit(db, user, "signing_key.remove", app_id, {"kid": kid})

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


def _load_key(pem: str) -> rsa.RSAPublicKey:
    try:
        return load_public_key(pem)
    except KeyMaterialError as exc:
        raise SandboxError("invalid_public_key", str(exc)) from None
