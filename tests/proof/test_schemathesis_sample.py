"""Schemathesis against a loopback sandbox, a time-boxed sample per run.

All 28 operations, the examples, coverage, fuzzing and stateful phases, every
check, positive and negative data, every request signed by NuveraRequestsAuth after
requests built it. Failures are allowed only when they belong to a class of rule
no OpenAPI schema can express (docs/proof.md); ``scripts/prove`` runs it long.
"""

from __future__ import annotations

import re
from pathlib import Path

from proof.schema_run import run


def test_schemathesis_sample_finds_only_classified_failures(tmp_path: Path) -> None:
    result = run(max_examples=1, max_time=6, seed=17, report_dir=tmp_path)
    summary = "\n".join(result["summary"])
    assert re.search(r"Selected: 28/28", summary), summary
    assert result["unclassified"] == [], result["unclassified"]
    # Nothing secret is kept in the report directory.
    for path in tmp_path.iterdir():
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not re.search(r"nvk_test_[0-9A-Za-z]{38}", text), path
            assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{40,}", text), path
            assert "PRIVATE KEY" not in text, path
