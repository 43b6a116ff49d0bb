"""Owns the ``nuvera`` command line: builds the parser from each command module."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any

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


class _RecordingGroup:
    """A group of a RecordingParser: its add_argument records on the parser."""

    def __init__(self, group: Any, recorded: list[argparse.Action]) -> None:
        self._group = group
        self._recorded = recorded

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action: argparse.Action = self._group.add_argument(*args, **kwargs)
        self._recorded.append(action)
        return action

    def __getattr__(self, name: str) -> Any:
        return getattr(self._group, name)


class RecordingParser(argparse.ArgumentParser):
    """An ArgumentParser that keeps its actions in public ``recorded_actions``.

    argparse lists a parser's actions only in a private attribute; shell completion
    walks this list instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.recorded_actions: list[argparse.Action] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.recorded_actions.append(action)
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return _RecordingGroup(
            super().add_argument_group(*args, **kwargs), self.recorded_actions
        )

    def add_mutually_exclusive_group(self, *args: Any, **kwargs: Any) -> Any:
        return _RecordingGroup(
            super().add_mutually_exclusive_group(*args, **kwargs),
            self.recorded_actions,
        )

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", RecordingParser)
        action = super().add_subparsers(**kwargs)
        self.recorded_actions.append(action)
        return action


_DASH_KID = re.compile(r"-[A-Za-z0-9_-]{42}")
"""A kid (43 base64url characters) that starts with "-", as 1 kid in 64 does."""


class _Parser(RecordingParser):
    """Lets a kid that starts with "-" stand as the positional it is.

    argparse would read it as an option; moved behind ``--`` (public argparse
    behaviour) it is a positional again. Only ``remove-signing-key`` takes a kid
    as a positional.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        if "remove-signing-key" in words and "--" not in words:
            kids = [w for w in words if _DASH_KID.fullmatch(w)]
            if kids:
                words = [w for w in words if w not in kids] + ["--", *kids]
        return super().parse_known_args(words, namespace)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``nuvera`` argument parser with every available command."""
    parser = _Parser(
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
