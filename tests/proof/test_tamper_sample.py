"""A sample of the tamper corpus (every mutation class, all 28 operations) per run.

The full corpus (>= 10,000 cases) runs in ``scripts/prove``.
"""

from __future__ import annotations

from proof.tamper import run


def test_tamper_sample_is_refused_with_the_exact_codes() -> None:
    result = run(-400)
    assert result["controls_served"] == 28, result["controls"]
    assert result["tried"] == 400
    assert result["accepted"] == 0, result["wrong"]
    assert result["refused_as_expected"] == 400, result["wrong"]
    # The sample starts with one case of each class, so every class is covered.
    assert len(result["mutation_classes"]) >= 27, result["mutation_classes"]
    assert result["operations"] == 28
