"""Owns CLI settings: flags, then ``NUVERA_*`` variables, then the profile file.

The order is the credential chain's (``credentials.default_chain``), with the flags
as its explicit link; the variables come from the one reader
(``_environment.read_environment``) and every key file is read by
``read_key_file``, so the CLI, the providers and a client built without arguments
apply the same rules.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from nuvera_client import _profile
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._config import base_url_for, check_base_url
from nuvera_client._environment import (
    ENV_API_KEY,
    ENV_API_KEY_FILE,
    ENV_BASE_URL,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PASSPHRASE,
    read_environment,
    read_key_file,
    read_prefixed,
)
from nuvera_client._secret_holder import SecretHolder
from nuvera_client._signer import RequestSigner
from nuvera_client.errors import ConfigurationError, NuveraError

T = TypeVar("T")


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
class Settings(SecretHolder):
    """Resolved, not yet validated, settings with where each one came from."""

    profile_name: str
    profile: dict[str, str] = field(repr=False)
    api_key_text: str | None = field(default=None, repr=False)
    api_key_source: str = ""
    private_key: bytes | None = field(default=None, repr=False)
    private_key_source: str = ""
    private_key_path: Path | None = None
    passphrase: str | None = field(default=None, repr=False)
    passphrase_source: str = ""
    base_url_text: str | None = None
    base_url_source: str = ""
    pkcs11: dict[str, str] | None = field(default=None, repr=False)
    """The ``NUVERA_PKCS11_*`` variables, when the key is in an HSM (and no file)."""
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
        if self.private_key is None and self.pkcs11 is not None:
            from nuvera_client.hsm import Pkcs11SigningKey

            return RequestSigner(Pkcs11SigningKey.from_env(self.pkcs11), ttl=ttl)
        if self.private_key is None:
            raise ConfigurationError(
                f"no private key: pass --private-key FILE, set {ENV_PRIVATE_KEY_FILE} "
                f"or {ENV_PRIVATE_KEY} (or NUVERA_PKCS11_LIBRARY for a key in an "
                "HSM), or run `nuvera keys generate --profile NAME`"
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
        """Return [`NuveraAuth`][nuvera_client.NuveraAuth] for these credentials."""
        return NuveraAuth(self.api_key(), signer=self.signer(ttl))


def resolve_settings(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> Settings:
    """Collect the settings: flags, then ``NUVERA_*`` variables, then the profile.

    A file or variable that cannot be read is recorded in ``problems`` and raised
    by the accessor that needs it (``Settings.api_key()``, ``Settings.signer()``).

    Raises:
        ConfigurationError: the profile file is unreadable, malformed, too open,
            or names a profile that does not exist.
    """
    source = os.environ if env is None else env
    found = read_environment(source)
    name, profile = _profile.load_profile(getattr(args, "profile", None), source)
    settings = Settings(profile_name=name, profile=profile)
    where = f"profile {name!r}"

    key_file = getattr(args, "api_key_file", None)
    if key_file:
        settings.api_key_text = _lazy(
            settings,
            "api_key",
            lambda: _read_text(Path(key_file), "the API key file (--api-key-file)"),
        )
        settings.api_key_source = f"--api-key-file {key_file}"
    elif found.api_key is not None:
        settings.api_key_text = found.api_key
        settings.api_key_source = ENV_API_KEY
    elif found.api_key_file is not None:
        api_key_file = found.api_key_file
        settings.api_key_text = _lazy(
            settings,
            "api_key",
            lambda: _read_text(api_key_file, f"the API key file ({ENV_API_KEY_FILE})"),
        )
        settings.api_key_source = f"{ENV_API_KEY_FILE}={api_key_file}"
    elif profile.get("api_key"):
        settings.api_key_text = profile["api_key"]
        settings.api_key_source = where

    key_path = getattr(args, "private_key", None)
    label = "the private key file"
    if key_path:
        settings.private_key_path = Path(key_path).expanduser()
        settings.private_key_source = f"--private-key {key_path}"
        label = "the private key file (--private-key)"
    elif found.private_key is not None:
        settings.private_key = found.private_key.encode("utf-8")
        settings.private_key_source = ENV_PRIVATE_KEY
    elif found.private_key_file is not None:
        settings.private_key_path = found.private_key_file
        settings.private_key_source = (
            f"{ENV_PRIVATE_KEY_FILE}={settings.private_key_path}"
        )
        label = f"the private key file ({ENV_PRIVATE_KEY_FILE})"
    elif profile.get("private_key_file"):
        settings.private_key_path = Path(profile["private_key_file"]).expanduser()
        settings.private_key_source = f"{where} ({settings.private_key_path})"
        label = f"the private key file of {where}"
    elif "NUVERA_PKCS11_LIBRARY" in (hsm := read_prefixed("NUVERA_PKCS11_", source)):
        # A key in an HSM: Settings.signer() opens the token when it is needed.
        settings.pkcs11 = hsm
        short = {name.removeprefix("NUVERA_PKCS11_"): v for name, v in hsm.items()}
        token = short.get("TOKEN_LABEL") or f"slot {short.get('SLOT')}"
        key = short.get("KEY_LABEL") or short.get("KEY_ID")
        settings.private_key_source = f"PKCS#11 token ({token}, key {key})"
    if settings.private_key_path is not None:
        path = settings.private_key_path
        settings.private_key = _lazy(
            settings, "private_key", lambda: _read_bytes(path, label)
        )

    variable = getattr(args, "passphrase_env", None)
    if variable:
        settings.passphrase = _lazy(
            settings,
            "passphrase",
            lambda: _env_value(source, variable, "--passphrase-env"),
        )
        settings.passphrase_source = f"--passphrase-env {variable}"
    elif found.passphrase is not None:
        settings.passphrase = found.passphrase
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
    elif found.base_url is not None:
        settings.base_url_text, settings.base_url_source = found.base_url, ENV_BASE_URL
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
    except NuveraError as exc:
        settings.problems[name] = str(exc)
        return None


def _read_text(path: Path, what: str) -> str:
    return _read_bytes(path, what).decode("utf-8", "replace").strip()


def _read_bytes(path: Path, what: str) -> bytes:
    # Owner-only, like every key file (`chmod 600`): the one rule of _environment.
    return read_key_file(path.expanduser(), what)


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
