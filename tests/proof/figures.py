"""Turn ``proof-report/report.json`` into the figures table of docs/proof.md.

python -m proof.figures proof-report/report.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _row(name: str, stage: dict[str, Any]) -> str:
    r = stage["result"]
    if name == "tamper":
        text = (
            f"{r['tried']:,} tampered requests over {r['operations']} operations and "
            f"{len(r['mutation_classes'])} classes: **{r['accepted']} accepted**, "
            f"{r['refused_as_expected']:,} refused with the exact code; "
            f"{r['controls_served']}/28 controls verified"
        )
    elif name == "schema":
        tested = "; ".join(r.get("summary", []))
        text = (
            f"{tested}; {r['failures']} failures, all classified "
            f"({', '.join(f'{k}: {v}' for k, v in r['by_class'].items())}); "
            f"unclassified: {len(r['unclassified'])}"
        )
    elif name == "fuzz":
        text = f"{r['targets']} targets × {r['examples_per_target']:,} examples: {r['result']}"
    elif name == "atheris":
        if "skipped" in r:
            text = r["skipped"]
        else:
            runs = r["targets"]
            text = f"{len(runs)} targets × {r['seconds_per_target']} s: " + ", ".join(
                f"{k} {v['done'] or 'exit ' + str(v['exit_code'])}"
                for k, v in runs.items()
            )
    elif name == "faults":
        text = (
            f"{r['calls']} logical calls ({r['threads']} threads, {r['async_tasks']} tasks), "
            f"{r['attempts']} attempts, faults {r['faults_injected']}: {r['served']} "
            f"served, {r['clear_errors']} clear errors ({r['errors_after_server_acted']} "
            f"after the server acted, {r['recovered_with_same_key']} recovered with the "
            f"same key); duplicate payments **{r['duplicate_payments']}**, reused jti "
            f"**{r['reused_jti']}**; restart in {r['restart_seconds']} s lost "
            f"{r['lost_after_restart']}"
        )
    elif name == "load":
        text = (
            f"{r['requests']:,} requests ({r['concurrency']} concurrent): "
            f"{r['succeeded']:,} succeeded, {r['failed']} failed; {r['distinct_jti']:,} "
            f"distinct jti of {r['attempts']:,} attempts (reused **{r['reused_jti']}**); "
            f"client {r['client_requests_per_second']} req/s "
            f"({r['client_cpu_seconds']} CPU s), server {r['server_requests_per_second']} "
            f"req/s wall, {r['server_requests_per_cpu_second']} req per CPU second"
        )
    elif name == "mutation":
        text = "; ".join(
            f"`{m}`: {v['killed']}/{v['mutants'] - v['equivalent']} killed "
            f"(**{v['score']} %**, {v['equivalent']} equivalent set aside), "
            f"survivors: {', '.join(v['survivors']) or 'none'}"
            for m, v in r["modules"].items()
        ) + (
            f"; {r['wall_seconds']} s wall, {r['cpu_seconds']} CPU s; "
            f"minimum {r['minimum_score']} % per module"
        )
    elif name == "leaks":
        text = (
            f"suite exit {r['suite_exit_code']} ({r['suite_seconds']} s), demo exit "
            f"{r['demo_exit_code']}; {r['files_scanned']} files, "
            f"{r['bytes_scanned']:,} bytes scanned: **{r['hits']} hits**"
        )
    else:
        text = json.dumps(r)[:300]
    status = "ok" if stage["ok"] else "FAILED"
    return f"| {name} | {status} | {stage['seconds']} s | {text} |"


def main() -> None:
    report = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    m = report["machine"]
    print(
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, {m['platform']};"
        f" load average at start {m['load_average_at_start']} (a shared machine)."
    )
    print()
    print("| stage | result | time | figures |")
    print("|---|---|---|---|")
    for name, stage in report["stages"].items():
        print(_row(name, stage))
    if "mutation" in report["stages"]:
        print()
        print(mutation_table(report["stages"]["mutation"]["result"]))


def mutation_table(result: dict[str, Any]) -> str:
    """The per-module table of docs/proof.md's mutation section."""
    lines = [
        "| module | mutants | killed | equivalent set aside | score | survivors "
        "| wall | CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for module, v in result["modules"].items():
        name = module.removeprefix("nuvera_client/")
        survivors = ", ".join(f"`{s.rsplit('.', 1)[-1]}`" for s in v["survivors"])
        lines.append(
            f"| `{name}` | {v['mutants']} | {v['killed']} | {v['equivalent']} "
            f"| **{v['score']} %** | {survivors or 'none'} | {v['seconds']} s "
            f"| {v['cpu_seconds']} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
