"""Clients signing with a SoftHSM2 key, accepted by the sandbox over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from softhsm_setup import AVAILABLE, SKIP_REASON, SoftHsm

from nuvera_client import keys
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.credentials import CallableCredentials, Credentials
from nuvera_client.hsm import Pkcs11SigningKey
from nuvera_client.sandbox import Sandbox, SandboxServer

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)
PERMISSIONS = ["CUSTOMERS_READ", "CUSTOMERS_WRITE", "PAYMENTS_READ"]


@pytest.fixture
def hsm_key(softhsm: SoftHsm) -> Iterator[Pkcs11SigningKey]:
    with Pkcs11SigningKey(
        softhsm.library,
        token_label=softhsm.token,
        key_label="signing-3072",
        pin=softhsm.pin,
    ) as key:
        yield key


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with Sandbox() as sandbox, sandbox.serve() as served:
        yield served


def _register(server: SandboxServer, key: Pkcs11SigningKey) -> tuple[str, str]:
    created = server.sandbox.create_application(
        name="hsm",
        permissions=PERMISSIONS,
        public_key_pem=keys.public_key_pem(key.public_key()),
    )
    return created.api_key, created.kid


def test_sync_client_signs_with_the_token(
    hsm_key: Pkcs11SigningKey, server: SandboxServer
) -> None:
    api_key, kid = _register(server, hsm_key)
    assert kid == keys.kid_of(hsm_key.public_key())
    with NuveraClient(api_key, hsm_key, base_url=server.base_url) as client:
        created = client.customers.create(
            type="individual", email="hsm@example.com", name="HSM"
        )
        assert client.customers.retrieve(created.id).email == "hsm@example.com"
        assert [c.id for c in client.customers.list(limit=5)] == [created.id]


@pytest.mark.anyio
async def test_async_client_signs_concurrently_with_the_token(
    hsm_key: Pkcs11SigningKey, server: SandboxServer
) -> None:
    api_key, _ = _register(server, hsm_key)
    async with AsyncNuveraClient(api_key, hsm_key, base_url=server.base_url) as client:
        created = await asyncio.gather(
            *(
                client.customers.create(
                    type="individual", email=f"a{n}@example.com", name=f"A{n}"
                )
                for n in range(12)
            )
        )
        assert len({c.id for c in created}) == 12


def test_credentials_provider_hands_out_the_hsm_key(
    hsm_key: Pkcs11SigningKey, server: SandboxServer
) -> None:
    api_key, _ = _register(server, hsm_key)
    provider = CallableCredentials(lambda: Credentials(api_key, hsm_key))
    with NuveraClient(credentials=provider, base_url=server.base_url) as client:
        assert list(client.customers.list(limit=1)) == []
