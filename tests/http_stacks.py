"""The HTTP libraries the client tests run on: httpx, and httpx2 when importable."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


def _importable(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


HTTPX2 = _importable("httpx2")

HTTPX2_ONLY = pytest.mark.skipif(
    HTTPX2 is None,
    reason="httpx2 is not installed (extra nuvera-client[httpx2], Python >= 3.11)",
)

STACKS = ["httpx", pytest.param("httpx2", marks=HTTPX2_ONLY)]
"""Parameters of the ``http_stack`` fixture (tests/conftest.py)."""
