"""The sandbox re-derives everything from PROTOCOL.md: it imports no client code."""

from __future__ import annotations

import ast
from pathlib import Path

import nuvera_client.sandbox

FORBIDDEN = {
    "nuvera_client._signer",
    "nuvera_client._auth",
    "nuvera_client._api_key",
    "nuvera_client.keys",
    "nuvera_client._body",
}


def test_sandbox_imports_no_client_signing_code() -> None:
    root = Path(nuvera_client.sandbox.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n in FORBIDDEN]
    assert offenders == []
