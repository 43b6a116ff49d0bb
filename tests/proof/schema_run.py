"""Run Schemathesis against a loopback sandbox, every request signed by the SDK.

    python -m proof.schema_run --max-examples 20 --report out.json

All operations of ``docs/openapi.yaml``, the examples, coverage, fuzzing and
stateful phases, every check, positive and negative data. The result is the
CLI's exit status and its JSON summary (operations, cases, failures by check).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from proof.servers import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "openapi.yaml"
PHASES = "examples,coverage,fuzzing,stateful"


def run(
    *,
    max_examples: int,
    max_time: int | None = None,
    phases: str = PHASES,
    workers: int = 1,
    seed: int | None = None,
    report_dir: Path,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """Run the CLI once; return a summary (exit code, seconds, output tail)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    with running_sandbox() as env:
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
            phases,
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
            *(["--max-time", str(max_time)] if max_time is not None else []),
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

    # The CLI's curl lines carry the credentials: never keep them in a report.
    output = _redact(proc.stdout + proc.stderr, env.app.api_key)
    (report_dir / "schemathesis.txt").write_text(output, encoding="utf-8")
    for report in report_dir.iterdir():
        if report.is_file() and report.suffix in (".xml", ".ndjson", ".json"):
            text = report.read_text(encoding="utf-8", errors="replace")
            report.write_text(_redact(text, env.app.api_key), encoding="utf-8")
    ndjson = sorted(report_dir.glob("ndjson-*.ndjson"))
    failures = classify(ndjson[-1]) if ndjson else []
    by_class = Counter(f["class"] for f in failures)
    return {
        "exit_code": proc.returncode,
        "seconds": round(elapsed, 1),
        "summary": _summary(output),
        "failures": len(failures),
        "by_class": dict(sorted(by_class.items())),
        "unclassified": [f for f in failures if f["class"] == UNCLASSIFIED][:20],
        "report_dir": str(report_dir),
    }


def _redact(text: str, api_key: str) -> str:
    text = text.replace(api_key, "[api key]")
    return re.sub(r"Bearer [A-Za-z0-9_.-]+", "Bearer [token]", text)


UNCLASSIFIED = "unclassified"
# Failures no OpenAPI schema can prevent, each with why (docs/proof.md lists them).
KNOWN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("opaque cursor", r"^invalid cursor"),
        ("reference to an object that does not exist", r"^no such "),
        ("uniqueness per application", r"^already exists$"),
        (
            "cross-field rule",
            r"^(must equal crypto_wallet\.asset|network .* does not carry .*|"
            r"not a valid .* address|"
            r"must be an ISO 4217 fiat currency for a bank account|"
            r"must equal the beneficiary's currency.*|belongs to another customer)$",
        ),
        (
            "value rule beyond the schema",
            r"^(must be an IBAN.*|unknown (currency|asset|network) .*|must be greater "
            r"than 0|must be a decimal string.*|.*decimal places.*|customer is \w+|"
            r"beneficiary is \w+|the file is empty|.*check digits.*|"
            r"(asset|network) \S+ is suspended|"
            r"must have at most \d+ (decimals|digits).*)$",
        ),
    )
)


def _rule(message: str) -> str:
    for name, pattern in KNOWN_RULES:
        if pattern.match(message):
            return name
    return UNCLASSIFIED


def classify(ndjson: Path) -> list[dict[str, Any]]:
    """Every failed check of the run, with the class of rule that explains it.

    A failure is explained only when it is "schema-valid request rejected" answered
    422 and every field named in ``details.fields`` breaks a known rule.
    """
    out: list[dict[str, Any]] = []
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line).get("ScenarioFinished")
        recorder = (event or {}).get("recorder") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                interaction = recorder.get("interactions", {}).get(case_id)
                status, fields = _response(interaction)
                kinds = {_rule(str(m)) for m in fields.values()} if fields else set()
                explained = (
                    check["name"] == "positive_data_acceptance"
                    and status == 422
                    and kinds
                    and UNCLASSIFIED not in kinds
                )
                if status == 400 and _body(interaction) == HTTP_LAYER_400:
                    # A generated header broke HTTP framing (``content-length: }|``):
                    # uvicorn answers before the API, on any path.
                    kinds, explained = {"malformed HTTP framing"}, True
                out.append(
                    {
                        "check": check["name"],
                        "code": failure.get("code"),
                        "operation": failure.get("operation"),
                        "status": status,
                        "fields": fields,
                        "class": " + ".join(sorted(kinds))
                        if explained
                        else UNCLASSIFIED,
                    }
                )
    return out


HTTP_LAYER_400 = b"Invalid HTTP request received."


def _body(interaction: dict[str, Any] | None) -> bytes:
    content: Any = ((interaction or {}).get("response") or {}).get("content")
    try:
        return base64.b64decode(content["$base64"])
    except (TypeError, KeyError, ValueError):
        return b""


def _response(interaction: dict[str, Any] | None) -> tuple[int | None, dict[str, Any]]:
    response = (interaction or {}).get("response") or {}
    content: Any = response.get("content")
    try:
        raw = base64.b64decode(content["$base64"])
        fields = json.loads(raw)["error"]["details"].get("fields") or {}
    except (TypeError, KeyError, ValueError):
        fields = {}
    return response.get("status_code"), fields if isinstance(fields, dict) else {}


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
    parser.add_argument("--max-time", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    report_dir = args.report_dir or Path(tempfile.mkdtemp(prefix="nuvera-st-"))
    result = run(
        max_examples=args.max_examples,
        max_time=args.max_time,
        workers=args.workers,
        seed=args.seed,
        report_dir=report_dir,
    )
    print("\n".join(result.pop("summary")))
    print(json.dumps(result, indent=2))
    return 0 if not result["unclassified"] else 1


if __name__ == "__main__":
    sys.exit(main())
