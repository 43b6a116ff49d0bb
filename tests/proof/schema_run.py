"""Run Schemathesis against a loopback sandbox, every request signed by the SDK.

    python -m proof.schema_run --max-examples 20 --report out.json

All operations of ``docs/openapi.yaml``, the examples, coverage, fuzzing and
stateful phases, every check, positive and negative data. The result is the
CLI's exit status and its JSON summary (operations, cases, failures by check).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proof.servers import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "openapi.yaml"
PHASES = "examples,coverage,fuzzing,stateful"


def run(
    *,
    max_examples: int,
    workers: int = 1,
    seed: int | None = None,
    report_dir: Path,
    extra: list[str] | None = None,
) -> dict[str, object]:
    """Run the CLI once; return a summary (exit code, seconds, output tail)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    with running_sandbox(report_dir / "sandbox.sqlite3") as env:
        creds = report_dir / "credentials.json"
        creds.write_text(
            json.dumps(
                {"api_key": env.app.api_key, "private_key_pem": env.private_key_pem}
            ),
            encoding="utf-8",
        )
        creds.chmod(0o600)
        cmd = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(SCHEMA),
            "--url",
            env.base_url,
            "--phases",
            PHASES,
            "--checks",
            "all",
            "--mode",
            "all",
            "--max-examples",
            str(max_examples),
            "--workers",
            str(workers),
            "--no-color",
            "--output-sanitize",
            "true",
            "--generation-database",
            "none",
            "--report",
            "junit,ndjson",
            "--report-dir",
            str(report_dir),
            "--warnings",
            "off",
            *(["--seed", str(seed)] if seed is not None else []),
            *(extra or []),
        ]
        environ = dict(os.environ)
        environ["SCHEMATHESIS_HOOKS"] = "proof.st_hooks"
        environ["NUVERA_PROOF_CREDENTIALS"] = str(creds)
        environ["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "tests"), environ.get("PYTHONPATH", "")]
        )
        started = time.monotonic()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=environ, check=False, cwd=ROOT
        )
        elapsed = time.monotonic() - started
        creds.unlink()

    output = proc.stdout + proc.stderr
    (report_dir / "schemathesis.txt").write_text(output, encoding="utf-8")
    return {
        "exit_code": proc.returncode,
        "seconds": round(elapsed, 1),
        "summary": _summary(output),
        "output": output,
    }


def _summary(output: str) -> list[str]:
    """The CLI's closing lines (operations, test cases, failures)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if "SUMMARY" in line:
            return [item for item in lines[index:] if item.strip()]
    return lines[-25:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    report_dir = args.report_dir or Path(tempfile.mkdtemp(prefix="nuvera-st-"))
    result = run(
        max_examples=args.max_examples,
        workers=args.workers,
        seed=args.seed,
        report_dir=report_dir,
    )
    return int(result["exit_code"])  # type: ignore[call-overload]


if __name__ == "__main__":
    sys.exit(main())
