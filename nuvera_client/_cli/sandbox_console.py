"""Owns ``nuvera sandbox console`` and ``nuvera sandbox logs``.

``console`` opens the sandbox console in a browser: it reuses a server already
running on the state file (``serve`` and ``console`` leave a note next to the state
file saying where they listen) or starts one in the foreground. ``logs`` prints the
request log of a state file, oldest of the shown rows first, and with ``--follow``
keeps printing new requests until Ctrl-C, like ``stripe logs tail``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nuvera_client.sandbox.console._requestlog import LoggedRequest

EXIT_OK = 0
EXIT_USAGE = 2
FOLLOW_INTERVAL = 1.0


def register(sub: Any, run: Any, usage_error: type[Exception]) -> None:
    """Add ``console`` and ``logs`` to the ``nuvera sandbox`` subcommands."""
    console = sub.add_parser(
        "console",
        help="open the sandbox console in a browser (starts a server if needed)",
    )
    console.add_argument("--state", metavar="FILE", help="SQLite state file")
    console.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    console.add_argument("--port", type=int, default=8787, help="default 8787")
    console.add_argument(
        "--no-browser", action="store_true", help="print the address only"
    )
    console.set_defaults(func=run(lambda args: _console(args, usage_error)))

    logs = sub.add_parser("logs", help="show the requests the sandbox received")
    logs.add_argument("--state", required=True, metavar="FILE", help="state file")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing")
    logs.add_argument("--status", metavar="CODE", help="e.g. 401 or 4xx")
    logs.add_argument("--application", metavar="APP_ID")
    logs.add_argument("--method", metavar="METHOD")
    logs.add_argument("--path", metavar="TEXT", help="path contains TEXT")
    logs.add_argument("--code", metavar="ERROR_CODE", help="e.g. body_hash_mismatch")
    logs.add_argument(
        "--limit", type=int, default=50, metavar="N", help="rows shown (default 50)"
    )
    logs.add_argument("--json", action="store_true", help="one JSON object a line")
    logs.set_defaults(func=run(lambda args: _logs(args, usage_error)))


# -- the note next to a state file ---------------------------------------------------


def note_path(state: str | os.PathLike[str]) -> Path:
    """Return where a server on ``state`` notes its address."""
    path = Path(state).resolve()
    return path.with_name(path.name + ".server.json")


@contextlib.contextmanager
def server_note(state: str | None, base_url: str) -> Iterator[None]:
    """Note ``base_url`` next to the state file while the block runs."""
    if state is None:
        yield
        return
    note = note_path(state)
    with contextlib.suppress(OSError):
        note.write_text(
            json.dumps({"url": base_url, "pid": os.getpid()}), encoding="utf-8"
        )
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if json.loads(note.read_text(encoding="utf-8")).get("pid") == os.getpid():
                note.unlink()


def _running(state: str | None, host: str, port: int) -> str | None:
    """Return the base URL of a server running on ``state`` (None: none is)."""
    import httpx

    from nuvera_client.sandbox._server import is_loopback

    candidates = []
    if state is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            note = json.loads(note_path(state).read_text(encoding="utf-8"))
            candidates.append(str(note["url"]))
    shown = f"[{host}]" if ":" in host else host
    candidates.append(f"http://{shown}:{port}")
    wanted = None if state is None else str(Path(state).resolve())
    for url in candidates:
        if not is_loopback(httpx.URL(url).host):
            continue  # never ask anything beyond loopback
        try:
            answer = httpx.get(url + "/console/health", timeout=1.0)
            data = answer.json()
        except (httpx.HTTPError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and data.get("console")
            and data.get("state") == wanted
        ):
            return url
    return None


# -- console ----------------------------------------------------------------------


def _console(args: argparse.Namespace, usage: type[Exception]) -> int:
    from nuvera_client.sandbox import Sandbox
    from nuvera_client.sandbox._server import (
        base_url_of,
        bind_socket,
        is_loopback,
        uvicorn_config,
    )

    if not is_loopback(args.host):
        raise usage(f"the console serves loopback only, not {args.host!r}")
    running = _running(args.state, args.host, args.port)
    if running is not None:
        url = running + "/console"
        print(f"Sandbox console (running server): {url}")
        if not args.no_browser:
            webbrowser.open(url)
        return EXIT_OK
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise usage(
            f"cannot listen on {args.host}:{args.port}: {exc} (another server? "
            "pass --port)"
        ) from None
    import uvicorn

    try:
        sandbox = Sandbox(state=args.state)
    except Exception as exc:
        sock.close()
        raise usage(f"cannot open state file {args.state}: {exc}") from None
    base_url = base_url_of(sock)
    url = base_url + "/console"
    server = uvicorn.Server(uvicorn_config(sandbox.app))

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            print(f"Sandbox console: {url} (API on {base_url}); Ctrl-C stops it.")
            sys.stdout.flush()
            if not args.no_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, name="nuvera-console-open", daemon=True).start()
    try:
        with server_note(args.state, base_url):
            server.run(sockets=[sock])
    finally:
        sock.close()
        sandbox.close()
    return EXIT_OK


# -- logs -------------------------------------------------------------------------


def _line(row: LoggedRequest) -> str:
    data = row.to_dict()
    refusal = ""
    if row.error_code:
        check = f" (check {row.check})" if row.check else ""
        refusal = f"  {row.error_code}{check}"
    return (
        f"{data['at']}  {row.request_id or '-'}  {row.status}  {row.method} "
        f"{row.target}{refusal}  {row.application_id or '-'}"
    )


def _logs(args: argparse.Namespace, usage: type[Exception]) -> int:
    from nuvera_client.sandbox import Sandbox
    from nuvera_client.sandbox.console._requestlog import parse_status

    if args.status:
        try:
            parse_status(args.status)
        except ValueError as exc:
            raise usage(str(exc)) from None
    if not 1 <= args.limit <= 1000:
        raise usage("--limit must be 1-1000")
    path = Path(args.state)
    if not path.is_file():
        raise usage(f"no state file at {path}")
    try:
        sandbox = Sandbox(state=path)
    except Exception as exc:
        raise usage(f"cannot open state file {path}: {exc}") from None
    filters = {
        "application_id": args.application,
        "method": args.method,
        "path": args.path,
        "status": args.status,
        "error_code": args.code,
    }

    def show(rows: list[LoggedRequest]) -> None:
        for row in reversed(rows):  # oldest first, like a log file
            print(json.dumps(row.to_dict()) if args.json else _line(row))
        sys.stdout.flush()

    try:
        rows = sandbox.request_log.list(limit=args.limit, **filters)
        show(rows)
        last = rows[0].id if rows else 0
        if not rows and not args.follow and not args.json:
            print("no requests logged", file=sys.stderr)
        while args.follow:
            time.sleep(FOLLOW_INTERVAL)
            rows = sandbox.request_log.list(after_id=last, limit=1000, **filters)
            show(rows)
            if rows:
                last = rows[0].id
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.close()
    return EXIT_OK
