"""Pytest fixtures for a local Nuvera sandbox (the ``nuvera`` pytest plugin).

Installed as a ``pytest11`` entry point, so with the ``sandbox`` extra these fixtures
are available in every test session:

- ``nuvera_sandbox``: an in-memory [`Sandbox`][nuvera_client.sandbox.Sandbox];
- ``nuvera_sandbox_server``: that sandbox served by uvicorn on ``127.0.0.1:<free>``
  (``.base_url``, ``.sandbox``);
- ``nuvera_application``: an application with every permission and a fresh RSA-2048
  key pair (``.id``, ``.api_key``, ``.kid``, ``.private_key_pem``,
  ``.public_key_pem``, ``.base_url``, ``.sandbox``);
- ``nuvera_key_pair``: the session's RSA-2048 ``(private PEM, public PEM)`` pair that
  ``nuvera_application`` uses;
- ``nuvera_app_factory``: ``nuvera_app_factory(permissions=[...], name=...)`` makes
  another application on the same served sandbox, each with its own generated key;
- ``nuvera_client`` / ``nuvera_async_client``: a ``NuveraClient`` /
  ``AsyncNuveraClient`` for ``nuvera_application`` over loopback, closed after the
  test (the async one is an async fixture: mark the test ``@pytest.mark.anyio``);
- ``nuvera_respx``: a respx router that mocks Nuvera operations by name and checks
  every intercepted request against the contract (the ``testing`` extra; see
  ``NuveraMock``), for unit tests that start no sandbox.

Each test gets its own sandbox; only the RSA key pair is made once per session.
Importing this module is cheap: the sandbox is imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import pytest

from nuvera_client._respx import ContractViolation, NuveraMock
from nuvera_client._secret_holder import FrozenSecretHolder

if TYPE_CHECKING:
    from nuvera_client._client import AsyncNuveraClient, NuveraClient
    from nuvera_client.sandbox import Sandbox, SandboxServer

__all__ = [
    "AppFactory",
    "ContractViolation",
    "NuveraMock",
    "SandboxApplication",
    "nuvera_app_factory",
    "nuvera_application",
    "nuvera_async_client",
    "nuvera_client",
    "nuvera_key_pair",
    "nuvera_respx",
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


class AppFactory(Protocol):
    """``nuvera_app_factory(permissions=[...], name="...")``."""

    def __call__(
        self, *, permissions: Iterable[str], name: str = "pytest"
    ) -> SandboxApplication:
        """Create an application with ``permissions`` and its own key."""
        ...


@pytest.fixture
def nuvera_app_factory(nuvera_sandbox_server: SandboxServer) -> AppFactory:
    """Return a maker of applications with the given permissions on the sandbox.

    Each gets a fresh RSA-2048 key generated by the sandbox (a key is active on one
    application at a time, PROTOCOL §1.2), so a test can hold several.
    """
    sandbox = nuvera_sandbox_server.sandbox

    def make(*, permissions: Iterable[str], name: str = "pytest") -> SandboxApplication:
        created = sandbox.create_application(name=name, permissions=list(permissions))
        if created.private_key_pem is None:  # generated: returned once
            raise RuntimeError("the sandbox returned no generated private key")
        return SandboxApplication(
            id=created.id,
            kid=created.kid,
            permissions=created.permissions,
            public_key_pem=_public_pem_of(created.private_key_pem),
            base_url=nuvera_sandbox_server.base_url,
            sandbox=sandbox,
            api_key=created.api_key,
            private_key_pem=created.private_key_pem,
        )

    return make


def _public_pem_of(private_pem: str) -> str:
    from nuvera_client import keys

    return keys.public_key_pem(keys.load_private_key(private_pem.encode("ascii")))


@pytest.fixture
def nuvera_client(nuvera_application: SandboxApplication) -> Iterator[NuveraClient]:
    """Yield a ``NuveraClient`` for ``nuvera_application`` (loopback HTTP)."""
    from nuvera_client import NuveraClient

    app = nuvera_application
    with NuveraClient(
        app.api_key, app.private_key_pem, base_url=app.base_url
    ) as client:
        yield client


@pytest.fixture
async def nuvera_async_client(
    nuvera_application: SandboxApplication,
) -> AsyncIterator[AsyncNuveraClient]:
    """Yield an ``AsyncNuveraClient`` for ``nuvera_application`` (loopback HTTP)."""
    from nuvera_client import AsyncNuveraClient

    app = nuvera_application
    async with AsyncNuveraClient(
        app.api_key, app.private_key_pem, base_url=app.base_url
    ) as client:
        yield client


@pytest.fixture
def nuvera_respx() -> Iterator[NuveraMock]:
    """Yield a started ``NuveraMock``: respx routes by operation, contract checked."""
    with NuveraMock() as mock:
        yield mock
