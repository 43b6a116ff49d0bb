"""Owns the local credential providers: a function, environment variables, key files."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from nuvera_client import _profile, keys
from nuvera_client._api_key import ApiKey
from nuvera_client._credential_base import (
    CachingCredentialProvider,
    Credentials,
    CredentialsNotConfiguredError,
    CredentialSourceError,
    checked,
)
from nuvera_client._environment import (
    ENV_API_KEY,
    ENV_API_KEY_FILE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    read_environment,
    read_key_file,
)
from nuvera_client._signer import SigningKey
from nuvera_client.errors import (
    ConfigurationError,
    InvalidApiKeyError,
)


class CallableCredentials(CachingCredentialProvider):
    """Cache what a function returns: a provider for any store in a few lines.

    Example (HashiCorp Vault with ``hvac``)::

        def from_vault() -> Credentials:
            data = vault.secrets.kv.v2.read_secret_version(path="nuvera")
            secret = data["data"]["data"]
            return Credentials(secret["api_key"], secret["private_key"])

        client = NuveraClient(credentials=CallableCredentials(from_vault))

    Args:
        function: returns [`Credentials`][nuvera_client.Credentials]; called on first
            use, on ``refresh()`` and when ``refresh_interval`` has passed.
        refresh_interval: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].
        clock: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].
    """

    def __init__(
        self,
        function: Callable[[], Credentials],
        *,
        refresh_interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not callable(function):
            raise TypeError(
                "CallableCredentials needs a function returning Credentials"
            )
        self._function = function
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        """Call the function and validate what it returned."""
        creds = self._function()
        if not isinstance(creds, Credentials):
            raise CredentialSourceError(
                f"{self!r} returned {type(creds).__name__}, not Credentials"
            )
        return checked(repr(self), creds.api_key, creds.private_key, creds.passphrase)

    def __repr__(self) -> str:
        name = getattr(self._function, "__qualname__", type(self._function).__name__)
        return f"CallableCredentials({name})"


def _read_files(
    where: str,
    private_key_file: Path,
    api_key_file: Path,
    passphrase: str | bytes | None,
    allow_insecure: bool,
) -> Credentials:
    private_key = read_key_file(
        private_key_file, "the private key file", allow_insecure=allow_insecure
    )
    raw_api_key = read_key_file(
        api_key_file, "the API key file", allow_insecure=allow_insecure
    )
    try:
        api_key = raw_api_key.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidApiKeyError(
            f"{where}: the API key file {str(api_key_file)!r} is not ASCII text",
            reason="charset",
        ) from None
    return checked(
        where,
        api_key,
        private_key,
        passphrase,
        api_key_name=f"API key file {str(api_key_file)!r}",
        private_key_name=f"private key file {str(private_key_file)!r}",
    )


class EnvironmentCredentials(CachingCredentialProvider):
    r"""Credentials from ``NUVERA_*`` environment variables.

    ``NUVERA_API_KEY``; the private key as PEM text in ``NUVERA_PRIVATE_KEY``
    (literal ``\n`` sequences are accepted) or in the file named by
    ``NUVERA_PRIVATE_KEY_FILE`` (owner-only, like
    [`FileCredentials`][nuvera_client.credentials.FileCredentials]);
    ``NUVERA_PRIVATE_KEY_PASSPHRASE`` for an encrypted key. The variables are read at
    each fetch, so ``refresh()`` picks up a rewritten key file.

    Args:
        env: the variables to read (default ``os.environ``).
        passphrase: used when ``NUVERA_PRIVATE_KEY_PASSPHRASE`` is unset.
        allow_insecure_permissions: accept a key file readable by group/others.
        refresh_interval: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].
        clock: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].

    Raises:
        CredentialsNotConfiguredError: (from ``get``) ``NUVERA_API_KEY`` is unset.
        ConfigurationError: (from ``get``) the API key is set but no private key.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        passphrase: str | bytes | None = None,
        allow_insecure_permissions: bool = False,
        refresh_interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._env = env
        self._passphrase = passphrase
        self._allow_insecure = allow_insecure_permissions
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        """Read the variables (and the key file they name)."""
        found = read_environment(self._env)
        api_key = found.api_key
        if api_key is None:
            raise CredentialsNotConfiguredError(f"{ENV_API_KEY} is not set")
        private_key: bytes | str
        key_name = ENV_PRIVATE_KEY
        if found.private_key is not None:
            private_key = found.private_key
        elif found.private_key_file is not None:
            path = found.private_key_file
            key_name = f"{ENV_PRIVATE_KEY_FILE}={str(path)!r}"
            private_key = read_key_file(
                path,
                f"the private key file ({ENV_PRIVATE_KEY_FILE})",
                allow_insecure=self._allow_insecure,
            )
        else:
            raise ConfigurationError(
                f"{ENV_API_KEY} is set but no private key is: set {ENV_PRIVATE_KEY} "
                f"(PEM text) or {ENV_PRIVATE_KEY_FILE} (a path)"
            )
        passphrase = found.passphrase or self._passphrase
        return checked(
            "environment",
            api_key,
            private_key,
            passphrase,
            api_key_name=ENV_API_KEY,
            private_key_name=key_name,
        )

    def __repr__(self) -> str:
        return "EnvironmentCredentials()"


class FileCredentials(CachingCredentialProvider):
    """Credentials from a private key file and an API key file.

    Both files must be accessible by their owner only (``chmod 600``); others are
    refused unless ``allow_insecure_permissions=True``. The files are read again
    on each fetch, so a rotation that rewrites them is picked up by ``refresh()``.

    Args:
        private_key_file: PEM or DER private key.
        api_key_file: a file holding the API key (surrounding whitespace ignored).
        passphrase: for an encrypted private key.
        allow_insecure_permissions: accept files readable by group/others.
        refresh_interval: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].
        clock: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].
    """

    def __init__(
        self,
        private_key_file: str | os.PathLike[str],
        api_key_file: str | os.PathLike[str],
        *,
        passphrase: str | bytes | None = None,
        allow_insecure_permissions: bool = False,
        refresh_interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.private_key_file = Path(private_key_file).expanduser()
        self.api_key_file = Path(api_key_file).expanduser()
        self._passphrase = passphrase
        self._allow_insecure = allow_insecure_permissions
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        """Read both files."""
        return _read_files(
            repr(self),
            self.private_key_file,
            self.api_key_file,
            self._passphrase,
            self._allow_insecure,
        )

    def __repr__(self) -> str:
        return (
            f"FileCredentials({str(self.private_key_file)!r}, "
            f"{str(self.api_key_file)!r})"
        )


class ProfileCredentials(CachingCredentialProvider):
    """Credentials from a profile of the CLI's file (``nuvera config set``).

    The profile (``$XDG_CONFIG_HOME/nuvera/config.toml``) must store the API key
    (``nuvera config set --store-api-key``; the file is then owner-only) and name the
    private key file (``private_key_file``, owner-only like any key file). Its
    ``passphrase_env`` names the variable holding the key's passphrase, and its
    ``base_url`` is used by a client that was given none.

    Args:
        name: the profile; else ``NUVERA_PROFILE``; else ``default``. A profile named
            here or by ``NUVERA_PROFILE`` must exist.
        env: the variables to read (default ``os.environ``).
        passphrase: used when the profile names no ``passphrase_env``.

    Raises:
        CredentialsNotConfiguredError: (from ``get``) the profile is absent or
            stores no API key.
        ConfigurationError: (from ``get``) the profile file is malformed, too open,
            or the profile stores an API key without a private key file.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        passphrase: str | bytes | None = None,
    ) -> None:
        self._name = name
        self._env = env
        self._passphrase = passphrase
        self.base_url: str | None = None
        super().__init__()

    def fetch(self) -> Credentials:
        """Read the profile and the key file it names."""
        name, profile = _profile.load_profile(self._name, self._env)
        where = f"profile {name!r} ({_profile.config_path(self._env)})"
        api_key = profile.get("api_key")
        if not api_key:
            raise CredentialsNotConfiguredError(f"{where} stores no API key")
        key_file = profile.get("private_key_file")
        if not key_file:
            raise ConfigurationError(
                f"{where} stores an API key but no private_key_file: run "
                f"`nuvera config set --profile {name} --private-key-file PATH`"
            )
        path = Path(key_file).expanduser()
        private_key = read_key_file(path, f"the private key file of {where}")
        passphrase: str | bytes | None = self._passphrase
        variable = profile.get("passphrase_env")
        if variable:
            passphrase = (os.environ if self._env is None else self._env).get(variable)
            if not passphrase:
                raise ConfigurationError(
                    f"{where}: the passphrase variable {variable} is not set or empty"
                )
        self.base_url = profile.get("base_url") or None
        return checked(
            where,
            api_key,
            private_key,
            passphrase,
            api_key_name="api_key",
            private_key_name=f"private key file {str(path)!r}",
        )

    def __repr__(self) -> str:
        return f"ProfileCredentials({self._name!r})" if self._name else "profile"


class _EnvironmentFileCredentials(CachingCredentialProvider):
    """FileCredentials whose paths come from NUVERA_API_KEY_FILE / _PRIVATE_KEY_FILE."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        passphrase: str | bytes | None = None,
    ) -> None:
        self._env = env
        self._passphrase = passphrase
        super().__init__()

    def fetch(self) -> Credentials:
        found = read_environment(self._env)
        api_key_file = found.api_key_file
        if api_key_file is None:
            raise CredentialsNotConfiguredError(f"{ENV_API_KEY_FILE} is not set")
        private_key_file = found.private_key_file
        if private_key_file is None:
            raise ConfigurationError(
                f"{ENV_API_KEY_FILE} is set but {ENV_PRIVATE_KEY_FILE} is not: set "
                "it to the path of the private key"
            )
        passphrase = found.passphrase or self._passphrase
        return _read_files(
            repr(self),
            private_key_file,
            api_key_file,
            passphrase,
            allow_insecure=False,
        )

    def __repr__(self) -> str:
        return f"files named by {ENV_API_KEY_FILE} and {ENV_PRIVATE_KEY_FILE}"


class _ExplicitCredentials(CachingCredentialProvider):
    """The arguments given in code: the first link of the default chain."""

    def __init__(
        self,
        api_key: str | ApiKey | None,
        private_key: keys.PrivateKeySource | SigningKey | None,
        passphrase: str | bytes | None,
    ) -> None:
        self._api_key = api_key
        self._private_key = private_key
        self._passphrase = passphrase
        super().__init__()

    def fetch(self) -> Credentials:
        if self._api_key is None and self._private_key is None:
            raise CredentialsNotConfiguredError("no api_key= or private_key= given")
        if self._api_key is None:
            raise ConfigurationError("private_key= was given without api_key=")
        if self._private_key is None:
            raise ConfigurationError("api_key= was given without private_key=")
        return checked(repr(self), self._api_key, self._private_key, self._passphrase)

    def __repr__(self) -> str:
        return "explicit arguments"
