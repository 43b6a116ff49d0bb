"""Owns the choice of HTTP library (httpx or httpx2) and the User-Agent naming it.

httpx2 is the maintained fork of httpx with the same public API under its own
module name. The SDK is written against that public API, so either library can
carry its requests; this module says which one is meant and recognises the
objects (clients, requests, exceptions) of both.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import sys
from types import ModuleType
from typing import Any

import httpx

from nuvera_client._version import __version__
from nuvera_client.errors import ConfigurationError

__all__ = [
    "HTTP_STACK_ENV",
    "STACKS",
    "USER_AGENT",
    "auth_bases",
    "httpx2_installed",
    "is_http_error",
    "is_timeout",
    "is_transport_error",
    "module_of",
    "stack_module",
    "user_agent",
]

HTTP_STACK_ENV = "NUVERA_HTTP_STACK"
"""Environment variable naming the library the SDK builds its own clients with."""

STACKS = ("httpx", "httpx2")
"""The HTTP libraries the SDK runs on (module names)."""


def user_agent(module: ModuleType = httpx) -> str:
    """Return the User-Agent of requests sent through ``module`` (PROTOCOL §2)."""
    return (
        f"nuvera-python/{__version__} python/{platform.python_version()} "
        f"{module.__name__}/{module.__version__}"
    )


USER_AGENT = user_agent(httpx)
"""The User-Agent of requests sent through httpx (the default stack)."""


def httpx2_installed() -> bool:
    """Whether httpx2 can be imported (extra ``nuvera-client[httpx2]``)."""
    return "httpx2" in sys.modules or importlib.util.find_spec("httpx2") is not None


def stack_module(name: str | None = None) -> ModuleType:
    """Return the HTTP library to build clients with.

    Args:
        name: ``"httpx"`` or ``"httpx2"``; ``None`` reads ``NUVERA_HTTP_STACK``
            and defaults to ``"httpx"``.

    Raises:
        ConfigurationError: an unknown name, or httpx2 asked for but not installed.
    """
    chosen = name if name is not None else os.environ.get(HTTP_STACK_ENV) or "httpx"
    if chosen not in STACKS:
        raise ConfigurationError(
            f"http_stack must be one of {', '.join(STACKS)}, got {chosen!r}"
        )
    if chosen == "httpx":
        return httpx
    try:
        return importlib.import_module("httpx2")
    except ImportError:
        raise ConfigurationError(
            "http_stack='httpx2' needs the httpx2 library: "
            "pip install 'nuvera-client[httpx2]' (Python >= 3.11)"
        ) from None


def auth_bases() -> tuple[type[Any], ...]:
    """Return the ``Auth`` classes NuveraAuth derives from (httpx2's if installed).

    httpx2 accepts as ``auth=`` only instances of its own ``Auth``; deriving from
    both lets one NuveraAuth sign for either library.
    """
    if not httpx2_installed():
        return (httpx.Auth,)
    try:
        second = importlib.import_module("httpx2")
    except ImportError:  # installed but broken: run on httpx alone
        return (httpx.Auth,)
    return (httpx.Auth, second.Auth)


def module_of(obj: Any) -> ModuleType:
    """Return the library (httpx or httpx2) that ``obj``'s class comes from."""
    kind = type(obj)
    found = _MODULE_OF.get(kind)
    if found is None:
        found = httpx
        for cls in kind.__mro__:
            root = cls.__module__.partition(".")[0]
            if root in STACKS:
                found = sys.modules[root]
                break
        _MODULE_OF[kind] = found
    return found


_MODULE_OF: dict[type[Any], ModuleType] = {}


def _loaded() -> list[ModuleType]:
    # httpx2 is recognised only once something imported it: an object of it
    # cannot exist before that, and we never import it just to check.
    second = sys.modules.get("httpx2")
    return [httpx] if second is None else [httpx, second]


def is_http_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``HTTPError`` of httpx or httpx2."""
    return any(isinstance(exc, mod.HTTPError) for mod in _loaded())


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a transport error or timeout of httpx or httpx2."""
    return any(
        isinstance(exc, (mod.TransportError, mod.TimeoutException)) for mod in _loaded()
    )


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a timeout of httpx or httpx2."""
    return any(isinstance(exc, mod.TimeoutException) for mod in _loaded())
