"""``scripts/prove``: run every proof stage, write ``report.json`` and ``report.md``.

    scripts/prove                       # every stage, full size
    scripts/prove tamper load           # some stages
    PROVE_LOAD_REQUESTS=20000 scripts/prove load

Sizes come from the environment (defaults are the published run's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def stage_schema(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.schema_run import run

    result = run(
        max_examples=_env_int("PROVE_ST_MAX_EXAMPLES", 100),
        max_time=_env_int("PROVE_ST_MAX_TIME", 240),
        seed=_env_int("PROVE_SEED", 17),
        report_dir=out / "schemathesis",
    )
    result["summary"] = [
        line
        for line in result["summary"]
        if "generated" in line or "Tested" in line or "Selected" in line
    ]
    return not result["unclassified"], result


def stage_tamper(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.tamper import run

    result = run(_env_int("PROVE_TAMPER_CASES", 10_000))
    ok = (
        result["accepted"] == 0
        and result["refused_as_expected"] == result["tried"]
        and result["controls_served"] == 28
    )
    return ok, result


def stage_fuzz(out: Path) -> tuple[bool, dict[str, Any]]:
    examples = _env_int("PROVE_FUZZ_EXAMPLES", 1000)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "proof" / "test_fuzz_parsers.py"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NUVERA_PROOF_EXAMPLES": str(examples)},
    )
    (out / "fuzz-hypothesis.txt").write_text(
        proc.stdout + proc.stderr, encoding="utf-8"
    )
    tail = (proc.stdout.strip().splitlines() or [""])[-1]
    return proc.returncode == 0, {
        "examples_per_target": examples,
        "targets": 7,
        "result": tail,
        "seconds": round(time.monotonic() - started, 1),
    }


def stage_atheris(out: Path) -> tuple[bool, dict[str, Any]]:
    seconds = _env_int("PROVE_ATHERIS_SECONDS", 20)
    try:
        import atheris  # noqa: F401
    except ImportError:
        install = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "atheris"],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            message = "atheris does not install here (no wheel, no compiler): skipped"
            print(message)
            return True, {"skipped": message}
    from proof.fuzz_targets import TARGETS

    runs: dict[str, Any] = {}
    ok = True
    for name in TARGETS:
        work = out / "atheris" / name
        work.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "proof.atheris_run",
                name,
                f"-max_total_time={seconds}",
                "-rss_limit_mb=2048",
                "-timeout=10",
                f"-artifact_prefix={work}/",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        (work / "log.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        done = [line for line in proc.stderr.splitlines() if line.startswith("Done ")]
        runs[name] = {"exit_code": proc.returncode, "done": done[-1] if done else ""}
        ok = ok and proc.returncode == 0
    return ok, {"seconds_per_target": seconds, "targets": runs}


def stage_mutation(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.mutation import MODULES, run_all

    only = os.environ.get("PROVE_MUTATION_MODULES", "").split()
    chosen = {
        module: tests
        for module, tests in MODULES.items()
        if not only or any(module.endswith(name) for name in only)
    }
    minimum = float(os.environ.get("PROVE_MUTATION_MIN_SCORE", "98"))
    started = time.monotonic()
    results = run_all(chosen, workers=_env_int("PROVE_MUTATION_WORKERS", 2))
    # Survivor diffs and the equivalent mutants with their reasons.
    (out / "mutation.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    summary: dict[str, Any] = {
        "minimum_score": minimum,
        "wall_seconds": round(time.monotonic() - started, 1),
        # mutmut and its mutant processes, per module (exact under overlap).
        "cpu_seconds": round(sum(r["cpu_seconds"] for r in results), 1),
        "modules": {
            r["module"]: {
                k: r[k]
                for k in (
                    "mutants",
                    "killed",
                    "equivalent",
                    "score",
                    "survivors",
                    "seconds",
                    "cpu_seconds",
                )
            }
            for r in results
        },
    }
    ok = all(r["score"] is not None and r["score"] >= minimum for r in results)
    return ok, summary


def stage_faults(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.faults import ok, run

    result = run(calls=_env_int("PROVE_FAULT_CALLS", 150))
    return ok(result), result


def stage_load(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.load import ok, run

    result = run(
        _env_int("PROVE_LOAD_REQUESTS", 100_000),
        _env_int("PROVE_LOAD_CONCURRENCY", 100),
    )
    return ok(result), result


def stage_leaks(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.leaks import run

    args = os.environ.get("PROVE_LEAK_SUITE", "tests").split()
    result = run(out / "leaks", args)
    return result["hits"] == 0, result


STAGES: dict[str, Callable[[Path], tuple[bool, dict[str, Any]]]] = {
    "tamper": stage_tamper,
    "schema": stage_schema,
    "fuzz": stage_fuzz,
    "atheris": stage_atheris,
    "faults": stage_faults,
    "load": stage_load,
    "mutation": stage_mutation,
    "leaks": stage_leaks,
}


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stages", nargs="*", help="stages: " + " ".join(STAGES))
    parser.add_argument("--out", type=Path, default=ROOT / "proof-report")
    args = parser.parse_args(argv)
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error("unknown stage: " + ", ".join(sorted(unknown)))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(), "stages": {}}
    started = time.monotonic()
    failed = []
    for name in args.stages or list(STAGES):
        print(f"==> {name}", flush=True)
        t0 = time.monotonic()
        ok, result = STAGES[name](out)
        result_seconds = round(time.monotonic() - t0, 1)
        report["stages"][name] = {"ok": ok, "seconds": result_seconds, "result": result}
        print(f"    {'ok' if ok else 'FAILED'} in {result_seconds} s", flush=True)
        if not ok:
            failed.append(name)
        (out / "report.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
        )
    report["total_seconds"] = round(time.monotonic() - started, 1)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    print(f"report: {out / 'report.md'} ({report['total_seconds']} s)")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Proof report", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in report["machine"].items()]
    lines += ["", f"Total: {report.get('total_seconds')} s", ""]
    for name, stage in report["stages"].items():
        lines += [
            f"## {name}: {'ok' if stage['ok'] else 'FAILED'} ({stage['seconds']} s)",
            "",
            "```json",
        ]
        lines += [
            json.dumps(stage["result"], indent=2, ensure_ascii=False)[:6000],
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
