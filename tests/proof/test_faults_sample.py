"""Faults under concurrency, a small sample per run (``scripts/prove`` runs more).

8 threads and then 100 asyncio tasks create payments through a transport that
resets connections before and after sending, times out after the server acted and
answers 502/503/429 bursts with and without ``Retry-After``; the sandbox restarts on
its state file half-way through.
"""

from __future__ import annotations

from proof.faults import ok, run


def test_every_call_ends_in_one_payment_or_a_clear_error() -> None:
    result = run(calls=8)
    assert result["calls"] == 16
    assert result["duplicate_payments"] == 0, result
    assert result["reused_jti"] == 0, result
    assert result["served_but_missing"] == 0, result
    assert not any(result["lost_after_restart"].values()), result
    assert ok(result), result
    # Faults were really injected, of most kinds (which ones is up to chance).
    assert len(result["faults_injected"]) >= 5, result["faults_injected"]
