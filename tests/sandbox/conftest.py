from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from keycache import rsa_private_key
from sandbox_support import Caller, Clock, caller_on, make_sandbox

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
    with caller_on(sandbox, clock, rsa_key) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
