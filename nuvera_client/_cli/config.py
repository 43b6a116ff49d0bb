"""Owns ``nuvera config set / show``: the profile file the other commands read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nuvera_client import _profile
from nuvera_client._api_key import ApiKey
from nuvera_client._config import check_base_url
from nuvera_client._environment import ENV_API_KEY, read_environment, read_key_file

from ._common import (
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    print_json,
)


def register(subparsers: Any) -> None:
    """Add ``config set`` and ``config show``."""
    parser = subparsers.add_parser(
        "config",
        help="save settings in a profile of ~/.config/nuvera/config.toml",
        description="Profiles hold paths, the base URL and the API key's prefix; "
        "the API key itself only with --store-api-key (the file is then kept 0600). "
        "Flags and NUVERA_* variables override the profile.",
    )
    sub = parser.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    setter = sub.add_parser("set", help="create or update a profile")
    setter.add_argument("--profile", metavar="NAME", default=None)
    setter.add_argument("--base-url", metavar="URL")
    setter.add_argument("--private-key-file", metavar="FILE")
    setter.add_argument("--public-key-file", metavar="FILE")
    setter.add_argument(
        "--passphrase-env", metavar="VAR", help="name of the passphrase variable"
    )
    setter.add_argument(
        "--api-key-file",
        metavar="FILE",
        help=f"record this key's prefix (default: ${ENV_API_KEY}, if set)",
    )
    setter.add_argument(
        "--store-api-key",
        action="store_true",
        help="store the whole API key too (the file is written with mode 0600)",
    )
    setter.set_defaults(func=run_set)
    show = sub.add_parser("show", help="print a profile (the API key redacted)")
    show.add_argument("--profile", metavar="NAME", default=None)
    add_format_option(show, json_flag=True)
    show.set_defaults(func=run_show)


@command
def run_set(args: argparse.Namespace) -> int:
    """Run ``nuvera config set``."""
    found = read_environment()
    name = _profile.check_name(
        args.profile or found.profile or _profile.DEFAULT_PROFILE
    )
    updates: dict[str, str] = {}
    if args.base_url:
        updates["base_url"] = str(check_base_url(args.base_url, None))
    for option, key in (
        ("private_key_file", "private_key_file"),
        ("public_key_file", "public_key_file"),
    ):
        value = getattr(args, option)
        if value:
            updates[key] = str(Path(value).expanduser().resolve())
    if args.passphrase_env:
        updates["passphrase_env"] = args.passphrase_env
    text = None
    if args.api_key_file:
        path = Path(args.api_key_file).expanduser()
        text = read_key_file(path, "the API key file (--api-key-file)").decode(
            "utf-8", "replace"
        )
    elif found.api_key is not None:
        text = found.api_key
    if text is not None:
        parsed = ApiKey.parse(text)
        updates["api_key_prefix"] = parsed.prefix
        if args.store_api_key:
            updates["api_key"] = parsed.reveal()
    elif args.store_api_key:
        raise UsageError(f"--store-api-key needs --api-key-file FILE or ${ENV_API_KEY}")
    if not updates:
        raise UsageError("nothing to set: give at least one option (see --help)")
    path = _profile.save_profile(name, updates)
    stored = ", ".join(sorted(updates))
    print(f"profile {name!r} in {path} (mode 0600): set {stored}")
    return EXIT_OK


@command
def run_show(args: argparse.Namespace) -> int:
    """Run ``nuvera config show``."""
    name, profile = _profile.load_profile(args.profile)
    shown = dict(profile)
    if "api_key" in shown:
        try:
            shown["api_key"] = ApiKey.parse(shown["api_key"]).redacted
        except ValueError:
            shown["api_key"] = "<invalid>"
    if args.format == "json":
        print_json({"profile": name, "path": str(_profile.config_path()), **shown})
        return EXIT_OK
    print(f"[{name}]  ({_profile.config_path()})")
    for key, value in sorted(shown.items()):
        print(f"{key} = {value}")
    return EXIT_OK
