"""Load, a small sample per run: signed async requests to a sandbox process.

``scripts/prove`` sends 100,000 and prints client and server throughput.
"""

from __future__ import annotations

import pytest

from proof.load import default_stack, ok, run


@pytest.mark.parametrize("stack", sorted({"httpx", default_stack()}))
def test_load_sample_all_jti_distinct_no_failure(stack: str) -> None:
    result = run(requests=200, concurrency=20, stack=stack)
    assert result["http_stack"] == stack
    assert result["signing_key_bits"] == 2048
    assert result["failed"] == 0, result["errors"]
    assert result["reused_jti"] == 0
    assert ok(result), result
