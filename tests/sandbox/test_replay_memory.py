"""The in-memory replay store keeps exactly the rules of the ``replay_store`` table.

A sandbox without a state file records ``jti`` values in a dict
(``ReplayMemory``); one with a state file in its table (``_record_jti()``). Fed the
same sequence of tokens, clock readings and clean-ups, both must answer "replayed"
alike and keep as many entries.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nuvera_client.sandbox._store import PLATFORM_SCHEMA
from nuvera_client.sandbox._verify import ReplayMemory, _record_jti

JTIS = ["a" * 16, "b" * 16, "c" * 128, "short", "x" * 129, 7]
NOW = 1_800_000_000

_exp = st.one_of(
    st.integers(min_value=NOW - 5000, max_value=NOW + 8000),
    st.just(True),
    st.just("soon"),
    st.none(),
)
_step = st.tuples(
    st.sampled_from(["app_a", "app_b"]),
    st.sampled_from(JTIS),
    _exp,
    st.integers(min_value=-20, max_value=200),  # how far the clock moves first
    st.booleans(),  # clean up first
)


def _table() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(PLATFORM_SCHEMA)
    return db


def _claims(jti: Any, exp: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"jti": jti}
    if exp is not None:
        claims["exp"] = exp
    return claims


@settings(max_examples=300, deadline=None)
@given(st.lists(_step, min_size=1, max_size=40))
def test_memory_and_table_agree(steps: list[tuple[str, Any, Any, int, bool]]) -> None:
    db = _table()
    memory = ReplayMemory()
    now = NOW
    for app, jti, exp, move, purge in steps:
        now += move
        if purge:
            db.execute("DELETE FROM replay_store WHERE keep_until < ?", (now,))
            memory.purge(now)
        claims = _claims(jti, exp)
        assert memory.record(app, claims, now) == _record_jti(db, app, claims, now)
        rows = db.execute("SELECT count(*) FROM replay_store").fetchone()[0]
        assert len(memory) == rows
    db.close()


def test_a_fresh_jti_then_its_replay() -> None:
    memory = ReplayMemory()
    claims = {"jti": "j" * 16, "exp": NOW + 30}
    assert memory.record("app_a", claims, NOW) is False
    assert memory.record("app_a", claims, NOW + 1) is True
    # Another application's store is its own.
    assert memory.record("app_b", claims, NOW + 1) is False
    assert len(memory) == 2


def test_an_entry_lives_until_exp_plus_leeway_and_is_then_purged() -> None:
    memory = ReplayMemory()
    claims = {"jti": "j" * 16, "exp": NOW + 30}
    memory.record("app_a", claims, NOW)
    memory.purge(NOW + 40)  # kept until exp + 10 = NOW + 40: still there
    assert len(memory) == 1
    assert memory.record("app_a", claims, NOW + 40) is True
    memory.purge(NOW + 41)
    assert len(memory) == 0
    # Past its time an entry counts as gone even before a clean-up removes it.
    memory.record("app_a", claims, NOW)
    assert memory.record("app_a", claims, NOW + 41) is False


def test_a_later_exp_extends_the_entry() -> None:
    memory = ReplayMemory()
    memory.record("app_a", {"jti": "j" * 16, "exp": NOW + 30}, NOW)
    # The same jti again with a later exp: refused, and now kept until NOW + 70.
    assert memory.record("app_a", {"jti": "j" * 16, "exp": NOW + 60}, NOW + 1) is True
    memory.purge(NOW + 70)
    assert len(memory) == 1
    memory.purge(NOW + 71)
    assert len(memory) == 0


def test_a_malformed_jti_is_not_remembered() -> None:
    memory = ReplayMemory()
    for jti in ("short", "x" * 129, "bad jti!" * 3, 42, None):
        assert memory.record("app_a", {"jti": jti, "exp": NOW + 30}, NOW) is False
        assert memory.record("app_a", {"jti": jti, "exp": NOW + 30}, NOW) is False
    assert len(memory) == 0
