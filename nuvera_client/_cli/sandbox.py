"""Owns ``nuvera sandbox``: serve a local sandbox and manage its state file.

Exit codes: 0 ok, 1 refused by the platform (role, limit, unknown id), 2 usage or
configuration (bad file, non-loopback host without ``--allow-remote``). Expected
errors print one ``nuvera:`` line on stderr, never a traceback. Only ``app create``,
``keys rotate-api-key`` and ``keys reveal-api-key`` print a secret: the one-time API
key, by design.

``--state FILE`` must name an existing state file, so a typo is refused instead of
starting an empty sandbox; ``app create`` and ``users create`` create a missing file
(and say so on stderr), and ``serve --create`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from nuvera_client.sandbox import Sandbox

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
DEFAULT_PORT = 8787
LOCAL_BASE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
"""Where ``nuvera sandbox serve`` listens by default (PROTOCOL §7, local sandbox)."""


class _UsageError(Exception):
    """A usage or configuration problem (exit 2)."""


def register(subparsers: Any) -> None:
    """Add ``sandbox serve|conformance|app|keys|users|audit``."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Nuvera sandbox and manage its applications",
        description="Run a local Nuvera (verifier, REST API, platform) and manage "
        "the applications in its state file, also while a server runs on it.",
    )
    sub = parser.add_subparsers(
        dest="sandbox_command", metavar="COMMAND", required=True
    )

    serve = sub.add_parser("serve", help="serve the sandbox over HTTP (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8787")
    serve.add_argument(
        "--state",
        metavar="FILE",
        help="SQLite state file, which must exist unless --create (default: memory)",
    )
    serve.add_argument(
        "--create",
        action="store_true",
        help="create the --state file when it does not exist yet",
    )
    serve.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="log one line per request on stderr (method, path without query "
        "values, status, error code, request id)",
    )
    serve.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="S",
        help="shift the server clock by S seconds (test clock skew)",
    )
    serve.add_argument("--rate-limit", metavar="N/s", help="per-application limit")
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=25 * 2**20,
        metavar="N",
        help="larger bodies get 413 (default 25 MiB)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the sandbox is for local use)",
    )
    serve.set_defaults(func=_run(_serve))

    from nuvera_client._cli import sandbox_conformance

    sandbox_conformance.register(sub, _run)

    app = sub.add_parser("app", help="create and manage applications")
    app_sub = app.add_subparsers(dest="app_command", metavar="COMMAND", required=True)
    create = app_sub.add_parser("create", help="create an application")
    _common(create)
    create.add_argument("--name", required=True)
    create.add_argument(
        "--permissions",
        "--set",
        dest="permissions",
        required=True,
        metavar="A,B",
        help="comma-separated, e.g. CUSTOMERS_READ,PAYMENTS_READ",
    )
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--public-key", metavar="PEMFILE", help="public key to upload")
    source.add_argument(
        "--generate-key",
        action="store_true",
        help="generate the pair here (needs --private-key-out)",
    )
    create.add_argument(
        "--private-key-out",
        metavar="FILE",
        help="with --generate-key: write the private key here (mode 0600)",
    )
    create.set_defaults(func=_run(_app_create))
    for name, helptext, handler in (
        ("list", "list the applications you may see", _app_list),
        ("show", "show one application (no secrets)", _app_show),
        ("disable", "disable an application", _app_disable),
        ("enable", "enable an application", _app_enable),
    ):
        cmd = app_sub.add_parser(name, help=helptext)
        _common(cmd)
        if name != "list":
            cmd.add_argument("application_id", metavar="APP_ID")
        cmd.set_defaults(func=_run(handler))
    perms = app_sub.add_parser("permissions", help="replace the permission set")
    _common(perms)
    perms.add_argument("application_id", metavar="APP_ID")
    perms.add_argument(
        "--permissions",
        "--set",
        dest="permissions",
        required=True,
        metavar="A,B",
        help="the whole new set, comma-separated (--set is the same option)",
    )
    perms.set_defaults(func=_run(_app_permissions))

    keys = sub.add_parser("keys", help="rotate API keys and signing keys")
    keys_sub = keys.add_subparsers(
        dest="keys_command", metavar="COMMAND", required=True
    )
    rotate = keys_sub.add_parser("rotate-api-key", help="issue a new API key")
    _common(rotate)
    rotate.add_argument("application_id", metavar="APP_ID")
    rotate.add_argument(
        "--grace-period",
        type=int,
        default=86400,
        metavar="S",
        help="seconds the old key keeps working (default 86400)",
    )
    rotate.set_defaults(func=_run(_rotate))
    reveal = keys_sub.add_parser(
        "reveal-api-key", help="reveal, once, a key an admin's rotation left unrevealed"
    )
    _common(reveal)
    reveal.add_argument("application_id", metavar="APP_ID")
    reveal.add_argument("prefix", metavar="PREFIX", help="the key's first 13 chars")
    reveal.set_defaults(func=_run(_reveal))
    revoke = keys_sub.add_parser("revoke-api-key", help="revoke an API key by prefix")
    _common(revoke)
    revoke.add_argument("application_id", metavar="APP_ID")
    revoke.add_argument("prefix", metavar="PREFIX", help="the key's first 13 chars")
    revoke.set_defaults(func=_run(_revoke))
    add = keys_sub.add_parser("add-signing-key", help="upload another public key")
    _common(add)
    add.add_argument("application_id", metavar="APP_ID")
    add.add_argument("--public-key", required=True, metavar="PEMFILE")
    add.set_defaults(func=_run(_add_key))
    remove = keys_sub.add_parser("remove-signing-key", help="remove a signing key")
    _common(remove)
    remove.add_argument("application_id", metavar="APP_ID")
    remove.add_argument("kid", metavar="KID")
    # A kid may start with "-" (1 in 64): the top parser moves it behind "--".
    remove.set_defaults(func=_run(_remove_key))

    users = sub.add_parser("users", help="manage platform users")
    users_sub = users.add_subparsers(
        dest="users_command", metavar="COMMAND", required=True
    )
    user_create = users_sub.add_parser("create", help="create a user")
    _common(user_create, actor=False)
    user_create.add_argument("--email", required=True)
    user_create.add_argument(
        "--role",
        required=True,
        choices=("partner", "nuvera_admin", "customer_platform"),
    )
    user_create.add_argument("--organisation", metavar="ORG", help="org id or name")
    user_create.set_defaults(func=_run(_user_create))

    audit = sub.add_parser("audit", help="show the audit log")
    _common(audit)
    audit.add_argument("--application", metavar="APP_ID")
    audit.set_defaults(func=_run(_audit))

    # --- console (issue 12): `console` and `logs` live in their own module.
    from nuvera_client._cli import sandbox_console

    sandbox_console.register(sub, _run, _UsageError)


def _common(parser: argparse.ArgumentParser, *, actor: bool = True) -> None:
    parser.add_argument("--state", required=True, metavar="FILE", help="state file")
    if actor:
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="USER",
            help="act as this user (email or id; default: the default partner)",
        )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _run(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            from nuvera_client.sandbox import SandboxError
        except ModuleNotFoundError as exc:
            print(
                f"nuvera: error: the sandbox needs the 'sandbox' extra ({exc.name} is"
                " missing): pip install 'nuvera-client[sandbox]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            return handler(args)
        except _UsageError as exc:
            print(f"nuvera: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except SandboxError as exc:
            print(f"nuvera: refused ({exc.code}): {exc.message}", file=sys.stderr)
            return EXIT_REFUSED

    return run


@contextmanager
def _open(args: argparse.Namespace, *, create: bool = False) -> Iterator[Sandbox]:
    from nuvera_client.sandbox import Sandbox

    path = Path(args.state)
    _check_state(path, create=create)
    try:
        sandbox = Sandbox(state=path)
    except Exception as exc:  # sqlite3.DatabaseError and friends: not our file
        raise _UsageError(f"cannot open state file {path}: {exc}") from None
    try:
        yield sandbox
    finally:
        sandbox.close()


def _check_state(path: Path, *, create: bool) -> None:
    if path.exists() and not path.is_file():
        raise _UsageError(f"{path} is not a file")
    if path.is_file():
        return
    if not create:
        raise _UsageError(
            f"no state file at {path} (a typo?); create one with 'nuvera sandbox app "
            "create --state FILE ...' or 'nuvera sandbox serve --create --state FILE'"
        )
    if not path.parent.is_dir():
        raise _UsageError(f"cannot create {path}: no directory {path.parent}")
    print(f"nuvera: creating a new state file {path}", file=sys.stderr)


def _export_line(base_url: str) -> str:
    return f"export NUVERA_BASE_URL={base_url}"


def _permissions(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _read_pem(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"cannot read public key {path}: {exc}") from None


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=None if isinstance(value, dict) else 2))


# -- serve -----------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from nuvera_client.sandbox import Sandbox
    from nuvera_client.sandbox._ratelimit import parse_rate
    from nuvera_client.sandbox._server import (
        base_url_of,
        bind_socket,
        is_loopback,
        uvicorn_config,
    )

    if not is_loopback(args.host) and not args.allow_remote:
        raise _UsageError(
            f"refusing to serve on non-loopback host {args.host!r}; the sandbox is for "
            "local use (pass --allow-remote to override)"
        )
    if not 0 <= args.port <= 65535:
        raise _UsageError("--port must be 0-65535")
    try:
        parse_rate(args.rate_limit)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    if args.state:
        _check_state(Path(args.state), create=args.create)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise _UsageError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
    import uvicorn

    try:
        sandbox = Sandbox(
            state=args.state,
            clock_offset=args.clock_offset,
            rate_limit=args.rate_limit,
            max_body_bytes=args.max_body_bytes,
        )
    except Exception as exc:
        sock.close()
        raise _UsageError(f"cannot open state file {args.state}: {exc}") from None
    where = args.state or "memory"
    base_url = base_url_of(sock)
    print(
        f"Nuvera sandbox on {base_url} (state: {where}); Ctrl-C stops it.",
        file=sys.stderr,
    )
    # On stdout, alone: a test key defaults to the hosted sandbox, not this one.
    print(f"{_export_line(base_url)}  # point the SDK and the CLI here", flush=True)
    if not is_loopback(args.host):
        print(
            "nuvera: warning: serving beyond loopback (--allow-remote)",
            file=sys.stderr,
        )
    from nuvera_client._cli.sandbox_console import server_note

    app: Any = sandbox.app
    if args.verbose:
        from ._request_log import RequestLog

        app = RequestLog(app, lambda line: print(line, file=sys.stderr, flush=True))
    restore = _close_on_sigterm()
    try:
        # A note beside the state file lets `nuvera sandbox console` find us.
        with server_note(args.state, base_url):
            uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])
    finally:
        sock.close()
        # Writes the batched usage counts and the request log's queue.
        sandbox.close()
        restore()
    return EXIT_OK


def _close_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM end ``serve`` through its ``finally`` (the store is closed).

    uvicorn stops on SIGTERM, then raises the signal again with the handler it
    found: the default one would end the process before the sandbox is closed,
    losing the usage counts and request log still batched in memory. Returns what
    puts the previous handler back.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (a test calling main()): leave it
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


# -- applications --------------------------------------------------------------


def _app_create(args: argparse.Namespace) -> int:
    pem = None
    out = None
    if args.generate_key:
        if not args.private_key_out:
            raise _UsageError("--generate-key needs --private-key-out FILE")
        out = Path(args.private_key_out)
    else:
        if args.private_key_out:
            raise _UsageError("--private-key-out only goes with --generate-key")
        pem = _read_pem(args.public_key)
    # The key file is opened before the application exists: a path that cannot be
    # written fails here, leaving no application behind and no key lost.
    handle = None if out is None else _open_private_key_file(out)
    try:
        with _open(args, create=True) as sandbox:
            created = sandbox.create_application(
                name=args.name,
                permissions=_permissions(args.permissions),
                public_key_pem=pem,
                actor=args.actor,
            )
            if handle is not None and created.private_key_pem is not None:
                try:
                    handle.write(created.private_key_pem)
                    handle.flush()
                    os.fsync(handle.fileno())
                except OSError as exc:
                    # Unusable without its key: disable it rather than leave it live.
                    sandbox.disable_application(created.id, actor=args.actor)
                    raise _UsageError(
                        f"could not write the private key to {out} ({exc}); "
                        f"application {created.id} was created and disabled"
                    ) from None
    except BaseException:
        if handle is not None and out is not None:
            handle.close()
            out.unlink(missing_ok=True)
        raise
    if handle is not None:
        handle.close()
    if args.json:
        _print_json(
            {
                "application_id": created.id,
                "api_key": created.api_key,
                "kid": created.kid,
                "base_url": LOCAL_BASE_URL,
            }
        )
    else:
        print(f"Created application {created.id} ({created.name})")
        print(f"API key (shown once, store it now): {created.api_key}")
        print(f"kid: {created.kid}")
        if out is not None:
            print(f"Private key written to {out} (mode 0600)")
        print()
        print("To call it through the local sandbox (a test key otherwise goes to")
        print("the hosted sandbox):")
        print(f"  nuvera sandbox serve --state {args.state}")
        print(f"  {_export_line(LOCAL_BASE_URL)}")
    return EXIT_OK


def _open_private_key_file(out: Path) -> TextIO:
    """Create ``out`` for a private key (0600, never overwriting) or refuse."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _UsageError(f"{out} exists; not overwriting a private key") from None
    except OSError as exc:
        raise _UsageError(
            f"cannot create {out} for the private key ({exc.strerror}); "
            "no application was created"
        ) from None
    return os.fdopen(fd, "w", encoding="ascii")


def _show(view: Any) -> None:
    data = view.to_dict()
    print(
        f"{data['id']}  {data['name']}  [{data['status']}]"
        f"  org {data['organisation_id']}"
    )
    print(f"  permissions: {', '.join(data['permissions']) or '-'}")
    for key in data["api_keys"]:
        print(
            f"  api key {key['prefix']}…{key['last_four']}  {key['status']}"
            f"  expires {key['expires_at'] or '-'}  used {key['request_count']}x"
            f"  last {key['last_used_at'] or '-'}"
        )
    for key in data["signing_keys"]:
        print(f"  signing key {key['kid']}  {key['status']}")


def _app_list(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        views = sandbox.list_applications(actor=args.actor)
    if args.json:
        _print_json([view.to_dict() for view in views])
    else:
        for view in views:
            _show(view)
        if not views:
            print("no applications")
    return EXIT_OK


def _app_show(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        view = sandbox.get_application(args.application_id, actor=args.actor)
    if args.json:
        _print_json(view.to_dict())
    else:
        _show(view)
    return EXIT_OK


def _app_disable(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        sandbox.disable_application(args.application_id, actor=args.actor)
    _done(args, {"application_id": args.application_id, "status": "disabled"})
    return EXIT_OK


def _app_enable(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        sandbox.enable_application(args.application_id, actor=args.actor)
    _done(args, {"application_id": args.application_id, "status": "active"})
    return EXIT_OK


def _app_permissions(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        perms = sandbox.set_permissions(
            args.application_id, _permissions(args.permissions), actor=args.actor
        )
    _done(args, {"application_id": args.application_id, "permissions": list(perms)})
    return EXIT_OK


def _done(args: argparse.Namespace, result: dict[str, object]) -> None:
    if args.json:
        _print_json(result)
    else:
        print(", ".join(f"{k}: {v}" for k, v in result.items()))


# -- keys ------------------------------------------------------------------------


def _rotate(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        rotated = sandbox.rotate_api_key(
            args.application_id, grace_period=args.grace_period, actor=args.actor
        )
    if args.json:
        _print_json(
            {
                "application_id": args.application_id,
                "api_key": rotated.api_key,
                "prefix": rotated.prefix,
                "previous_prefixes": list(rotated.previous_prefixes),
                "previous_expires_at": rotated.previous_expires_at,
            }
        )
    elif rotated.api_key is None:
        print(
            f"New API key {rotated.prefix}…{rotated.last_four} created unrevealed: a "
            "partner user of the owning organisation reveals it once with "
            f"'nuvera sandbox keys reveal-api-key {args.application_id} "
            f"{rotated.prefix}'"
        )
    else:
        print(f"New API key (shown once, store it now): {rotated.api_key}")
    if not args.json:
        for prefix in rotated.previous_prefixes:
            print(
                f"Old key {prefix}… keeps working until {rotated.previous_expires_at}"
            )
    return EXIT_OK


def _reveal(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        key = sandbox.reveal_api_key(args.application_id, args.prefix, actor=args.actor)
    if args.json:
        _print_json({"application_id": args.application_id, "api_key": key})
    else:
        print(f"API key (shown once, store it now): {key}")
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        sandbox.revoke_api_key(args.application_id, args.prefix, actor=args.actor)
    _done(args, {"application_id": args.application_id, "revoked": args.prefix})
    return EXIT_OK


def _add_key(args: argparse.Namespace) -> int:
    pem = _read_pem(args.public_key)
    with _open(args) as sandbox:
        kid = sandbox.add_signing_key(args.application_id, pem, actor=args.actor)
    _done(args, {"application_id": args.application_id, "kid": kid})
    return EXIT_OK


def _remove_key(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        sandbox.remove_signing_key(args.application_id, args.kid, actor=args.actor)
    _done(args, {"application_id": args.application_id, "removed": args.kid})
    return EXIT_OK


# -- users and audit -------------------------------------------------------------


def _user_create(args: argparse.Namespace) -> int:
    with _open(args, create=True) as sandbox:
        user = sandbox.create_user(args.email, args.role, args.organisation)
    _done(
        args,
        {
            "id": user.id,
            "email": user.email,
            "role": user.role,
            "organisation_id": user.organisation_id,
        },
    )
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    with _open(args) as sandbox:
        entries = sandbox.audit_log(args.application, actor=args.actor)
    if args.json:
        _print_json([entry.to_dict() for entry in entries])
        return EXIT_OK
    for entry in entries:
        data = entry.to_dict()
        print(
            f"{data['at']}  {data['actor']}  {data['action']}"
            f"  {data['application_id'] or '-'}  {json.dumps(data['details'])}"
        )
    return EXIT_OK
