"""The API reference: documented names have docstrings, every client method has a page.

Cheap checks on the sources and the reference pages (``scripts/test`` builds the site
with ``mkdocs build --strict``, which fails on a cross-reference that does not resolve).
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import itertools
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_PAGES = ROOT / "docs" / "reference" / "api"


PACKAGE = ROOT / "nuvera_client"
CLIENT_PAGES = API_PAGES / "client"
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|meth|mod|func|data|attr|exc|obj|const):`")


def _directives() -> dict[str, set[str] | None]:
    """Each ``::: module`` of the reference, with its ``members:`` list if any."""
    found: dict[str, set[str] | None] = {}
    for page in sorted(API_PAGES.rglob("*.md")):
        current: str | None = None
        in_members = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: "):
                current = line[4:].strip()
                found[current] = None
                in_members = False
            elif current is not None and line.strip() == "members:":
                in_members = True
                found[current] = set()
            elif current is not None and in_members and line.strip().startswith("- "):
                members = found[current]
                assert members is not None
                members.add(line.strip()[2:].strip())
            elif not line.startswith(" "):
                current, in_members = None, False
    return found


def _documented_modules() -> list[str]:
    return list(_directives())


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


def sphinx_roles(source: str) -> list[str]:
    """The raw Sphinx roles in the docstrings (and attribute docstrings) of a source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            text = node.value.value
            found += [
                f"line {node.lineno}: {m.group(0)}" for m in SPHINX_ROLE.finditer(text)
            ]
    return found


def test_the_role_finder_finds_roles() -> None:
    source = (
        '"""See :class:`~a.B`."""\nX = 1\n"""And :meth:`get`."""\nY = ":func:`f`"\n'
    )
    assert sphinx_roles(source) == ["line 1: :class:`", "line 3: :meth:`"]
    assert sphinx_roles('"""See [`B`][a.B] and ``get()``."""\n') == []


def test_no_sphinx_role_in_the_docstrings() -> None:
    """The reference renders Markdown: ``:class:`X``` would be printed as text."""
    left = {
        str(path.relative_to(ROOT)): roles
        for path in sorted(PACKAGE.rglob("*.py"))
        if (roles := sphinx_roles(path.read_text(encoding="utf-8")))
    }
    assert left == {}, "use [`Name`][nuvera_client.path.Name] or ``Name`` instead"


def test_no_sphinx_role_in_the_docs() -> None:
    left = [
        str(page.relative_to(ROOT))
        for page in sorted((ROOT / "docs").rglob("*.md"))
        if SPHINX_ROLE.search(page.read_text(encoding="utf-8"))
    ]
    assert left == []


def _resource_classes() -> Iterator[tuple[str, type]]:
    import nuvera_client.resources as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield module.__name__, obj


RESOURCE_CLASSES = sorted(_resource_classes(), key=lambda item: item[1].__qualname__)


def _public_methods(cls: type) -> list[str]:
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(value)
    ]


def test_every_resource_class_is_found() -> None:
    names = {cls.__name__ for _, cls in RESOURCE_CLASSES}
    assert {"Customers", "AsyncPayments", "Tickets", "AsyncTicketMessages"} <= names
    assert len(names) == 24  # 7 areas; crypto, screening and support nest


@pytest.mark.parametrize(
    ("module", "cls"), RESOURCE_CLASSES, ids=[c.__name__ for _, c in RESOURCE_CLASSES]
)
def test_every_resource_class_has_a_reference_page(module: str, cls: type) -> None:
    directives = _directives()
    assert module in directives, f"no `::: {module}` in docs/reference/api/client/"
    members = directives[module]
    assert members is None or cls.__name__ in members, f"{cls.__name__} not listed"


@pytest.mark.parametrize(
    ("module", "cls"), RESOURCE_CLASSES, ids=[c.__name__ for _, c in RESOURCE_CLASSES]
)
def test_every_resource_method_is_in_the_client_overview(
    module: str, cls: type
) -> None:
    """``client.<area>.<method>`` table: each method, sync and async, linked."""
    overview = (CLIENT_PAGES / "index.md").read_text(encoding="utf-8")
    for method in _public_methods(cls):
        assert f"][{module}.{cls.__name__}.{method}]" in overview, method
        # Documented: the reference renders only methods with a docstring.
        assert (getattr(cls, method).__doc__ or "").strip(), method


def test_the_client_areas_link_to_their_pages() -> None:
    """Each ``client.<area>`` attribute docstring links to the area's class."""
    from nuvera_client import _client

    tree = ast.parse(inspect.getsource(_client))
    links: dict[tuple[str, str], str] = {}
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for func in cls.body:
            if not (isinstance(func, ast.FunctionDef) and func.name == "__init__"):
                continue
            body = func.body
            for stmt, after in itertools.pairwise(body):
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.targets[0], ast.Attribute)
                    and isinstance(stmt.value, ast.Call)
                    and isinstance(stmt.value.func, ast.Name)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                ):
                    key = (cls.name, stmt.targets[0].attr)
                    links[key] = f"{stmt.value.func.id}|{after.value.value!s}"
    areas = ["customers", "beneficiaries", "documents", "crypto", "payments"]
    areas += ["screening", "support"]
    for client in ("NuveraClient", "AsyncNuveraClient"):
        for area in areas:
            assert (client, area) in links, (client, area)
            name, doc = links[client, area].split("|", 1)
            target = getattr(_client, name)
            assert f"[`{name}`][{target.__module__}.{name}]" in doc, (client, area)
