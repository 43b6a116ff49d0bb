"""docs/spec/vectors.md and conformance.md name every field their JSON files use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "spec"


def _keys(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            if key not in skip:
                yield from _keys(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, skip)


def test_vectors_layout_documents_every_field() -> None:
    vectors = json.loads((SPEC / "vectors.json").read_text("utf-8"))
    # Under "keys" the members are key names (rsa-2048, ...), documented as <name>.
    fields = set(_keys({k: v for k, v in vectors.items() if k != "keys"}))
    fields |= {f for entry in vectors["keys"].values() for f in entry}
    fields -= {"content-type", "content-encoding", "idempotency-key"}  # header names
    page = (SPEC / "vectors.md").read_text("utf-8")
    missing = sorted(f for f in fields if f"`{f}`" not in page and f".{f}`" not in page)
    assert missing == []


@pytest.mark.parametrize("section", ["request", "expect"])
def test_conformance_page_documents_every_plan_field(section: str) -> None:
    plan = json.loads((SPEC / "conformance-plan.json").read_text("utf-8"))
    page = (SPEC / "conformance.md").read_text("utf-8")
    fields = {
        key
        for case in plan["cases"]
        for key in case[section]
        if key not in ("headers",) or section == "request"
    }
    missing = sorted(f for f in fields if f not in page)
    assert missing == []
    for case in plan["cases"]:
        assert f"`{case['id']}`" in page
