"""Every example runs, as a user would run it, and prints its story without secrets.

Scripts run as subprocesses (``python examples/x.py``) with no ``NUVERA_*`` settings;
the notebook's code cells run in order in one namespace, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# What each story must show: one line per promise the example makes.
EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [r"created cus_\w+: Ada Lovelace, KYC not_started", r"individual"],
    "upload_document.py": [
        r"server sha256 matches local file: True",
        r"KYC verified",
        r"downloaded to disk, identical: True",
        r"streamed 2097161 bytes",
    ],
    "payments_idempotency.py": [
        r"same payment: True",
        r"same key, other body -> 409 idempotency_conflict",
        r"1250\.00 -> completed",
        r"13\.13 -> failed \(insufficient_funds\)",
        r"payments held by the sandbox: 3",
    ],
    "rotate_keys.py": [
        r"old API key revoked .* ok",
        r"failed requests during rotation: 0",
    ],
    "async_bulk.py": [
        r"created 40 customers",
        r"listed 40 customers",
        r"has_more=True",
    ],
    "page_two.py": [
        r"page 1: Customer 7, Customer 6, Customer 5",
        r"page 2: Customer 4, Customer 3, Customer 2",
        r"page 3: Customer 1",
    ],
    "secrets_manager.py": [r"old API key revoked .* secret reads: 3"],
    "requests_integration.py": [
        r"POST /v1/customers -> 201",
        r"GET  /v1/customers\?email=zoe%40example\.com -> 200",
        r"sha256 ok: True",
    ],
}

SECRETS = [
    re.compile(r"nvk_(?:live|test)_[0-9A-Za-z]{38}"),  # a whole API key
    re.compile(r"PRIVATE KEY"),
    re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+"),  # a whole token
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUVERA_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _assert_no_secret(text: str) -> None:
    for pattern in SECRETS:
        assert not pattern.search(text), f"output shows a secret ({pattern.pattern})"


def test_every_example_is_listed_and_shown_in_the_docs() -> None:
    scripts = {path.name for path in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED)
    assert (EXAMPLES / "notebook.ipynb").is_file()
    page = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"<!-- nuvera:example examples/([\w.]+) -->", page))
    assert shown == scripts


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_script_runs(script: str) -> None:
    source = (EXAMPLES / script).read_text(encoding="utf-8")
    assert 'if __name__ == "__main__":\n    main()' in source
    assert len(source.splitlines()) <= 120, "one story, about 60 lines"
    result = _run([f"examples/{script}"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for expected in EXPECTED[script]:
        assert re.search(expected, result.stdout), (expected, result.stdout)
    _assert_no_secret(output)


NOTEBOOK_RUNNER = """
import ast, json, sys
notebook = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__"}
for number, cell in enumerate(notebook["cells"]):
    if cell["cell_type"] != "code":
        continue
    tree = ast.parse("".join(cell["source"]), f"<cell {number}>")
    is_expression = tree.body and isinstance(tree.body[-1], ast.Expr)
    last = tree.body.pop() if is_expression else None
    exec(compile(tree, f"<cell {number}>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"<cell {number}>", "eval"),
                     namespace)
        print(f"[{number}] {value!r}")
        if hasattr(value, "_repr_html_"):  # what Jupyter shows
            print(f"[{number}:html] {value._repr_html_()}")
"""


def test_notebook_cells_run_in_order() -> None:
    notebook = json.loads((EXAMPLES / "notebook.ipynb").read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 5
    for cell in code:
        ast.parse("".join(cell["source"]))  # every cell is valid Python
        assert cell["outputs"] == [], "commit the notebook without outputs"
    result = _run(["-c", NOTEBOOK_RUNNER, "examples/notebook.ipynb"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ethereum, polygon, solana" in result.stdout
    assert "PaymentStatus.COMPLETED" in result.stdout  # readable enum repr
    assert "Decimal('42.50')" in result.stdout
    # Rich display: a model, a page and an error as HTML tables.
    assert "<caption>Payment</caption>" in result.stdout
    assert "<caption>Page: 3 items, more pages follow</caption>" in result.stdout
    assert "<caption>PermissionDeniedError</caption>" in result.stdout
    # A DataFrame with proper dtypes: aware timestamps, exact amounts.
    assert re.search(r"created_at\s+datetime64\[\w+, UTC\]", result.stdout)
    assert "(Decimal('42.50'), datetime.timezone.utc)" in result.stdout
    assert "('42.50', Decimal('42.50'))" in result.stdout
    # The progress bar (tqdm writes it on stderr): 6 customers over 3 pages.
    assert re.search(r"items: 100%.*6/6|items: 6item", result.stderr), result.stderr
    # The upload's and the download's bars, in bytes (unit_scale: kB / MB).
    assert re.search(r"passport-scan\.pdf: 100%.*1\.02M/1\.02M", result.stderr)
    assert re.search(r"copy\.pdf: .*1\.02M", result.stderr)
    assert "1024009" in result.stdout  # the uploaded document's size
    _assert_no_secret(output)
