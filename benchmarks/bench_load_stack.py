"""Client CPU per request of the proof load stage, per HTTP stack and concurrency.

The load stage of ``scripts/prove`` (``tests/proof/load.py``) sends signed GETs from
the async client to a sandbox process over loopback. This runs it with each variant
in alternating rounds and prints the client's CPU milliseconds per request and the
median per-round ratio against the previous default (httpx, 100 tasks), so a busy
machine skews every variant alike.

    python benchmarks/bench_load_stack.py [--requests 6000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from proof.load import default_stack, ok, run

BASELINE = ("httpx", 100)


def variants() -> list[tuple[str, int]]:
    stacks = sorted({"httpx", default_stack()})
    return [(stack, tasks) for stack in stacks for tasks in (20, 100)]


def measure(requests: int, rounds: int) -> dict[tuple[str, int], list[float]]:
    """Client CPU ms per request of each variant, one value per round."""
    results: dict[tuple[str, int], list[float]] = {v: [] for v in variants()}
    for _ in range(rounds):
        for stack, tasks in variants():
            result = run(requests, tasks, stack)
            if not ok(result):
                raise SystemExit(f"{stack}/{tasks}: the load run failed: {result}")
            results[stack, tasks].append(
                1000 * result["client_cpu_seconds"] / result["requests"]
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    results = measure(args.requests, args.rounds)
    base = results[BASELINE]
    print(f"{args.requests} requests per run, {args.rounds} rounds, alternating")
    for (stack, tasks), values in results.items():
        ratio = statistics.median(b / v for b, v in zip(base, values, strict=True))
        print(
            f"{stack:7} {tasks:3} tasks: {statistics.median(values):.2f} ms client CPU"
            f" per request; {ratio:.2f}x the requests per CPU second of httpx/100"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
