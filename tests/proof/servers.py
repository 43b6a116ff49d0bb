"""A sandbox on loopback with one application holding every permission."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nuvera_client.sandbox import (
    DEFAULT_MAX_BODY_BYTES,
    PERMISSIONS,
    CreatedApplication,
    Sandbox,
)


@dataclass(frozen=True)
class Running:
    """A served sandbox and the application the harness signs as."""

    sandbox: Sandbox
    base_url: str
    app: CreatedApplication

    @property
    def private_key_pem(self) -> str:
        assert self.app.private_key_pem is not None
        return self.app.private_key_pem


@contextmanager
def running_sandbox(
    state: Path | None = None,
    *,
    rate_limit: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Iterator[Running]:
    """Serve a fresh sandbox on 127.0.0.1 (a free port) for the block."""
    sandbox = Sandbox(state, rate_limit=rate_limit, max_body_bytes=max_body_bytes)
    try:
        app = sandbox.create_application(name="proof", permissions=list(PERMISSIONS))
        with sandbox.serve() as server:
            yield Running(sandbox, server.base_url, app)
    finally:
        sandbox.close()
