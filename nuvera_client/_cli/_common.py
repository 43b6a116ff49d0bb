"""Owns what every CLI command shares: settings, bodies, output, errors, exit codes."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._config import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PASSPHRASE,
    base_url_for,
    check_base_url,
)
from nuvera_client._signer import RequestSigner
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    NuveraError,
)

from . import _profile

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]
T = TypeVar("T")


class UsageError(NuveraError):
    """The command line cannot be acted on (exit code 2)."""


class CheckFailed(NuveraError):
    """A check or a server refusal already explained on stderr (exit code 1)."""


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
        except CheckFailed as exc:
            if str(exc):
                fail(str(exc))
            return EXIT_FAILED
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


# -- settings: flags, then environment, then profile --------------------------


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose credentials and server."""
    group = parser.add_argument_group(
        "credentials (flags, then NUVERA_* variables, then the profile file)"
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="profile in $XDG_CONFIG_HOME/nuvera/config.toml (default: "
        "$NUVERA_PROFILE or 'default')",
    )
    group.add_argument(
        "--api-key-file",
        metavar="FILE",
        help=f"read the API key from FILE (else ${ENV_API_KEY})",
    )
    group.add_argument(
        "--private-key",
        metavar="FILE",
        help=f"private key PEM/DER file (else ${ENV_PRIVATE_KEY} or "
        f"${ENV_PRIVATE_KEY_FILE})",
    )
    group.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help=f"read the key's passphrase from variable VAR (else "
        f"${ENV_PRIVATE_KEY_PASSPHRASE})",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (else ${ENV_BASE_URL}; default from the key's environment)",
    )


@dataclass
class Settings:
    """Resolved, not yet validated, settings with where each one came from."""

    profile_name: str
    profile: dict[str, str]
    api_key_text: str | None = None
    api_key_source: str = ""
    private_key: bytes | None = field(default=None, repr=False)
    private_key_source: str = ""
    private_key_path: Path | None = None
    passphrase: str | None = field(default=None, repr=False)
    passphrase_source: str = ""
    base_url_text: str | None = None
    base_url_source: str = ""
    problems: dict[str, str] = field(default_factory=dict)
    """Setting -> why it could not be read; raised when the setting is used."""

    def api_key(self) -> ApiKey:
        """Return the parsed API key.

        Raises:
            ConfigurationError: none configured, or it is malformed.
        """
        if "api_key" in self.problems:
            raise ConfigurationError(self.problems["api_key"])
        if self.api_key_text is None:
            raise ConfigurationError(
                f"no API key: set {ENV_API_KEY}, pass --api-key-file FILE, or store "
                "it in a profile (`nuvera config set --store-api-key`)"
            )
        try:
            return ApiKey.parse(self.api_key_text)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{exc} (API key from {self.api_key_source})"
            ) from None

    def signer(self, ttl: int = 30) -> RequestSigner:
        """Return a signer for the configured private key.

        Raises:
            ConfigurationError: none configured, or it cannot sign RS256.
        """
        for name in ("private_key", "passphrase"):
            if name in self.problems:
                raise ConfigurationError(self.problems[name])
        if self.private_key is None:
            raise ConfigurationError(
                f"no private key: pass --private-key FILE, set {ENV_PRIVATE_KEY_FILE} "
                f"or {ENV_PRIVATE_KEY}, or run `nuvera keys generate --profile NAME`"
            )
        try:
            return RequestSigner(self.private_key, passphrase=self.passphrase, ttl=ttl)
        except ConfigurationError as exc:
            raise type(exc)(
                f"{exc} (private key from {self.private_key_source})"
            ) from None

    def base_url(self, key: ApiKey | None) -> httpx.URL:
        """Return the checked base URL (loopback-only plain HTTP, key environment)."""
        text = self.base_url_text or base_url_for(key.env if key else "test")
        return check_base_url(text, key.env if key else None)

    def auth(self, ttl: int = 30) -> NuveraAuth:
        """Return :class:`NuveraAuth` for these credentials."""
        return NuveraAuth(self.api_key(), signer=self.signer(ttl))


def resolve_settings(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> Settings:
    """Collect the settings: flags, then ``NUVERA_*`` variables, then the profile.

    Raises:
        ConfigurationError: a named file or variable cannot be read.
    """
    source = os.environ if env is None else env
    name, profile = _profile.load_profile(getattr(args, "profile", None), source)
    settings = Settings(profile_name=name, profile=profile)
    where = f"profile {name!r}"

    key_file = getattr(args, "api_key_file", None)
    if key_file:
        settings.api_key_text = _lazy(
            settings, "api_key", lambda: _read_text(Path(key_file), "--api-key-file")
        )
        settings.api_key_source = f"--api-key-file {key_file}"
    elif source.get(ENV_API_KEY):
        settings.api_key_text = source[ENV_API_KEY]
        settings.api_key_source = ENV_API_KEY
    elif profile.get("api_key"):
        settings.api_key_text = profile["api_key"]
        settings.api_key_source = where

    key_path = getattr(args, "private_key", None)
    if key_path:
        settings.private_key_path = Path(key_path).expanduser()
        settings.private_key_source = f"--private-key {key_path}"
    elif source.get(ENV_PRIVATE_KEY):
        settings.private_key = source[ENV_PRIVATE_KEY].encode("utf-8")
        settings.private_key_source = ENV_PRIVATE_KEY
    elif source.get(ENV_PRIVATE_KEY_FILE):
        settings.private_key_path = Path(source[ENV_PRIVATE_KEY_FILE]).expanduser()
        settings.private_key_source = (
            f"{ENV_PRIVATE_KEY_FILE}={settings.private_key_path}"
        )
    elif profile.get("private_key_file"):
        settings.private_key_path = Path(profile["private_key_file"]).expanduser()
        settings.private_key_source = f"{where} ({settings.private_key_path})"
    if settings.private_key_path is not None:
        path, what = settings.private_key_path, settings.private_key_source
        settings.private_key = _lazy(
            settings, "private_key", lambda: _read_bytes(path, what)
        )

    variable = getattr(args, "passphrase_env", None)
    if variable:
        settings.passphrase = _lazy(
            settings,
            "passphrase",
            lambda: _env_value(source, variable, "--passphrase-env"),
        )
        settings.passphrase_source = f"--passphrase-env {variable}"
    elif source.get(ENV_PRIVATE_KEY_PASSPHRASE):
        settings.passphrase = source[ENV_PRIVATE_KEY_PASSPHRASE]
        settings.passphrase_source = ENV_PRIVATE_KEY_PASSPHRASE
    elif profile.get("passphrase_env"):
        settings.passphrase = _lazy(
            settings,
            "passphrase",
            lambda: _env_value(source, profile["passphrase_env"], where),
        )
        settings.passphrase_source = f"{where} (${profile['passphrase_env']})"

    base_url = getattr(args, "base_url", None)
    if base_url:
        settings.base_url_text, settings.base_url_source = base_url, "--base-url"
    elif source.get(ENV_BASE_URL):
        settings.base_url_text, settings.base_url_source = (
            source[ENV_BASE_URL],
            ENV_BASE_URL,
        )
    elif profile.get("base_url"):
        settings.base_url_text, settings.base_url_source = profile["base_url"], where
    else:
        settings.base_url_source = "the API key's environment"
    return settings


def _lazy(settings: Settings, name: str, read: Callable[[], T]) -> T | None:
    # A setting that cannot be read fails the command that uses it, not every
    # command: `nuvera doctor` reports it as one failed check among the others.
    try:
        return read()
    except ConfigurationError as exc:
        settings.problems[name] = str(exc)
        return None


def _read_text(path: Path, what: str) -> str:
    return _read_bytes(path, what).decode("utf-8", "replace").strip()


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.expanduser().read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {path} ({what}): {exc.strerror}"
        ) from None


def _env_value(source: Mapping[str, str], variable: str, what: str) -> str:
    value = source.get(variable)
    if not value:
        raise ConfigurationError(
            f"the passphrase variable {variable} ({what}) is not set or empty"
        )
    return value


def http_client(settings: Settings, *, timeout: float = 30.0) -> httpx.Client:
    """Return an ``httpx.Client`` signing with ``settings`` against its base URL."""
    auth = settings.auth()
    return httpx.Client(
        base_url=settings.base_url(auth.api_key), auth=auth, timeout=timeout
    )


# -- request bodies ---------------------------------------------------------------


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
        lines.append(
            f"server time is {details['server_time']}: check this machine's clock "
            "(`nuvera doctor` measures the offset)"
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
