"""The tooling checks what it claims: lint rules fire, runtime imports are declared."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


def _ruff(source: str, filename: str) -> str:
    if not Path(RUFF).exists():
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [RUFF, "check", "--no-cache", "--stdin-filename", filename, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("import random\n\nX = random.random()\n", "TID251"),
        ("def f(obj: object) -> object:\n    return obj._secret\n", "SLF001"),
    ],
)
def test_package_lint_rules_fire(source: str, rule: str) -> None:
    header = '"""Owns nothing."""\n\nfrom __future__ import annotations\n\n'
    assert rule in _ruff(header + source, "nuvera_client/_probe.py")


def test_random_is_banned_in_tests_too() -> None:
    assert "TID251" in _ruff("import random\n", "tests/unit/test_probe.py")


def _imported_top_level_modules() -> set[str]:
    names: set[str] = set()
    package = ROOT / "nuvera_client"
    for path in package.rglob("*.py"):
        # The extras' modules import their extra's packages; checked elsewhere.
        if "sandbox" in path.parts or path.name in ("requests_auth.py", "testing.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and node.col_offset == 0:
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.col_offset == 0
                and node.module
            ):
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_runtime_import_is_a_declared_dependency() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    assert block is not None
    declared = {
        re.split(r"[<>=!~\[;]", item.strip().strip('",'))[0].lower()
        for item in block.group(1).splitlines()
        if item.strip().startswith('"')
    }
    distribution = {"jwt": "pyjwt"}
    third_party = {
        name
        for name in _imported_top_level_modules()
        if name not in sys.stdlib_module_names and name != "nuvera_client"
    }
    missing = {distribution.get(n, n) for n in third_party} - declared
    # boto3 is imported lazily inside functions (the `aws` extra), never at top level.
    assert missing == set()
    assert "anyio" in declared
