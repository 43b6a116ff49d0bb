"""Owns API key and signing key lifecycles: issue, rotate with grace, revoke, add.

A rotation a Nuvera admin starts keeps the new key unrevealed: its plaintext waits
in ``api_key_reveals`` (the state file is private to its owner) until a partner user
of the owning organisation reveals it, once; then only its SHA-256 remains.
"""

from __future__ import annotations

import sqlite3

from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.errors import SandboxError
from nuvera_client.sandbox._credentials import (
    API_KEY_PREFIX_CHARS,
    KeyMaterialError,
    kid_of,
    load_public_key,
    new_api_key,
    public_pem,
)
from nuvera_client.sandbox._encoding import sha256_hex
from nuvera_client.sandbox._platform_access import ROLE_ADMIN, PlatformBase
from nuvera_client.sandbox._views import RotatedApiKey, rfc3339

DEFAULT_GRACE_PERIOD = 24 * 3600
MAX_ACTIVE_KEYS = 2


def load_key(pem: str) -> rsa.RSAPublicKey:
    """Load an uploaded public key PEM, refusing it with ``invalid_public_key``."""
    try:
        return load_public_key(pem)
    except KeyMaterialError as exc:
        raise SandboxError("invalid_public_key", str(exc)) from None


class KeyOperations(PlatformBase):
    """Rotate and revoke API keys; add and remove signing keys."""

    # -- helpers ---------------------------------------------------------------

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

    def _check_key_free(self, db: sqlite3.Connection, app_id: str, kid: str) -> None:
        """Refuse a public key active on another application (PROTOCOL §1.2)."""
        other = db.execute(
            "SELECT application_id FROM signing_keys"
            " WHERE kid = ? AND status = 'active' AND application_id != ?",
            (kid, app_id),
        ).fetchone()
        if other is not None:
            raise SandboxError(
                "signing_key_in_use",
                f"signing key {kid} is active on another application: a public key "
                "is active on one application at a time; generate a new pair, or "
                "remove it from the other application first",
            )

    # -- API keys --------------------------------------------------------------

    def rotate_api_key(
        self,
        app_id: str,
        grace_period: int = DEFAULT_GRACE_PERIOD,
        actor: str | None = None,
        *,
        reason: str | None = None,
    ) -> RotatedApiKey:
        """Issue a new API key; the current one keeps working for ``grace_period`` s.

        ``reason`` (why an admin acted) goes into the audit entry.
        """
        self._check_access(actor, "api_key.rotate", app_id)
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
            unrevealed = user.role == ROLE_ADMIN
            if unrevealed:
                # An admin never receives an API key (PROTOCOL §1.3).
                db.execute(
                    "INSERT INTO api_key_reveals (sha256, application_id, api_key,"
                    " created_at) VALUES (?, ?, ?, ?)",
                    (sha256_hex(key), app_id, key, self._now()),
                )
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
                    "unrevealed": unrevealed,
                },
                reason,
            )
        return RotatedApiKey(
            prefix=key[:API_KEY_PREFIX_CHARS],
            last_four=key[-4:],
            previous_prefixes=prefixes,
            previous_expires_at=expires_at if previous else None,
            api_key=None if unrevealed else key,
        )

    def unrevealed_api_keys(
        self, app_id: str, actor: str | None = None
    ) -> tuple[str, ...]:
        """Return the prefixes of active keys an admin's rotation left unrevealed."""
        with self._store.transaction() as db:
            self._authorize(db, actor, "application.view", app_id)
            rows = db.execute(
                "SELECT k.prefix FROM api_key_reveals r"
                " JOIN api_keys k ON k.sha256 = r.sha256"
                " WHERE r.application_id = ? AND k.status = 'active'"
                " ORDER BY k.created_at, k.rowid",
                (app_id,),
            ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def reveal_api_key(self, app_id: str, prefix: str, actor: str | None = None) -> str:
        """Return, once, the API key an admin-started rotation left unrevealed.

        Only a partner user of the owning organisation may; the plaintext is then
        deleted, so a second call is ``not_found``.
        """
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "api_key.reveal", app_id)
            row = db.execute(
                "SELECT r.sha256, r.api_key FROM api_key_reveals r"
                " JOIN api_keys k ON k.sha256 = r.sha256"
                " WHERE r.application_id = ? AND k.prefix = ?",
                (app_id, prefix),
            ).fetchone()
            if row is None:
                raise SandboxError(
                    "not_found",
                    f"no unrevealed API key {prefix!r} on {app_id} (revealed already?)",
                )
            db.execute("DELETE FROM api_key_reveals WHERE sha256 = ?", (row[0],))
            self._audit(db, user, "api_key.reveal", app_id, {"prefix": prefix})
            key: str = row[1]
        return key

    def revoke_api_key(
        self,
        app_id: str,
        prefix: str,
        actor: str | None = None,
        *,
        reason: str | None = None,
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
            self._audit(db, user, "api_key.revoke", app_id, {"prefix": prefix}, reason)

    # -- signing keys ----------------------------------------------------------

    def add_signing_key(
        self, app_id: str, public_key_pem: str, actor: str | None = None
    ) -> str:
        """Upload another public key (at most two active); return its kid."""
        self._check_access(actor, "signing_key.add", app_id)
        key = load_key(public_key_pem)
        kid = kid_of(key)
        with self._store.transaction() as db:
            user, _ = self._authorize(db, actor, "signing_key.add", app_id)
            self._check_key_free(db, app_id, kid)
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
