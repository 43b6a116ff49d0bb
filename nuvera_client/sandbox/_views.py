"""Owns the platform's result and view types: what operations return, secrets hidden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from nuvera_client._secret_holder import FrozenSecretHolder


def rfc3339(ts: int | None) -> str | None:
    """Format Unix seconds as RFC 3339 UTC (``...Z``); None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CreatedApplication(FrozenSecretHolder):
    """A new application with its one-time secrets (never shown in ``repr``)."""

    id: str
    name: str
    kid: str
    permissions: tuple[str, ...]
    public_key_pem: str
    api_key: str = field(repr=False)
    private_key_pem: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RotatedApiKey(FrozenSecretHolder):
    """A rotation's result: the new one-time key and what happened to the old ones.

    ``api_key`` is None when a Nuvera admin rotated: the new key waits, unrevealed,
    for a partner user of the owning organisation (``reveal_api_key``).
    """

    prefix: str
    last_four: str
    previous_prefixes: tuple[str, ...]
    previous_expires_at: int | None
    api_key: str | None = field(repr=False)


@dataclass(frozen=True)
class ApiKeyView:
    """Non-secret metadata of one API key."""

    prefix: str
    last_four: str
    status: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    request_count: int

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (timestamps RFC 3339)."""
        return {
            "prefix": self.prefix,
            "last_four": self.last_four,
            "status": self.status,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "last_used_at": rfc3339(self.last_used_at),
            "request_count": self.request_count,
        }


@dataclass(frozen=True)
class SigningKeyView:
    """One signing key of an application."""

    kid: str
    status: str
    created_at: int
    public_key_pem: str = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (without the PEM)."""
        return {
            "kid": self.kid,
            "status": self.status,
            "created_at": rfc3339(self.created_at),
        }


@dataclass(frozen=True)
class ApplicationView:
    """The support view of an application: no secret in it."""

    id: str
    name: str
    organisation_id: str
    status: str
    permissions: tuple[str, ...]
    created_at: int
    api_keys: tuple[ApiKeyView, ...]
    signing_keys: tuple[SigningKeyView, ...]

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "id": self.id,
            "name": self.name,
            "organisation_id": self.organisation_id,
            "status": self.status,
            "permissions": list(self.permissions),
            "created_at": rfc3339(self.created_at),
            "api_keys": [key.to_dict() for key in self.api_keys],
            "signing_keys": [key.to_dict() for key in self.signing_keys],
        }


@dataclass(frozen=True)
class AuditEntry:
    """One audit log row."""

    id: int
    at: int
    actor: str
    action: str
    application_id: str | None
    details: Mapping[str, object]

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "id": self.id,
            "at": rfc3339(self.at),
            "actor": self.actor,
            "action": self.action,
            "application_id": self.application_id,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class User:
    """A platform user."""

    id: str
    email: str
    role: str
    organisation_id: str
