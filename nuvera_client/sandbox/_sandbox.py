"""Owns ``Sandbox``: one state store, its ASGI app, its platform operations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from nuvera_client.sandbox import _routes as routes
from nuvera_client.sandbox._app import SandboxApp
from nuvera_client.sandbox._handlers import Endpoint
from nuvera_client.sandbox._platform import (
    DEFAULT_GRACE_PERIOD,
    Platform,
    seed_platform,
)
from nuvera_client.sandbox._ratelimit import RateLimiter, parse_rate
from nuvera_client.sandbox._server import SandboxServer, serve_in_thread
from nuvera_client.sandbox._store import Store
from nuvera_client.sandbox._transport import SandboxTransport
from nuvera_client.sandbox._views import (
    ApplicationView,
    AuditEntry,
    CreatedApplication,
    RotatedApiKey,
    User,
)
from nuvera_client.sandbox.console._host import mount_console

DEFAULT_MAX_BODY_BYTES = 25 * 2**20


class Sandbox:
    """A local Nuvera: the verifier, the REST API and the platform, on one state.

    Args:
        state: a SQLite file to keep state in (None: in memory). With a file, nothing
            is lost across restarts and the CLI can change it while a server runs.
        clock_offset: seconds added to the server clock (settable later), to test skew.
        rate_limit: requests per second per application (``10``, ``"10/s"``), or None.
        max_body_bytes: larger bodies are answered 413 ``payload_too_large``.
        clock: the real-time source (Unix seconds); tests inject one.
        endpoints: REST endpoints to serve instead of the built-in ones (tests).
    """

    def __init__(
        self,
        state: str | Path | None = None,
        clock_offset: float = 0,
        rate_limit: str | float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        *,
        clock: Callable[[], float] = time.time,
        endpoints: Sequence[Endpoint] | None = None,
    ) -> None:
        domain_schema = None
        seed: Callable[[sqlite3.Connection], None] | None = None
        if endpoints is None:
            # The REST API of PROTOCOL §5.1 (tests may serve endpoints of their own).
            endpoints = routes.ENDPOINTS
            domain_schema = routes.SCHEMA_SQL
            seed = routes.seed
        self._real_clock = clock
        self.clock_offset = clock_offset
        rate = parse_rate(rate_limit)  # refused before the store is opened
        self.store = Store(
            state, domain_schema=domain_schema, seed=seed, platform_seed=seed_platform
        )
        try:
            self.platform = Platform(self.store, lambda: int(self.now()))
            api = SandboxApp(
                self.store,
                endpoints,
                clock=self.now,
                max_body_bytes=max_body_bytes,
                rate_limiter=None if rate is None else RateLimiter(rate, clock),
            )
            # --- console (issue 12): /console, and the request log around the API.
            self.app = mount_console(api, self)
            self.request_log = self.app.request_log
            # --- end console
        except BaseException:
            self.store.close()
            raise

    @property
    def clock_offset(self) -> float:
        """Seconds added to real time to make the server clock."""
        return self._clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._clock_offset = value

    def now(self) -> float:
        """Return the server clock (Unix seconds)."""
        return self._real_clock() + self._clock_offset

    # -- transports and serving -------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """Return a sync in-process transport: ``httpx.Client(transport=...)``."""
        return SandboxTransport(self.app)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """Return an async in-process transport (``httpx.ASGITransport``)."""
        return httpx.ASGITransport(app=self.app)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[SandboxServer]:
        """Serve over HTTP with uvicorn in a thread for the block (port 0: free)."""
        with serve_in_thread(self, host, port) as server:
            yield server

    def close(self) -> None:
        """Release the state store."""
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- platform ---------------------------------------------------------------

    def create_application(
        self,
        *,
        name: str,
        permissions: Sequence[str],
        public_key_pem: str | None = None,
        actor: str | None = None,
    ) -> CreatedApplication:
        """Create an application as ``actor`` (default: the default partner user).

        Without ``public_key_pem`` an RSA-2048 pair is generated and its private key
        returned once in ``private_key_pem``. The API key is returned once too.
        """
        return self.platform.create_application(
            name=name,
            permissions=permissions,
            public_key_pem=public_key_pem,
            actor=actor,
        )

    def rotate_api_key(
        self,
        application_id: str,
        grace_period: int = DEFAULT_GRACE_PERIOD,
        actor: str | None = None,
        *,
        reason: str | None = None,
    ) -> RotatedApiKey:
        """Issue a new API key; the old one works until ``grace_period`` s pass.

        When a Nuvera admin rotates, ``api_key`` is None: a partner user of the
        owning organisation reveals the new key once with
        [`reveal_api_key()`][nuvera_client.sandbox.Sandbox.reveal_api_key]. ``reason``
        (why an admin acted) goes into the audit entry.
        """
        return self.platform.rotate_api_key(
            application_id, grace_period, actor, reason=reason
        )

    def reveal_api_key(
        self, application_id: str, prefix: str, actor: str | None = None
    ) -> str:
        """Reveal, once, the API key an admin's rotation left unrevealed (partners)."""
        return self.platform.reveal_api_key(application_id, prefix, actor)

    def revoke_api_key(
        self, application_id: str, prefix: str, actor: str | None = None
    ) -> None:
        """Revoke the API key whose first 13 characters are ``prefix``."""
        self.platform.revoke_api_key(application_id, prefix, actor)

    def add_signing_key(
        self, application_id: str, public_key_pem: str, actor: str | None = None
    ) -> str:
        """Add a signing key (at most two active); return its kid.

        A public key active on another application is refused with
        ``signing_key_in_use`` (PROTOCOL §1.2).
        """
        return self.platform.add_signing_key(application_id, public_key_pem, actor)

    def remove_signing_key(
        self, application_id: str, kid: str, actor: str | None = None
    ) -> None:
        """Remove an active signing key."""
        self.platform.remove_signing_key(application_id, kid, actor)

    def disable_application(
        self, application_id: str, actor: str | None = None
    ) -> None:
        """Disable an application (its requests get ``application_disabled``)."""
        self.platform.disable_application(application_id, actor)

    def enable_application(self, application_id: str, actor: str | None = None) -> None:
        """Enable an application again."""
        self.platform.enable_application(application_id, actor)

    def set_permissions(
        self, application_id: str, permissions: Sequence[str], actor: str | None = None
    ) -> tuple[str, ...]:
        """Replace an application's permissions (each ``*_WRITE`` needs ``*_READ``)."""
        return self.platform.set_permissions(application_id, permissions, actor)

    def get_application(
        self, application_id: str, actor: str | None = None
    ) -> ApplicationView:
        """Return the non-secret view of an application (keys, usage, status)."""
        return self.platform.get_application(application_id, actor)

    def list_applications(self, actor: str | None = None) -> list[ApplicationView]:
        """List the applications ``actor`` may see."""
        return self.platform.list_applications(actor)

    def audit_log(
        self, application_id: str | None = None, actor: str | None = None
    ) -> list[AuditEntry]:
        """Return the audit log, oldest first (optionally for one application)."""
        return self.platform.audit_log(application_id, actor)

    def create_user(
        self, email: str, role: str, organisation: str | None = None
    ) -> User:
        """Create a platform user in an organisation given by id or name.

        ``role`` is ``partner``, ``nuvera_admin`` or ``customer_platform``.
        """
        return self.platform.create_user(email, role, organisation)
