"""Shared fixtures: session RSA keys (generated, never committed), clock, signer."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from http_stacks import STACKS
from keycache import rsa_private_key

from nuvera_client import RequestSigner

FIXED_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(autouse=True)
def _no_user_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep the user's own profile file out: clients fall back to profiles."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "xdg"))


@pytest.fixture(scope="session")
def rsa_keys() -> dict[int, rsa.RSAPrivateKey]:
    """One RSA key per allowed size, generated at test time (once per process)."""
    return {bits: rsa_private_key(bits) for bits in (2048, 3072, 4096)}


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """The 2048-bit session key (fast to sign with), ``rsa_keys[2048]``."""
    return rsa_private_key(2048)


@pytest.fixture
def fixed_now() -> int:
    """The Unix time the fixed clock reads."""
    return FIXED_NOW


@pytest.fixture
def fixed_clock() -> Callable[[], float]:
    """A clock that always reads FIXED_NOW; inject it with ``clock=``."""
    return lambda: float(FIXED_NOW)


@pytest.fixture
def signer(
    rsa_key: rsa.RSAPrivateKey, fixed_clock: Callable[[], float]
) -> RequestSigner:
    """A RequestSigner on the 2048-bit session key, reading the fixed clock."""
    return RequestSigner(rsa_key, clock=fixed_clock)


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def http_library_logs_quiet() -> Iterator[None]:
    """httpx's and httpx2's loggers at WARNING for the test, then as they were.

    The client's lean path is taken only while the library's INFO request line is
    off; tests that check which path runs use this, so a run with DEBUG logging
    (``scripts/prove leaks``) sees the same paths as a normal one.
    """
    loggers = [logging.getLogger(name) for name in ("httpx", "httpx2")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(params=STACKS)
def http_stack(request: pytest.FixtureRequest) -> ModuleType:
    """The HTTP library under test: httpx, then httpx2 (skipped when absent)."""
    return importlib.import_module(request.param)
