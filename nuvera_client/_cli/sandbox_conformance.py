"""Owns ``nuvera sandbox conformance``: a graded run of the conformance plan.

The server creates an application, writes its credentials to a 0600 JSON file,
serves ``GET /conformance/plan`` and grades every request that carries the
``Nuvera-Conformance-Case`` header. With a command after ``--`` it runs that
command (the porter's client) with ``NUVERA_CONFORMANCE_CREDENTIALS`` set and
grades when it exits; without one it waits for ``POST /conformance/finish``.
Exit 0 only when every case passed, 1 otherwise, 2 on a usage problem.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_TIMEOUT = 300.0


def register(
    sub: Any,
    run: Callable[[Callable[[argparse.Namespace], int]], Callable[..., int]],
) -> None:
    """Add ``sandbox conformance`` to the ``sandbox`` sub-commands."""
    parser = sub.add_parser(
        "conformance",
        help="grade an SDK against the conformance plan",
        description="Serve the conformance plan on a fresh sandbox and grade the "
        "requests an SDK sends for it (docs/spec/conformance.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="default 0 (a free port; see stderr)"
    )
    parser.add_argument(
        "--plan", metavar="FILE", help="a plan file (default: built in)"
    )
    parser.add_argument(
        "--credentials",
        metavar="FILE",
        help="write the run's test credentials here (mode 0600; default: a "
        "temporary file, removed at the end)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"give up waiting after S seconds (default {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: the client to run (it gets NUVERA_CONFORMANCE_CREDENTIALS)",
    )
    parser.set_defaults(func=run(_conformance))


def _conformance(args: argparse.Namespace) -> int:
    from nuvera_client.sandbox import Sandbox
    from nuvera_client.sandbox._conformance import ConformanceRun, serve_conformance
    from nuvera_client.sandbox._server import is_loopback

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not is_loopback(args.host):
        return _usage(f"the conformance sandbox serves loopback only, not {args.host}")
    plan = None
    if args.plan:
        try:
            plan = json.loads(Path(args.plan).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            return _usage(f"cannot read plan {args.plan}: {exc}")
    with ExitStack() as stack:
        scratch = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="nuvera-conformance-")
        )
        path = Path(args.credentials or Path(scratch) / "credentials.json")
        sandbox = stack.enter_context(Sandbox())
        run = ConformanceRun(sandbox, plan)
        try:
            served = stack.enter_context(serve_conformance(run, args.host, args.port))
        except OSError as exc:
            return _usage(f"cannot listen on {args.host}:{args.port}: {exc}")
        _write_private(path, run.credentials(served.base_url))
        print(
            f"Conformance sandbox on {served.base_url}: plan at "
            f"{served.base_url}/conformance/plan, credentials in {path}",
            file=sys.stderr,
        )
        outcome = _drive(run, command, path, served.base_url, args.timeout)
        if outcome:
            print(outcome, file=sys.stderr)
        report = run.report()
    if args.junit:
        Path(args.junit).write_text(report.junit_xml(), "utf-8")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return EXIT_OK if report.ok else EXIT_FAILED


def _drive(
    run: Any, command: list[str], credentials: Path, base_url: str, timeout: float
) -> str:
    """Run the client command, or wait for /conformance/finish; say how it ended."""
    if not command:
        print(
            f"Waiting for your client (POST {base_url}/conformance/finish when done; "
            "Ctrl-C stops).",
            file=sys.stderr,
        )
        try:
            if not run.finished.wait(timeout):
                return f"timed out after {timeout:.0f} s"
        except KeyboardInterrupt:
            return "interrupted"
        return ""
    env = {
        **os.environ,
        "NUVERA_CONFORMANCE_CREDENTIALS": str(credentials),
        "NUVERA_CONFORMANCE_URL": base_url,
    }
    try:
        done = subprocess.run(command, env=env, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError:
        return f"cannot run {command[0]!r}: not found"
    except subprocess.TimeoutExpired:
        return f"the client did not finish within {timeout:.0f} s"
    return f"the client exited with {done.returncode}" if done.returncode else ""


def _write_private(path: Path, value: dict[str, Any]) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
