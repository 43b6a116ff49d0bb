"""Owns the profile file ``$XDG_CONFIG_HOME/nuvera/config.toml``: read and write.

The file holds one table per profile::

    [default]
    base_url = "http://127.0.0.1:8787"
    private_key_file = "/home/me/.nuvera/nuvera_private.pem"
    api_key_prefix = "nvk_test_Q7sU"

It stores paths, prefixes and the *names* of environment variables, never a
private key or a passphrase, and the API key only when the user asks for it
(``--store-api-key``); a file holding an API key must be mode 0600 or it is refused.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from nuvera_client._environment import ENV_PROFILE, read_environment
from nuvera_client.errors import ConfigurationError

__all__ = [
    "DEFAULT_PROFILE",
    "ENV_PROFILE",
    "config_path",
    "dumps",
    "load_profile",
    "loads",
    "save_profile",
]

DEFAULT_PROFILE = "default"
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_SECTION_RE = re.compile(r"\[\s*([A-Za-z0-9_-]+)\s*\]")
_PAIR_RE = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(".*")')
_ESCAPES = {'"': '"', "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

Profiles = dict[str, dict[str, str]]


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Return the profile file: ``$XDG_CONFIG_HOME`` or ``~/.config``, then nuvera/."""
    source = os.environ if env is None else env
    base = source.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "nuvera" / "config.toml"


def check_name(name: str) -> str:
    """Return ``name`` if it can be a profile name (letters, digits, ``_``, ``-``)."""
    if not _NAME_RE.fullmatch(name):
        raise ConfigurationError(
            f"invalid profile name {name!r}: use letters, digits, '_' and '-' only"
        )
    return name


def loads(text: str) -> Profiles:
    """Parse the profile file: TOML tables of string values.

    Uses ``tomllib`` where it exists (Python 3.11+), else a small parser for the
    subset this module writes (``[name]`` tables, ``key = "string"``, comments).

    Raises:
        ConfigurationError: the text is not in that format.
    """
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(
                f"the profile file is not valid TOML: {exc}"
            ) from None
        profiles: Profiles = {}
        for name, table in raw.items():
            if isinstance(table, dict):
                profiles[name] = {k: v for k, v in table.items() if isinstance(v, str)}
        return profiles
    return parse_simple(text)  # pragma: no cover - exercised directly by the tests


def parse_simple(text: str) -> Profiles:
    """Parse the TOML subset ``dumps()`` writes, without ``tomllib``.

    Raises:
        ConfigurationError: a line outside that subset, with its number.
    """
    profiles: Profiles = {}
    current: dict[str, str] | None = None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        section = _SECTION_RE.fullmatch(line)
        if section:
            current = profiles.setdefault(section.group(1), {})
            continue
        pair = _PAIR_RE.fullmatch(_strip_comment(line))
        if pair is None or current is None:
            raise ConfigurationError(
                f"profile file line {number} is not '[name]' or 'key = \"value\"'"
            )
        current[pair.group(1)] = _unquote(pair.group(2), number)
    return profiles


def _strip_comment(line: str) -> str:
    # A '#' after the closing quote starts a comment; inside the string it does not.
    in_string = escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
        elif char == "#" and not in_string:
            return line[:index].rstrip()
    return line


def _unquote(quoted: str, number: int) -> str:
    body = quoted[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == '"':
            raise ConfigurationError(f"profile file line {number}: stray quote")
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = body[index + 1 : index + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            index += 2
        elif code == "u" and re.fullmatch(
            r"[0-9A-Fa-f]{4}", body[index + 2 : index + 6]
        ):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            raise ConfigurationError(f"profile file line {number}: bad escape")
    return "".join(out)


def dumps(profiles: Mapping[str, Mapping[str, str]]) -> str:
    """Write profiles as TOML (JSON string escapes are valid TOML basic strings)."""
    lines = ["# Nuvera CLI profiles; written by `nuvera config set`."]
    for name in sorted(profiles):
        lines.append("")
        lines.append(f"[{check_name(name)}]")
        for key, value in sorted(profiles[name].items()):
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=True)}")
    return "\n".join(lines) + "\n"


def read_profiles(path: Path) -> Profiles:
    """Read every profile of ``path`` (none when the file does not exist).

    Raises:
        ConfigurationError: unreadable, malformed, or it holds an API key while
            others can read it (mode not 0600).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the profile file {path}: {exc.strerror}"
        ) from None
    profiles = loads(text)
    if any("api_key" in p for p in profiles.values()) and os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} stores an API key but its mode is {mode:04o}: run "
                f"`chmod 600 {path}` (or remove the api_key line)"
            )
    return profiles


def load_profile(
    name: str | None, env: Mapping[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """Return the selected profile's name and settings (``{}`` if it is absent).

    ``name`` is ``--profile``; else ``NUVERA_PROFILE``; else ``default``. A profile
    named explicitly must exist.
    """
    explicit = name or read_environment(env).profile
    chosen = check_name(explicit or DEFAULT_PROFILE)
    path = config_path(env)
    profiles = read_profiles(path)
    if explicit and chosen not in profiles:
        raise ConfigurationError(
            f"no profile {chosen!r} in {path}: create it with "
            f"`nuvera config set --profile {chosen} ...`"
        )
    return chosen, profiles.get(chosen, {})


def save_profile(
    name: str, settings: Mapping[str, str], env: Mapping[str, str] | None = None
) -> Path:
    """Merge ``settings`` into profile ``name`` and write the file with mode 0600.

    An empty value removes that setting. The file is replaced atomically.
    """
    path = config_path(env)
    profiles = read_profiles(path)
    profile = profiles.setdefault(check_name(name), {})
    for key, value in settings.items():
        if value:
            profile[key] = value
        else:
            profile.pop(key, None)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dumps(profiles))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
