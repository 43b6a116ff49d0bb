"""Fixtures for the sandbox console: a sandbox, a web client, an application."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_support import Browserless
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client.sandbox import CreatedApplication, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def web(sandbox: Sandbox) -> Iterator[Browserless]:
    client = Browserless(sandbox)
    yield client
    client.http.close()


@pytest.fixture(scope="session")
def console_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


@pytest.fixture
def app(sandbox: Sandbox, console_key: rsa.RSAPrivateKey) -> CreatedApplication:
    return sandbox.create_application(
        name="svc",
        permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE", "CRYPTO_READ"],
        public_key_pem=keys.public_key_pem(console_key),
    )
