"""``scripts/prove``'s runner: stages in processes of their own, timed, reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proof import prove


def test_the_plan_orders_every_stage() -> None:
    assert sorted(prove.PLAN) == sorted(prove.STAGES)
    # The long stages start first, so the short ones fill in at the end.
    assert prove.PLAN[:2] == ("mutation", "load")


def test_a_stage_runs_in_its_own_process_and_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVE_TAMPER_CASES", "60")
    assert prove.main(["tamper", "--jobs", "2", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["jobs"] == 2
    assert list(report["stages"]) == ["tamper"]
    stage = report["stages"]["tamper"]
    assert stage["ok"] is True
    assert stage["result"]["tried"] >= stage["result"]["asked"] == 60
    assert stage["cpu_seconds"] > 0
    assert stage["seconds"] > 0
    assert report["total_seconds"] >= stage["seconds"]
    assert len(report["machine"]["load_average_at_start"]) == 3
    assert len(report["machine"]["load_average_at_end"]) == 3
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| tamper | ok |" in markdown
    assert (tmp_path / "logs" / "tamper.txt").is_file()


def test_a_stage_that_crashes_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not a number: the stage's process dies before it reports anything.
    monkeypatch.setenv("PROVE_TAMPER_CASES", "many")
    assert prove.main(["tamper", "--out", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    stage = report["stages"]["tamper"]
    assert stage["ok"] is False
    assert "ValueError" in stage["result"]["log_tail"]
