"""``scripts/prove``: run every proof stage, write ``report.json`` and ``report.md``.

    scripts/prove                       # every stage, full size, two at a time
    scripts/prove tamper load           # some stages
    scripts/prove --jobs 1              # one stage at a time (PROVE_JOBS)
    PROVE_LOAD_REQUESTS=20000 scripts/prove load

Each stage runs in a process of its own, ``--jobs`` of them at once (default 2, one
per core of the reference machine), longest first (``PLAN``); the report records each
stage's wall and CPU seconds, the total wall time and the load average before and
after. Sizes come from the environment (defaults are the published run's); a stage
that ran fewer cases than asked fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_OPERATIONS = 28
SCHEMA_MAX_EXAMPLES = 350
FUZZ_TARGETS = 7

# The long stages first: whenever a job slot frees, the next stage of this list that
# was asked for starts. With two jobs: mutation || load, then schema || leaks, then
# fuzz, atheris, faults and tamper fill in (docs/proof.md has the budget).
PLAN = ("mutation", "load", "schema", "leaks", "fuzz", "atheris", "faults", "tamper")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def stage_schema(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.schema_run import run

    result = run(
        max_examples=_env_int("PROVE_ST_MAX_EXAMPLES", SCHEMA_MAX_EXAMPLES),
        # Bounded by examples (seeded: the same cases each run), not by time:
        # given --max-time, Schemathesis keeps generating until it (0: none).
        max_time=_env_int("PROVE_ST_MAX_TIME", 0) or None,
        seed=_env_int("PROVE_SEED", 17),
        report_dir=out / "schemathesis",
    )
    result["summary"] = [
        line
        for line in result["summary"]
        if "generated" in line or "Tested" in line or "Selected" in line
    ]
    tested = _summary_number(result["summary"], r"Tested:\s*(\d+)")
    selected = _summary_number(result["summary"], r"Selected:\s*\d+/(\d+)")
    result["operations_tested"] = tested
    result["generated"] = _summary_number(result["summary"], r"(\d+) generated")
    ok = (
        not result["unclassified"]
        and tested == selected == SCHEMA_OPERATIONS
        and result["exit_code"] in (0, 1)
        and result["generated"] > 0
    )
    return ok, result


def _summary_number(lines: list[str], pattern: str) -> int:
    for line in lines:
        found = re.search(pattern, line)
        if found:
            return int(found.group(1))
    return -1


def stage_tamper(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.tamper import run

    asked = _env_int("PROVE_TAMPER_CASES", 10_000)
    result = run(asked)
    result["asked"] = asked
    ok = (
        result["tried"] >= asked
        and result["accepted"] == 0
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
            "--hypothesis-show-statistics",
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
    lines = proc.stdout.strip().splitlines()
    tail = next((line for line in reversed(lines) if " passed" in line), "")
    # Hypothesis' statistics: "N passing, 0 failing, and M invalid test cases" for
    # each target's generate phase; every target must have run all it was asked.
    generate = r"during generate phase[^\n]*\n(?:[^\n]*\n)*?\s*- (\d+) passing"
    passing = [int(n) for n in re.findall(generate, proc.stdout)]
    ok = (
        proc.returncode == 0
        and len(passing) == FUZZ_TARGETS
        and min(passing) >= examples
    )
    return ok, {
        "examples_per_target": examples,
        "targets": FUZZ_TARGETS,
        "passing_examples_per_target": passing,
        "result": tail,
        "seconds": round(time.monotonic() - started, 1),
    }


def stage_atheris(out: Path) -> tuple[bool, dict[str, Any]]:
    seconds = _env_int("PROVE_ATHERIS_SECONDS", 10)
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
        count = re.search(r"Done (\d+) runs", done[-1]) if done else None
        runs[name] = {
            "exit_code": proc.returncode,
            "runs": int(count.group(1)) if count else 0,
            "done": done[-1] if done else "",
        }
        ok = ok and proc.returncode == 0 and runs[name]["runs"] > 0
    ok = ok and len(runs) == FUZZ_TARGETS
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

    asked = _env_int("PROVE_FAULT_CALLS", 150)
    result = run(calls=asked)
    # ``asked`` sync calls on threads, then as many async ones.
    return ok(result) and result["calls"] >= 2 * asked, result


def stage_load(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.load import default_stack, ok, run

    asked = _env_int("PROVE_LOAD_REQUESTS", 100_000)
    result = run(
        asked,
        _env_int("PROVE_LOAD_CONCURRENCY", 20),
        os.environ.get("PROVE_LOAD_STACK") or default_stack(),
    )
    return ok(result) and result["requests"] >= asked, result


def stage_leaks(out: Path) -> tuple[bool, dict[str, Any]]:
    from proof.leaks import run

    args = os.environ.get("PROVE_LEAK_SUITE", "tests").split()
    result = run(out / "leaks", args)
    ok = (
        result["hits"] == 0
        and result["suite_exit_code"] == 0
        and result["demo_exit_code"] == 0
        and result["files_scanned"] > 0
    )
    return ok, result


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
        "load_average_at_start": _load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_seconds() -> float:
    """CPU (user + system) of this process and of every child it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_stage(name: str, out: Path) -> int:
    """Run one stage in this process; write ``out/stages/<name>.json``."""
    t0, cpu0 = time.monotonic(), _cpu_seconds()
    ok, result = STAGES[name](out)
    record = {
        "ok": ok,
        "seconds": round(time.monotonic() - t0, 1),
        # Threads and waited-for processes included (the load stage's server, the
        # Schemathesis CLI, pytest, libFuzzer).
        "cpu_seconds": round(_cpu_seconds() - cpu0, 1),
        "result": result,
    }
    (out / "stages" / f"{name}.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return 0 if ok else 1


def _spawn(name: str, out: Path) -> subprocess.Popen[bytes]:
    log = (out / "logs" / f"{name}.txt").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "proof.prove", "--stage", name, "--out", str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(_pythonpath())},
        )
    finally:
        log.close()


def _pythonpath() -> list[str]:
    tests = str(ROOT / "tests")
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [tests, *(p for p in rest if p != tests)]


def run_plan(names: list[str], out: Path, jobs: int) -> dict[str, Any]:
    """Run ``names`` in ``PLAN`` order, ``jobs`` processes at a time."""
    pending = [name for name in PLAN if name in names]
    stages: dict[str, Any] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                name = pending.pop(0)
                print(f"==> {name} (at {time.monotonic() - started:.0f} s)", flush=True)
            t0 = time.monotonic()
            proc = _spawn(name, out)
            code = proc.wait()
            seconds = round(time.monotonic() - t0, 1)
            path = out / "stages" / f"{name}.json"
            if path.is_file():
                record = json.loads(path.read_text(encoding="utf-8"))
            else:
                log = (out / "logs" / f"{name}.txt").read_text(errors="replace")
                record = {
                    "ok": False,
                    "seconds": seconds,
                    "cpu_seconds": None,
                    "result": {"exit_code": code, "log_tail": log[-2000:]},
                }
            record["started_at"] = round(t0 - started, 1)
            with lock:
                stages[name] = record
                verdict = "ok" if record["ok"] and code == 0 else "FAILED"
                print(
                    f"    {name}: {verdict} in {seconds} s"
                    f" ({record.get('cpu_seconds')} CPU s)",
                    flush=True,
                )

    threads = [threading.Thread(target=worker) for _ in range(max(1, jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {name: stages[name] for name in PLAN if name in stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stages", nargs="*", help="stages: " + " ".join(STAGES))
    parser.add_argument("--out", type=Path, default=ROOT / "proof-report")
    parser.add_argument(
        "--jobs",
        type=int,
        default=_env_int("PROVE_JOBS", 2),
        help="stages run at once, each in its own process (PROVE_JOBS, default 2)",
    )
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.stage:
        return run_stage(args.stage, out)
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error("unknown stage: " + ", ".join(sorted(unknown)))
    for sub in ("stages", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    names = args.stages or list(PLAN)
    for name in names:
        (out / "stages" / f"{name}.json").unlink(missing_ok=True)
    report: dict[str, Any] = {"machine": machine(), "jobs": args.jobs}
    started = time.monotonic()
    report["stages"] = run_plan(names, out, args.jobs)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    report["stage_seconds_sum"] = round(
        sum(stage["seconds"] for stage in report["stages"].values()), 1
    )
    report["cpu_seconds_sum"] = round(
        sum(stage.get("cpu_seconds") or 0 for stage in report["stages"].values()), 1
    )
    report["machine"]["load_average_at_end"] = _load_average()
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    failed = [name for name, stage in report["stages"].items() if not stage["ok"]]
    print(f"report: {out / 'report.md'} ({report['total_seconds']} s)")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Proof report", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in report["machine"].items()]
    lines += [
        "",
        f"Total: {report.get('total_seconds')} s wall with {report.get('jobs')} jobs"
        f" (stages {report.get('stage_seconds_sum')} s wall and"
        f" {report.get('cpu_seconds_sum')} CPU s in all)",
        "",
        "| stage | result | started at | wall | CPU |",
        "|---|---|---|---|---|",
    ]
    for name, stage in report["stages"].items():
        lines.append(
            f"| {name} | {'ok' if stage['ok'] else 'FAILED'}"
            f" | {stage.get('started_at')} s | {stage['seconds']} s"
            f" | {stage.get('cpu_seconds')} s |"
        )
    lines.append("")
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
