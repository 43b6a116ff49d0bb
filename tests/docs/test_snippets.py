"""The Python snippets of the guides compile and import only names that exist."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _snippets() -> list[tuple[str, int, str]]:
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            if match.group(1).lstrip().startswith("--8<--"):
                continue  # an included example file: tested by running it
            line = text[: match.start()].count("\n") + 1
            found.append((page.relative_to(ROOT).as_posix(), line, match.group(1)))
    return found


SNIPPETS = _snippets()


def test_the_guides_have_snippets() -> None:
    assert len(SNIPPETS) > 20


@pytest.mark.parametrize(
    ("page", "line", "source"), SNIPPETS, ids=[f"{p}:{n}" for p, n, _ in SNIPPETS]
)
def test_snippet_compiles_and_its_imports_exist(
    page: str, line: int, source: str
) -> None:
    tree = compile(source, f"{page}:{line}", "exec", flags=FLAGS)
    assert isinstance(tree, ast.Module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "nuvera_client"
        ):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
