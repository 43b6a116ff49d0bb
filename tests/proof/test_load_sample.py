"""Load, a small sample per run: signed async requests to a sandbox process.

``scripts/prove`` sends 100,000 and prints client and server throughput.
"""

from __future__ import annotations

from proof.load import ok, run


def test_load_sample_all_jti_distinct_no_failure() -> None:
    result = run(requests=200, concurrency=20)
    assert result["failed"] == 0, result["errors"]
    assert result["reused_jti"] == 0
    assert ok(result), result
