"""Run one fuzz target of :mod:`proof.fuzz_targets` under atheris (coverage-guided).

    python -m proof.atheris_run api_key -max_total_time=20

A crash (any exception the target lets through) makes libFuzzer stop with a
non-zero status and write the input to ``crash-*``; keep it as an ``@example``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["nuvera_client"]):
    from proof import fuzz_targets


def main() -> None:
    name = sys.argv[1]
    target = fuzz_targets.TARGETS[name]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
