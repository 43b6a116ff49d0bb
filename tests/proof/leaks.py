"""Leak scan: no secret in any log, exception text, CLI output, state file or report.

Secrets are found two ways: literally (every API key, passphrase, PIN and token a
harness made and knows) and by shape (a whole API key, a PEM private key, a whole
RS256 JWS, a JWK private exponent), so a secret made inside the demo or a test is
found too. ``scripts/prove`` runs the whole suite and the demo with DEBUG logging
into files and scans them with their reports and state files.

    python -m proof.leaks --out DIR [--suite-args ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHAPES: dict[str, re.Pattern[str]] = {
    "api key": re.compile(r"nvk_(?:live|test)_[0-9A-Za-z]{38}"),
    # A header alone is a test input (garbage keys); a key has a body after it.
    "PEM private key": re.compile(
        r"-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----"
        r"(?:\\n|\s)+[A-Za-z0-9+/=\s\\n]{200,}"
    ),
    "RS256 JWS": re.compile(r"eyJ[\w-]{20,}\.eyJ[\w-]{20,}\.[\w-]{300,}"),
    "JWK private exponent": re.compile(r'"d"\s*:\s*"[\w-]{300,}"'),
}


SCANNED_SUFFIXES = (".sqlite3", ".db", ".log", ".json", ".txt", ".xml")
SITE = "site"
INPUTS = "inputs"
JUNIT_TEST_IDS = "junit test ids"
VECTORS_COPY = "vectors copy"
KEY_FILE_INPUT = "key file input"
# Files a test writes as the input of the code under test, by name: exempt (below).
INPUT_FILES = {
    # tests/conformance_kit/test_reference_signers.py: the published conformance
    # vectors with one token changed, fed to the Node and Java reference signers.
    "tampered.json": VECTORS_COPY,
    # tests/cli/test_sign.py: the file `nuvera sign --api-key-file` reads.
    "api key.txt": KEY_FILE_INPUT,
}
# Everything the run leaves is scanned but these, each for a stated reason; the
# report counts what each one left out.
EXEMPTIONS = {
    # The suite's own fixtures write keys on purpose (key files for the CLI tests,
    # PEM and JWK inputs, the conformance pack): inputs, not output of the code
    # under test. Logs, outputs, reports and state databases are scanned.
    INPUTS: "test inputs under basetemp (key files, PEM/JWK inputs): not "
    f"{'/'.join(SCANNED_SUFFIXES)}",
    # The docs tests build the site into basetemp: it publishes the conformance
    # vectors (docs/spec/vectors.json) with their test keys, public by design.
    SITE: "the documentation site the docs tests build (publishes the "
    "conformance vectors' test keys by design)",
    # Test ids (``name=`` in the JUnit report) are the tests' own parametrisation
    # labels, some made of generated keys: not output of the code under test.
    JUNIT_TEST_IDS: "test ids in the JUnit report (parametrisation labels)",
    VECTORS_COPY: "tampered.json: a copy of the published conformance vectors (test "
    "keys public by design) the reference-signer tests feed to Node and Java",
    KEY_FILE_INPUT: "api key.txt: the API key file a CLI test passes to "
    "--api-key-file (an input)",
}


def _exemption(relative: Path) -> str | None:
    """The EXEMPTIONS key a file under basetemp falls under, or None (scanned)."""
    if any(re.fullmatch(r"site\d*", part) for part in relative.parts):
        return SITE
    if relative.name in INPUT_FILES:
        return INPUT_FILES[relative.name]
    if relative.suffix not in SCANNED_SUFFIXES:
        return INPUTS
    return None


@dataclass(frozen=True)
class Hit:
    source: str
    kind: str
    excerpt: str


def scan_text(source: str, text: str, literals: Iterable[str] = ()) -> list[Hit]:
    """Return every secret found in ``text`` (excerpts are themselves redacted)."""
    hits = [
        Hit(source, kind, text[max(0, m.start() - 30) : m.start()] + "[secret]")
        for kind, pattern in SHAPES.items()
        for m in pattern.finditer(text)
    ]
    for secret in literals:
        if len(secret) >= 8 and secret in text:
            at = text.index(secret)
            hits.append(
                Hit(source, "known secret", text[max(0, at - 30) : at] + "[secret]")
            )
    return hits


def scan_paths(
    paths: Iterable[Path], literals: Iterable[str] = ()
) -> tuple[int, list[Hit]]:
    """Scan files (state files as bytes decoded loosely); return (files, hits)."""
    literals = list(literals)
    count = 0
    hits: list[Hit] = []
    for path in paths:
        if not path.is_file():
            continue
        count += 1
        text = path.read_bytes().decode("utf-8", "replace")
        hits += scan_text(str(path), text, literals)
    return count, hits


def _run(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False
        )
    return proc.returncode, time.monotonic() - started


DEMO = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, filename=sys.argv[1],"
    " format='%(asctime)s %(name)s %(levelname)s %(message)s')\n"
    "from nuvera_client._demo import main\n"
    "main()\n"
)


def run(out: Path, suite_args: list[str]) -> dict[str, Any]:
    """Run the suite and the demo with DEBUG logs into ``out``, then scan ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    # Keep every temporary file the suite makes (sandbox state files, keys) to scan.
    basetemp = out / "pytest-tmp"
    suite_cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
        "-p",
        "proof.leak_plugin",
        "--log-level=DEBUG",
        f"--log-file={out / 'suite-debug.log'}",
        "--log-file-level=DEBUG",
        f"--junitxml={out / 'suite-junit.xml'}",
        "-o",
        "junit_logging=all",
        *suite_args,
    ]
    suite_rc, suite_seconds = _run(suite_cmd, out / "suite-output.txt", env)
    demo_rc, demo_seconds = _run(
        [sys.executable, "-c", DEMO, str(out / "demo-debug.log")],
        out / "demo-output.txt",
        env,
    )
    paths = [p for p in out.iterdir() if p.is_file()]
    kept = [p for p in basetemp.rglob("*") if p.is_file()]
    scanned = [p for p in kept if _exemption(p.relative_to(basetemp)) is None]
    paths += scanned
    exempt_counts = Counter(
        reason
        for p in kept
        if (reason := _exemption(p.relative_to(basetemp))) is not None
    )
    junit = out / "suite-junit.xml"
    if junit.is_file():
        text = junit.read_text(encoding="utf-8", errors="replace")
        text, ids = re.subn(r' name="[^"]*"', ' name="[id]"', text)
        junit.write_text(text, encoding="utf-8")
        exempt_counts[JUNIT_TEST_IDS] = ids
    files, hits = scan_paths(paths)
    return {
        "suite_exit_code": suite_rc,
        "suite_seconds": round(suite_seconds, 1),
        "demo_exit_code": demo_rc,
        "demo_seconds": round(demo_seconds, 1),
        "files_scanned": files,
        "bytes_scanned": sum(p.stat().st_size for p in paths if p.is_file()),
        "hits": len(hits),
        # What is not scanned, and why (EXEMPTIONS): files or test ids per reason.
        "exempt": {EXEMPTIONS[k]: n for k, n in sorted(exempt_counts.items())},
        "hit_list": [h.__dict__ for h in hits[:20]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("suite_args", nargs="*", default=["tests"])
    args = parser.parse_args(argv)
    result = run(args.out, args.suite_args or ["tests"])
    print(json.dumps(result, indent=2))
    return 0 if result["hits"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
