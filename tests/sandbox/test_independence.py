"""The sandbox re-derives everything from PROTOCOL.md: an allow-list of its imports.

``nuvera_client.sandbox`` may import itself, and from the rest of the client package
only the modules listed in ``ALLOWED``. Anything else fails here, so a
shared helper cannot slip in unnoticed; the signing side never may.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nuvera_client.sandbox

PACKAGE = "nuvera_client"
SANDBOX = "nuvera_client.sandbox"
# Client modules the sandbox may import, each with its reason. Keep it short.
ALLOWED: dict[str, str] = {
    "nuvera_client.errors": "the one error module: SandboxError and SandboxBusyError "
    "are NuveraErrors a user catches (no verification logic in it)",
    "nuvera_client._secret_holder": "reprs and pickling of objects holding a one-time "
    "API key (no verification logic in it)",
}
# Never, whatever ALLOWED says: one shared bug would pass both sides.
NEVER = frozenset(
    {
        "nuvera_client._signer",
        "nuvera_client._auth",
        "nuvera_client._api_key",
        "nuvera_client.keys",
        "nuvera_client._body",
    }
)


def _imports(path: Path, root: Path) -> list[str]:
    """Every module ``path`` (under the sandbox ``root``) imports, relative resolved."""
    package = [*SANDBOX.split("."), *path.parent.relative_to(root).parts]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append(module)
            # `from nuvera_client import _signer` names the module in the alias.
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def _client_modules() -> dict[str, list[str]]:
    root = Path(nuvera_client.sandbox.__file__).parent
    used: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for name in _imports(path, root):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                used.setdefault(name, []).append(str(path.relative_to(root)))
    return used


def test_sandbox_imports_only_itself_and_the_allow_list() -> None:
    outside = {
        name: files
        for name, files in _client_modules().items()
        if not (name == SANDBOX or name.startswith(SANDBOX + "."))
        and not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED)
        # `from nuvera_client.sandbox import x` also yields "nuvera_client" itself.
        and name != PACKAGE
    }
    assert outside == {}


def test_never_the_signing_side() -> None:
    assert not NEVER & set(ALLOWED)
    hits = {name for name in _client_modules() if name in NEVER}
    assert hits == set()


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The walker is not blind: it finds absolute and relative forms."""
    probe = tmp_path / "_routes" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "from nuvera_client import _signer\nfrom ... import _auth\n", encoding="utf-8"
    )
    names = set(_imports(probe, tmp_path))
    assert "nuvera_client._signer" in names
    assert "nuvera_client._auth" in names
