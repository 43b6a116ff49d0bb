"""Mutation testing of the security core with mutmut, each module against its own tests.

The module list is :data:`MODULES` (edit it when a module is renamed). Each module
is mutated in a scratch copy of the repository, so the work tree is never touched.
Survivors are split into *message* mutants (only the text of an error message or
a docstring changed: behaviour is the same, so they are equivalent for the
security contract) and *behaviour* survivors, each a missing test.

    python -m proof.mutation                 # all modules
    python -m proof.mutation _retry.py       # the modules whose path ends so
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SURVIVORS = "tests/unit/test_mutation_survivors.py"
# Each module's own deterministic tests: the hypothesis suites (tests/properties,
# tests/sandbox/test_fuzz.py) would multiply the run time by ten for each mutant.
MODULES: dict[str, list[str]] = {
    "nuvera_client/sandbox/_verify.py": [
        "tests/sandbox/test_verification_table.py",
        "tests/sandbox/test_verify_bounds.py",
        "tests/sandbox/test_tampering.py",
    ],
    "nuvera_client/_signer.py": [
        "tests/unit/test_signer.py",
        "tests/unit/test_vectors.py",
        SURVIVORS,
    ],
    "nuvera_client/_api_key.py": ["tests/unit/test_api_key.py", SURVIVORS],
    "nuvera_client/_body.py": ["tests/unit/test_body.py"],
    "nuvera_client/_retry.py": ["tests/unit/test_retry.py", SURVIVORS],
    "nuvera_client/_auth.py": ["tests/unit/test_auth.py", SURVIVORS],
}


def _scratch_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _configure(scratch: Path, module: str, tests: list[str]) -> None:
    pyproject = scratch / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text += (
        "\n[tool.mutmut]\n"
        f"source_paths = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'also_copy = ["tests/", "nuvera_client/", "docs/", "scripts/"]\n'
    )
    pyproject.write_text(text, encoding="utf-8")


def _mutmut(scratch: Path, *args: str, check: bool = False) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), *args],
        cwd=scratch,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return proc.stdout + proc.stderr


_LITERAL_XX = re.compile(r"""(["'])XX(.*?)XX\1""")
_ENCODINGS = ("ascii", "utf-8", "utf8", "latin-1")


def _is_message_mutant(diff: str) -> bool:
    """Only the text of a message changed: ``"XX...XX"`` around prose, or the case
    of an encoding name (Python reads ``"ASCII"`` as ``"ascii"``)."""
    removed = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    if len(removed) != 1 or len(added) != 1:
        return False
    before, after = removed[0], added[0]
    wrapped = _LITERAL_XX.search(after)
    if wrapped and after.replace("XX", "") == before.replace("XX", ""):
        return " " in wrapped.group(2)  # a sentence, not a value such as "test"
    if before != after and before.lower() == after.lower():
        literal = re.search(r"""(["'])(.*?)\1""", before)
        prose = literal is not None and " " in literal.group(2)
        return prose or any(name in before.lower() for name in _ENCODINGS)
    return False


def run_module(module: str, tests: list[str], children: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nuvera-mutmut-") as tmp:
        scratch = Path(tmp)
        _scratch_copy(scratch)
        _configure(scratch, module, tests)
        started = time.monotonic()
        log = _mutmut(scratch, "run", "--max-children", str(children))
        seconds = time.monotonic() - started
        results = _mutmut(scratch, "results", "--all", "true")
        statuses: dict[str, str] = {}
        for line in results.splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if sep and "__mutmut_" in name:
                statuses[name] = status
        survivors = [name for name, status in statuses.items() if status != "killed"]
        messages: list[str] = []
        behaviour: list[dict[str, str]] = []
        for name in survivors:
            diff = _mutmut(scratch, "show", name)
            if _is_message_mutant(diff):
                messages.append(name)
            else:
                lines = [
                    line
                    for line in diff.splitlines()
                    if line[:1] in "+-" and not line.startswith(("---", "+++"))
                ]
                behaviour.append(
                    {"mutant": name, "status": statuses[name], "diff": "\n".join(lines)}
                )
    total = len(statuses)
    killed = total - len(survivors)
    counted = total - len(messages)
    return {
        "module": module,
        "tests": tests,
        "mutants": total,
        "killed": killed,
        "score": round(100 * killed / total, 1) if total else None,
        "message_mutants_set_aside": len(messages),
        "score_without_message_mutants": round(100 * killed / counted, 1)
        if counted
        else None,
        "behaviour_survivors": behaviour,
        "seconds": round(seconds, 1),
        "log_tail": log[-400:] if not total else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="run the modules whose path ends so")
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = {
        module: tests
        for module, tests in MODULES.items()
        if not args.only or any(module.endswith(name) for name in args.only)
    }
    results = [
        run_module(module, tests, args.children) for module, tests in chosen.items()
    ]
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
