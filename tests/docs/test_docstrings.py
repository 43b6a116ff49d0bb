"""Every public name of the documented modules has a docstring (the API reference)."""

from __future__ import annotations

import enum
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_PAGES = ROOT / "docs" / "reference" / "api"


def _documented_modules() -> list[str]:
    modules = []
    for page in sorted(API_PAGES.glob("*.md")):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: "):
                modules.append(line[4:].strip())
    return modules


MODULES = _documented_modules()


def _own_doc(obj: object) -> str:
    doc = getattr(obj, "__dict__", {}).get("__doc__") if inspect.isclass(obj) else None
    if inspect.isclass(obj):
        # A dataclass without a docstring gets its signature as __doc__.
        text = doc or ""
        return "" if text.startswith(f"{obj.__name__}(") else text
    return inspect.getdoc(obj) or ""


def _public(module_name: str) -> Iterator[tuple[str, object]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else value
                target = getattr(target, "__func__", target)
                if inspect.isfunction(target):
                    yield f"{module_name}.{name}.{member}", target


def test_the_reference_documents_the_public_modules() -> None:
    expected = {
        "nuvera_client",
        "nuvera_client.errors",
        "nuvera_client.keys",
        "nuvera_client.kms",
        "nuvera_client.hsm",
        "nuvera_client.telemetry",
        "nuvera_client.models",
        "nuvera_client.credentials",
        "nuvera_client.requests_auth",
        "nuvera_client.sandbox",
        "nuvera_client.testing",
    }
    assert expected <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_public_names_have_docstrings(module: str) -> None:
    names = list(_public(module))
    assert names, f"{module} exports nothing"
    missing = [name for name, obj in names if not _own_doc(obj).strip()]
    assert missing == []
