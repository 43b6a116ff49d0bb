"""Pytest fixtures for a local Nuvera sandbox (the ``nuvera`` pytest plugin).

Installed as a ``pytest11`` entry point, so with the ``sandbox`` extra these fixtures
are available in every test session:

- ``nuvera_sandbox``: an in-memory :class:`~nuvera_client.sandbox.Sandbox`;
- ``nuvera_sandbox_server``: that sandbox served by uvicorn on ``127.0.0.1:<free>``
  (``.base_url``, ``.sandbox``);
- ``nuvera_application``: an application with every permission and a fresh RSA-2048
  key pair (``.id``, ``.api_key``, ``.kid``, ``.private_key_pem``,
  ``.public_key_pem``, ``.base_url``, ``.sandbox``).

Each test gets its own sandbox; only the RSA key pair is made once per session.
Importing this module is cheap: the sandbox is imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from nuvera_client._secret_holder import FrozenSecretHolder

if TYPE_CHECKING:
    from nuvera_client.sandbox import Sandbox, SandboxServer

__all__ = [
    "SandboxApplication",
    "nuvera_application",
    "nuvera_key_pair",
    "nuvera_sandbox",
    "nuvera_sandbox_server",
]


@dataclass(frozen=True)
class SandboxApplication(FrozenSecretHolder):
    """An application ready to call a served sandbox; secrets stay out of ``repr``."""

    id: str
    kid: str
    permissions: tuple[str, ...]
    public_key_pem: str
    base_url: str
    sandbox: Sandbox
    api_key: str = field(repr=False)
    private_key_pem: str = field(repr=False)


@pytest.fixture(scope="session")
def nuvera_key_pair() -> tuple[str, str]:
    """Return an RSA-2048 ``(private PKCS#8 PEM, public PEM)`` pair for the session."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
    return private_pem, public_pem


@pytest.fixture
def nuvera_sandbox() -> Iterator[Sandbox]:
    """Yield a fresh in-memory sandbox, closed after the test."""
    from nuvera_client.sandbox import Sandbox

    sandbox = Sandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def nuvera_sandbox_server(nuvera_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """Yield ``nuvera_sandbox`` served over loopback (uvicorn in a thread)."""
    with nuvera_sandbox.serve(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def nuvera_application(
    nuvera_sandbox_server: SandboxServer, nuvera_key_pair: tuple[str, str]
) -> SandboxApplication:
    """Return an application with all 12 permissions on the served sandbox."""
    from nuvera_client.sandbox import PERMISSIONS

    private_pem, public_pem = nuvera_key_pair
    sandbox = nuvera_sandbox_server.sandbox
    created = sandbox.create_application(
        name="pytest", permissions=list(PERMISSIONS), public_key_pem=public_pem
    )
    return SandboxApplication(
        id=created.id,
        kid=created.kid,
        permissions=created.permissions,
        public_key_pem=public_pem,
        base_url=nuvera_sandbox_server.base_url,
        sandbox=sandbox,
        api_key=created.api_key,
        private_key_pem=private_pem,
    )
