"""A sandbox that cannot open its state leaves no SQLite connection behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nuvera_client.sandbox import Sandbox


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    """Every connection the store opens (Python 3.13 warns of unclosed ones)."""
    made: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        made.append(connect(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(sqlite3, "connect", recording)
    return made


def _closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_state_file_that_is_not_a_database(
    tmp_path: Path, opened: list[sqlite3.Connection]
) -> None:
    state = tmp_path / "not.sqlite"
    state.write_text("hello, not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        Sandbox(state=state)
    assert len(opened) == 1
    assert _closed(opened[0])


def test_bad_rate_limit_opens_nothing(
    tmp_path: Path, opened: list[sqlite3.Connection]
) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Sandbox(state=tmp_path / "s.sqlite", rate_limit="fast")
    assert opened == []
    assert not (tmp_path / "s.sqlite").exists()


def test_close_releases_the_connection(
    tmp_path: Path, opened: list[sqlite3.Connection]
) -> None:
    sandbox = Sandbox(state=tmp_path / "s.sqlite")
    sandbox.close()
    assert len(opened) == 1
    assert _closed(opened[0])
