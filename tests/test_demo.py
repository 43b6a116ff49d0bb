"""The demo that scripts/demo runs: every step must succeed against the sandbox."""

from __future__ import annotations

import re

import pytest

from nuvera_client import _demo


def test_demo_runs_the_whole_partner_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert _demo.run() == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out
    assert "retry → same payment, 1 held" in out
    assert "403 permission_denied: needs PAYMENTS_READ" in out
    match = re.search(r"(\d+) succeeded, (\d+) failed", out)
    assert match is not None
    assert int(match.group(1)) > 0
    assert match.group(2) == "0"
    # The one-time API key is never printed whole, only prefix and last four.
    assert not re.search(r"nvk_test_[0-9A-Za-z]{38}", out)
    # It ends by naming the console's address.
    assert (
        out.rstrip()
        .splitlines()[-1]
        .startswith("Sandbox console: http://127.0.0.1:8787/console")
    )
