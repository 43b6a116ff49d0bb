"""Owns the ``nuvera`` command line: builds the parser from each command module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from nuvera_client._version import __version__

# Each module exposes ``register(subparsers)``; it sets ``func(args) -> int`` on its
# parsers. Optional extras (the sandbox) are imported only when a command runs.
_COMMAND_MODULES = (
    "nuvera_client._cli.keys",
    "nuvera_client._cli.sign",
    "nuvera_client._cli.request",
    "nuvera_client._cli.doctor",
    "nuvera_client._cli.permissions",
    "nuvera_client._cli.rotate",
    "nuvera_client._cli.config",
    "nuvera_client._cli.sandbox",
    "nuvera_client._cli.completion",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``nuvera`` argument parser with every available command."""
    parser = argparse.ArgumentParser(
        prog="nuvera",
        description="Nuvera API tools: keys, request signing, requests, local sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"nuvera {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nuvera`` command; return its exit code (0 ok, 1 refused, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = func(args)
    return result
