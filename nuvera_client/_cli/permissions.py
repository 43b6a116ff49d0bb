"""Owns ``nuvera permissions for / validate / record``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nuvera_client._client import RECORD_PERMISSIONS_ENV
from nuvera_client._permissions import (
    InvalidPermissionsError,
    Permission,
    validate_permissions,
)

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    fail,
    print_json,
)

ENV_RECORD_FILE = RECORD_PERMISSIONS_ENV
"""The clients append each permission they use to this file, one name per line."""


def register(subparsers: Any) -> None:
    """Add ``permissions for``, ``validate`` and ``record``."""
    parser = subparsers.add_parser(
        "permissions",
        help="which permission an endpoint needs; check or record a set",
        description="Permissions of API applications (PROTOCOL §5).",
    )
    sub = parser.add_subparsers(
        dest="permissions_command", metavar="COMMAND", required=True
    )

    needed = sub.add_parser(
        "for",
        help="the permission METHOD PATH needs",
        description="Print the permission an endpoint needs, e.g. "
        "`nuvera permissions for POST /v1/payments`.",
    )
    needed.add_argument("method", metavar="METHOD")
    needed.add_argument("path", metavar="PATH")
    add_format_option(needed, json_flag=True)
    needed.set_defaults(func=run_for)

    validate = sub.add_parser(
        "validate",
        help="check a set: known names, each *_WRITE with its *_READ",
        description="Check a comma-separated permission set against the "
        "write-needs-read rule; exit 1 when it is invalid.",
    )
    validate.add_argument("permissions", metavar="P1,P2,...")
    add_format_option(validate, json_flag=True)
    validate.set_defaults(func=run_validate)

    record = sub.add_parser(
        "record",
        help="run a program and print the least-privilege set it used",
        description=f"Run COMMAND with {ENV_RECORD_FILE} set (the Nuvera clients "
        "record every permission they use), then print the set that run needed, "
        "completed by the write-needs-read rule, ready to select in settings.",
    )
    record.add_argument("cmd", nargs="+", metavar="-- COMMAND ...")
    add_format_option(record, json_flag=True)
    record.set_defaults(func=run_record)


def ordered(permissions: Iterable[Permission]) -> list[Permission]:
    """Return permissions in the order of the settings screen (area, read, write)."""
    chosen = set(permissions)
    return [p for p in Permission if p in chosen]


def complete(permissions: Iterable[Permission]) -> list[Permission]:
    """Add the ``*_READ`` each ``*_WRITE`` needs."""
    chosen = set(permissions)
    chosen |= {p.read_permission for p in chosen}
    return ordered(chosen)


@command
def run_for(args: argparse.Namespace) -> int:
    """Run ``nuvera permissions for``."""
    try:
        permission = Permission.required_for(args.method, args.path)
    except KeyError:
        raise UsageError(
            f"{args.method.upper()} {args.path} is not an endpoint of the Nuvera API "
            "v1 (see PROTOCOL §5.1 / docs)"
        ) from None
    if args.format == "json":
        print_json(
            {
                "method": args.method.upper(),
                "path": args.path,
                "permission": permission.value,
            }
        )
    else:
        print(permission.value)
    return EXIT_OK


@command
def run_validate(args: argparse.Namespace) -> int:
    """Run ``nuvera permissions validate``."""
    names = [p.strip() for p in args.permissions.split(",") if p.strip()]
    problem = None
    suggestion: list[str] = []
    try:
        valid = ordered(validate_permissions(names))
    except InvalidPermissionsError as exc:
        problem, valid = str(exc), []
        try:
            suggestion = [p.value for p in complete(Permission.parse(n) for n in names)]
        except InvalidPermissionsError:
            suggestion = []
    if args.format == "json":
        print_json(
            {
                "valid": problem is None,
                "permissions": [p.value for p in valid],
                "problem": problem,
                "suggestion": suggestion,
            }
        )
    elif problem is None:
        print(f"valid: {','.join(p.value for p in valid) or '(empty set)'}")
    if problem is not None:
        fail(problem)
        if suggestion:
            fail(f"a valid set: {','.join(suggestion)}")
        return EXIT_FAILED
    return EXIT_OK


@command
def run_record(args: argparse.Namespace) -> int:
    """Run ``nuvera permissions record -- COMMAND ...``."""
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("give the command to run after --")
    with tempfile.TemporaryDirectory(prefix="nuvera-record-") as directory:
        record_file = Path(directory) / "permissions"
        record_file.touch(mode=0o600)
        env = dict(os.environ)
        env[ENV_RECORD_FILE] = str(record_file)
        sys.stdout.flush()
        try:
            # The partner's own command, run as given, without a shell.
            # With --json, stdout is ours: the program's own output goes to stderr.
            stdout = 2 if args.format == "json" else None
            returncode = subprocess.run(  # noqa: S603
                cmd, env=env, stdout=stdout, check=False
            ).returncode
        except FileNotFoundError:
            raise UsageError(f"command not found: {cmd[0]}") from None
        lines = record_file.read_text(encoding="utf-8", errors="replace").splitlines()
    used: set[Permission] = set()
    unknown: set[str] = set()
    for line in lines:
        name = line.strip()
        if not name:
            continue
        try:
            used.add(Permission.parse(name))
        except InvalidPermissionsError:
            unknown.add(name)
    needed = complete(used)
    if args.format == "json":
        print_json(
            {
                "command_exit_code": returncode,
                "used": [p.value for p in ordered(used)],
                "permissions": [p.value for p in needed],
            }
        )
    else:
        print(f"used by this run: {', '.join(p.value for p in ordered(used)) or '-'}")
        print("least-privilege set (write needs read), select these in settings:")
        print(",".join(p.value for p in needed) if needed else "(none)")
    if unknown:
        fail(f"ignored unknown names in the record: {', '.join(sorted(unknown))}")
    if not used:
        fail(
            "no permission was recorded: did the command call Nuvera through "
            "nuvera_client's NuveraClient / AsyncNuveraClient?"
        )
    if returncode != 0:
        fail(f"the command exited with status {returncode}; the set may be incomplete")
        return EXIT_FAILED
    return EXIT_OK
