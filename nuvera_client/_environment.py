r"""Owns the ``NUVERA_*`` variables: their one reader, the PEM and key-file rules.

Every part of the SDK that takes settings from the environment (the clients, the
credential providers, the CLI) reads them through ``read_environment()``, and every
key or API key file through ``read_key_file()``, so that one rule holds everywhere:

- a variable set to an empty or blank value counts as unset;
- ``NUVERA_PRIVATE_KEY`` holds PEM text; a one-line value with literal ``\n``
  sequences (as CI settings store it) is turned back into lines;
- a key file (private key, API key, profile key file) must be accessible by its owner
  only: one that its group or others can read is refused with ``chmod 600``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nuvera_client._secret_holder import FrozenSecretHolder
from nuvera_client.errors import CredentialSourceError, InsecureCredentialsFileError

__all__ = [
    "ENV_API_KEY",
    "ENV_API_KEY_FILE",
    "ENV_BASE_URL",
    "ENV_PRIVATE_KEY",
    "ENV_PRIVATE_KEY_FILE",
    "ENV_PRIVATE_KEY_PASSPHRASE",
    "ENV_PROFILE",
    "EnvironmentSettings",
    "pem_text",
    "read_environment",
    "read_key_file",
]

ENV_API_KEY = "NUVERA_API_KEY"
ENV_API_KEY_FILE = "NUVERA_API_KEY_FILE"
"""Names a file holding the API key (used with ``NUVERA_PRIVATE_KEY_FILE``)."""
ENV_PRIVATE_KEY = "NUVERA_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "NUVERA_PRIVATE_KEY_FILE"
ENV_PRIVATE_KEY_PASSPHRASE = "NUVERA_PRIVATE_KEY_PASSPHRASE"  # noqa: S105
ENV_BASE_URL = "NUVERA_BASE_URL"
ENV_PROFILE = "NUVERA_PROFILE"


@dataclass(frozen=True)
class EnvironmentSettings(FrozenSecretHolder):
    """What the ``NUVERA_*`` variables say; ``None`` where a variable is unset."""

    api_key: str | None
    api_key_file: Path | None
    private_key: str | None
    """PEM text, with escaped ``\\n`` already turned back into lines."""
    private_key_file: Path | None
    passphrase: str | None
    base_url: str | None
    profile: str | None

    def __repr__(self) -> str:
        shown = [
            name
            for name, value in (
                (ENV_API_KEY, self.api_key),
                (ENV_API_KEY_FILE, self.api_key_file),
                (ENV_PRIVATE_KEY, self.private_key),
                (ENV_PRIVATE_KEY_FILE, self.private_key_file),
                (ENV_PRIVATE_KEY_PASSPHRASE, self.passphrase),
                (ENV_BASE_URL, self.base_url),
                (ENV_PROFILE, self.profile),
            )
            if value is not None
        ]
        return f"EnvironmentSettings(set={shown!r})"


def pem_text(text: str) -> str:
    r"""Return PEM text from a variable, turning literal ``\n`` back into lines.

    A PEM pasted into a one-line variable often carries literal ``\n`` sequences;
    base64 never contains a backslash, so turning them back is safe.
    """
    if "\n" not in text.strip() and "\\n" in text:
        return text.replace("\\n", "\n")
    return text


def _value(source: Mapping[str, str], name: str) -> str | None:
    value = source.get(name)
    return value if value is not None and value.strip() else None


def _path(source: Mapping[str, str], name: str) -> Path | None:
    value = _value(source, name)
    return None if value is None else Path(value.strip()).expanduser()


def read_variable(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Return one ``NUVERA_*`` variable, or None when unset or blank.

    For the variables of optional features (HSM, telemetry); the credentials are
    read together by ``read_environment()``.
    """
    return _value(os.environ if env is None else env, name)


def read_prefixed(prefix: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return every set, non-blank variable whose name starts with ``prefix``."""
    source = os.environ if env is None else env
    return {
        name: value
        for name, value in source.items()
        if name.startswith(prefix) and value.strip()
    }


def read_environment(env: Mapping[str, str] | None = None) -> EnvironmentSettings:
    """Read every ``NUVERA_*`` setting of ``env`` (default ``os.environ``).

    Reads no file: the paths are returned for ``read_key_file()``.
    """
    source = os.environ if env is None else env
    api_key = _value(source, ENV_API_KEY)
    private_key = _value(source, ENV_PRIVATE_KEY)
    base_url = _value(source, ENV_BASE_URL)
    profile = _value(source, ENV_PROFILE)
    return EnvironmentSettings(
        api_key=None if api_key is None else api_key.strip(),
        api_key_file=_path(source, ENV_API_KEY_FILE),
        private_key=None if private_key is None else pem_text(private_key),
        private_key_file=_path(source, ENV_PRIVATE_KEY_FILE),
        passphrase=_value(source, ENV_PRIVATE_KEY_PASSPHRASE),
        base_url=None if base_url is None else base_url.strip(),
        profile=None if profile is None else profile.strip(),
    )


def read_key_file(
    path: Path, what: str, *, allow_insecure: bool | None = None
) -> bytes:
    """Read a credentials file, refusing it when group or others can access it.

    Args:
        path: the file.
        what: how messages name it (``"the private key file (NUVERA_...)"``).
        allow_insecure: accept a file that group or others can read. ``False``
            (a provider's ``allow_insecure_permissions``) names that option in the
            refusal; ``None``, where no such option exists, does not.

    Raises:
        InsecureCredentialsFileError: group or others can access the file.
        CredentialSourceError: the file cannot be read.
    """
    try:
        # Check the mode of what was opened (fstat), not of what a path names.
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not allow_insecure and os.name != "nt" and mode & 0o077:
                override = (
                    ""
                    if allow_insecure is None
                    else ", or pass allow_insecure_permissions=True if this is intended"
                )
                raise InsecureCredentialsFileError(
                    f"{what} {str(path)!r} is accessible by group or others (mode "
                    f"{stat.S_IMODE(mode):04o}): run `chmod 600 {path}`{override}"
                )
            return handle.read()
    except OSError as exc:
        raise CredentialSourceError(
            f"cannot read {what} {str(path)!r}: {exc.strerror}"
        ) from None
