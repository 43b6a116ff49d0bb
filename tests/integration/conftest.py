"""Sandbox fixtures for the client integration tests (in-process and loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from http_stacks import HTTPX2_ONLY

from nuvera_client import keys
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.sandbox import Sandbox

ALL_PERMISSIONS = [
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
]
LOCAL = "http://127.0.0.1:8787"


@dataclass
class App:
    """An application in the sandbox and the secrets a partner would hold."""

    id: str
    api_key: str
    kid: str
    private_key: rsa.RSAPrivateKey


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def app(sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey) -> App:
    created = sandbox.create_application(
        name="integration",
        permissions=ALL_PERMISSIONS,
        public_key_pem=keys.public_key_pem(rsa_key),
    )
    return App(created.id, created.api_key, created.kid, rsa_key)


@pytest.fixture(
    params=[
        "in-process",
        "loopback",
        pytest.param("loopback-httpx2", marks=HTTPX2_ONLY),
    ]
)
def mode(request: pytest.FixtureRequest) -> str:
    """In-process (a user's http_client), or over loopback on httpx / httpx2."""
    return str(request.param)


@pytest.fixture
def client(sandbox: Sandbox, app: App, mode: str) -> Iterator[NuveraClient]:
    if mode == "in-process":
        http = httpx.Client(transport=sandbox.transport())
        with (
            http,
            NuveraClient(
                app.api_key, app.private_key, base_url=LOCAL, http_client=http
            ) as c,
        ):
            yield c
        return
    stack = "httpx2" if mode == "loopback-httpx2" else "httpx"
    with (
        sandbox.serve() as server,
        NuveraClient(
            app.api_key, app.private_key, base_url=server.base_url, http_stack=stack
        ) as c,
    ):
        assert c._http.headers["user-agent"].split()[-1].startswith(f"{stack}/")
        yield c


@pytest.fixture
async def async_client(
    sandbox: Sandbox, app: App, mode: str
) -> AsyncIterator[AsyncNuveraClient]:
    if mode == "in-process":
        http = httpx.AsyncClient(transport=sandbox.async_transport())
        async with (
            http,
            AsyncNuveraClient(
                app.api_key, app.private_key, base_url=LOCAL, http_client=http
            ) as c,
        ):
            yield c
        return
    stack = "httpx2" if mode == "loopback-httpx2" else "httpx"
    with sandbox.serve() as server:
        async with AsyncNuveraClient(
            app.api_key, app.private_key, base_url=server.base_url, http_stack=stack
        ) as c:
            assert c._http.headers["user-agent"].split()[-1].startswith(f"{stack}/")
            yield c
