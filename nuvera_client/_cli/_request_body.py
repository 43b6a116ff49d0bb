"""Owns request bodies on the command line: --data, --json, --form, --file."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._common import UsageError


@dataclass(frozen=True)
class Body:
    """The exact bytes a request sends and their ``Content-Type``."""

    content: bytes = field(default=b"", repr=False)
    content_type: str | None = None


def add_body_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--data`` / ``--json`` / ``--form`` / ``--file``."""
    group = parser.add_argument_group("request body (sent and hashed byte for byte)")
    group.add_argument(
        "--data",
        metavar="DATA|@FILE",
        help="raw body: text, or @FILE for a file's exact bytes",
    )
    group.add_argument(
        "--json",
        dest="json_body",
        metavar="JSON|@FILE",
        help="JSON body, sent exactly as written (checked to be valid JSON)",
    )
    group.add_argument(
        "--form",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="multipart text field (repeatable)",
    )
    group.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="FIELD=@PATH",
        help="multipart file part (repeatable)",
    )
    group.add_argument(
        "--content-type",
        metavar="TYPE",
        help="Content-Type for --data (default application/json)",
    )


def _read_argument(value: str) -> bytes:
    if value.startswith("@"):
        return Path(value[1:]).expanduser().read_bytes()
    return value.encode("utf-8")


def build_body(args: argparse.Namespace) -> Body:
    """Build the body from the body options.

    Raises:
        UsageError: options that cannot be combined, or invalid JSON.
    """
    chosen = [
        name
        for name, value in (
            ("--data", args.data),
            ("--json", args.json_body),
            ("--form/--file", args.form or args.file),
        )
        if value
    ]
    if len(chosen) > 1:
        raise UsageError(f"use only one of {', '.join(chosen)}")
    if args.data is not None:
        return Body(_read_argument(args.data), args.content_type or "application/json")
    if args.json_body is not None:
        content = _read_argument(args.json_body)
        try:
            json.loads(content)
        except ValueError as exc:
            raise UsageError(f"--json is not valid JSON: {exc}") from None
        return Body(content, "application/json")
    if args.form or args.file:
        return _multipart(args.form, args.file)
    return Body()


def _split(item: str, option: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise UsageError(f"{option} expects FIELD=VALUE, got {item!r}")
    return name, value


def _multipart(form: Sequence[str], files: Sequence[str]) -> Body:
    data: dict[str, Any] = {}
    for item in form:
        name, value = _split(item, "--form")
        data.setdefault(name, []).append(value)
    parts: list[tuple[str, tuple[str, bytes]]] = []
    for item in files:
        name, value = _split(item, "--file")
        if not value.startswith("@"):
            raise UsageError(f"--file expects FIELD=@PATH, got {item!r}")
        path = Path(value[1:]).expanduser()
        parts.append((name, (path.name, path.read_bytes())))
    # httpx picks the boundary; the exact encoded bytes are what is hashed and sent.
    request = httpx.Request("POST", "http://body.invalid/", data=data, files=parts)
    return Body(request.read(), request.headers["content-type"])
