"""Owns what every CLI command shares: exit codes, errors, output, explanations."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable

import httpx

from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    NuveraError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


class UsageError(NuveraError):
    """The command line cannot be acted on (exit code 2)."""


def fail(message: str) -> None:
    """Print ``nuvera: message`` on stderr."""
    print(f"nuvera: {message}", file=sys.stderr)


def command(func: Handler) -> Handler:
    """Wrap a command: expected errors become one stderr line and an exit code."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (UsageError, ConfigurationError) as exc:
            fail(f"error: {exc}")
            return EXIT_USAGE
        except APIError as exc:
            for line in explain(exc):
                fail(line)
            return EXIT_FAILED
        except APIConnectionError as exc:
            fail(f"cannot reach the server: {exc}")
            return EXIT_FAILED
        except httpx.HTTPError as exc:
            fail(f"cannot reach the server ({type(exc).__name__}): {exc}")
            return EXIT_FAILED
        except NuveraError as exc:
            fail(f"error: {exc}")
            return EXIT_FAILED
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            fail(f"error:{where}: {exc.strerror or exc}")
            return EXIT_USAGE

    return run


# -- output ---------------------------------------------------------------------


def add_format_option(parser: argparse.ArgumentParser, *, json_flag: bool) -> None:
    """Add ``--format text|json`` (and ``--json`` where no body option takes it)."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (json is stable, for scripts)",
    )
    if json_flag:
        parser.add_argument(
            "--json",
            dest="format",
            action="store_const",
            const="json",
            help="same as --format json",
        )


def print_json(value: object) -> None:
    """Print ``value`` as indented JSON on stdout."""
    print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def mask_token(token: str) -> str:
    """Show a JWT's (public) header segment only; the rest grants access."""
    head = token.split(".", 1)[0]
    return f"{head[:12]}…<redacted, {len(token)} chars; --show-token prints it>"


# -- explaining refusals ------------------------------------------------------------


def explain(error: APIError, *, signed_length: int | None = None) -> list[str]:
    """Return plain-words lines for a server refusal (never a secret)."""
    details = error.details
    rid = f" [{error.request_id}]" if error.request_id else ""
    head = f"refused{rid}: {error.status_code} {error.code}: {error.message}"
    lines = [head]
    code = error.code
    if code == "body_hash_mismatch":
        over = f" over {signed_length} bytes" if signed_length is not None else ""
        lines.append(
            f"body_hash mismatch: you signed {details.get('received')}{over}, the "
            f"server received {details.get('body_length')} bytes hashing to "
            f"{details.get('expected')}"
        )
        lines.append(
            "fix: hash exactly the bytes you send (no re-encoding, no added newline, "
            "after any Content-Encoding); for multipart, hash the encoded body"
        )
    elif code in ("uri_mismatch", "method_mismatch"):
        what = "uri" if code == "uri_mismatch" else "method"
        lines.append(
            f"{what} mismatch: you signed {details.get('received')!r}, the server "
            f"received {details.get('expected')!r}"
        )
        if what == "uri":
            lines.append(
                "fix: sign the request target exactly as sent (path and query, same "
                "percent-encoding, no trailing '?', no host)"
            )
    elif code in ("token_expired", "token_not_yet_valid") and "server_time" in details:
        try:
            offset = float(details["server_time"]) - time.time()
        except (TypeError, ValueError):
            offset = None
        if offset is not None:
            way = "behind" if offset > 0 else "ahead of"
            lines.append(
                f"this machine's clock is about {abs(offset):.0f}s {way} the server's "
                "(leeway 10s): synchronise it (NTP); `nuvera doctor` measures it"
            )
    elif code == "permission_denied":
        needed = details.get("required_permission", "a permission")
        lines.append(
            f"the application lacks {needed}: grant it in Settings > Platform > API "
            "Applications (a *_WRITE also needs its *_READ)"
        )
    else:
        # The error's own text carries the server's message and what to do next.
        return [f"refused: {error}"]
    return lines
