from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from keycache import rsa_private_key
from sandbox_mint import public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock, make_sandbox

from nuvera_client.sandbox import Sandbox


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa_private_key(2048, "sandbox-1")


@pytest.fixture(scope="session")
def rsa_key_2() -> rsa.RSAPrivateKey:
    return rsa_private_key(2048, "sandbox-2")


@pytest.fixture(scope="session")
def rsa_key_3() -> rsa.RSAPrivateKey:
    return rsa_private_key(2048, "sandbox-3")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[Sandbox]:
    sb = make_sandbox(clock)
    yield sb
    sb.close()


@pytest.fixture
def caller(
    sandbox: Sandbox, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> Iterator[Caller]:
    app = sandbox.create_application(
        name="svc", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://sandbox.test"
    ) as client:
        yield Caller(sandbox, clock, client, app, rsa_key)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
