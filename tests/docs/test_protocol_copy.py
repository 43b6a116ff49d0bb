"""docs/spec/protocol.md must stay the same text as the shared PROTOCOL.md."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "PROTOCOL.md"
COPY = ROOT / "docs" / "spec" / "protocol.md"


@pytest.mark.skipif(
    not SHARED.exists(), reason="no shared/PROTOCOL.md beside this checkout"
)
def test_docs_copy_of_the_protocol_is_current() -> None:
    shared = SHARED.read_text(encoding="utf-8").splitlines()
    copy = COPY.read_text(encoding="utf-8").splitlines()
    # The copy replaces the title and adds an admonition; the rest is verbatim.
    body_start = shared.index("") + 1
    assert "\n".join(copy).endswith("\n".join(shared[body_start:])), (
        "docs/spec/protocol.md is stale: copy ../shared/PROTOCOL.md over it again"
    )
