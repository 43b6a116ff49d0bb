"""One error module: every exception and warning class lives in ``errors.py``.

Shaped after httpx's ``tests/test_exported_members.py``: what a module exports is
exactly what its ``__all__`` says, and nothing public is left out of it.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re
import types

import pytest

import nuvera_client
from nuvera_client import errors

# The CLI's own errors never leave it (it prints them and exits).
PRIVATE_MODULES = ("nuvera_client._cli",)
# Control flow inside the sandbox server, caught there and turned into an HTTP error
# or a SandboxError; no user of the package meets them.
INTERNAL = {
    "nuvera_client.sandbox._problems": {"ApiProblem"},
    "nuvera_client.sandbox._body": {"Disconnected"},
    "nuvera_client.sandbox.console._web": {"Refused"},
    "nuvera_client.sandbox._credentials": {"KeyMaterialError"},
    # Raised while a response body is read, turned into InvalidResponseError.
    "nuvera_client._transfer": {"BodyTooLarge"},
}


def _defined_in(module: types.ModuleType, base: type) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, base)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


def test_errors_all_is_exactly_its_exception_and_warning_classes() -> None:
    classes = _defined_in(errors, BaseException)
    functions = {"error_from_response"}
    assert set(errors.__all__) == classes | functions
    assert len(errors.__all__) == len(set(errors.__all__))
    assert "NuveraDeprecationWarning" in classes
    assert issubclass(errors.NuveraDeprecationWarning, UserWarning)


def test_package_exports_every_error_class() -> None:
    for name in errors.__all__:
        if name == "error_from_response":
            continue
        assert name in nuvera_client.__all__, name
        assert getattr(nuvera_client, name) is getattr(errors, name)


def test_package_all_is_what_it_exports() -> None:
    public = {
        name
        for name, value in vars(nuvera_client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(nuvera_client.__all__) == public | {"__version__"}
    assert list(nuvera_client.__all__) == sorted(
        nuvera_client.__all__,
        key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n),
    )


def _drawn_tree() -> dict[str, str | None]:
    """Map each class drawn in the errors docstring to the class drawn above it."""
    tree: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ([│ ]*(?:[├└]── )?)([A-Z][A-Za-z0-9]+)\b", line)
        if not match:
            continue
        column = len(match.group(1))
        while stack and stack[-1][0] >= column:
            stack.pop()
        tree[match.group(2)] = stack[-1][1] if stack else None
        stack.append((column, match.group(2)))
    return tree


def test_every_error_class_is_drawn_in_the_docstring_tree_under_its_base() -> None:
    tree = _drawn_tree()
    classes = _defined_in(errors, BaseException)
    assert set(tree) - {"UserWarning"} == classes
    for name in classes:
        parent = tree[name]
        if parent is not None:
            base = getattr(errors, parent, None) or getattr(builtins, parent)
            assert getattr(errors, name).__bases__[0] is base, name


def _package_modules() -> list[str]:
    names = ["nuvera_client"]
    for info in pkgutil.walk_packages(nuvera_client.__path__, "nuvera_client."):
        if (
            not info.name.startswith(PRIVATE_MODULES)
            and info.name != "nuvera_client.__main__"
        ):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", _package_modules())
def test_no_exception_or_warning_class_outside_errors(module_name: str) -> None:
    module = importlib.import_module(module_name)
    if module is errors:
        return
    defined = _defined_in(module, BaseException) - INTERNAL.get(module_name, set())
    assert not defined, f"{module_name} defines {sorted(defined)}: move to errors.py"


def test_every_error_derives_from_nuvera_error_or_user_warning() -> None:
    for name in _defined_in(errors, BaseException):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.NuveraError) or issubclass(cls, UserWarning)


def test_old_import_paths_still_work() -> None:
    from nuvera_client._client import NuveraDeprecationWarning
    from nuvera_client._permissions import InvalidPermissionsError
    from nuvera_client.credentials import (
        CredentialsNotConfiguredError,
        CredentialSourceError,
        InsecureCredentialsFileError,
    )

    assert NuveraDeprecationWarning is errors.NuveraDeprecationWarning
    assert InvalidPermissionsError is errors.InvalidPermissionsError
    assert CredentialsNotConfiguredError is errors.CredentialsNotConfiguredError
    assert CredentialSourceError is errors.CredentialSourceError
    assert InsecureCredentialsFileError is errors.InsecureCredentialsFileError
