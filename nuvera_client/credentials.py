"""Credentials and the provider interface clients use to fetch and refresh them.

A provider is asked for :class:`Credentials` once when a client starts, and its
``refresh()`` is called when the server signals a rotation (``api_key_revoked``,
``unknown_signing_key``, or ``invalid_api_key`` on a key that used to work).

Providers shipped here: :class:`EnvironmentCredentials` (``NUVERA_*`` variables),
:class:`FileCredentials` (a key file and an API key file, owner-only),
:class:`AwsSecretsManagerCredentials` (the ``aws`` extra), :class:`CallableCredentials`
(wrap any function: Vault, GCP Secret Manager, ...), and :class:`ChainCredentials`
(first configured provider wins; :func:`default_chain` is the usual one).

Every shipped provider caches what it fetched: the source is asked once, then only
when ``refresh_interval`` has passed or ``refresh()`` is called, and concurrent
callers (threads and asyncio tasks) share a single fetch. Private keys are parsed
once per distinct key.
"""

from __future__ import annotations

import abc
import functools
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._config import (
    ENV_API_KEY,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PASSPHRASE,
)
from nuvera_client._credential_cache import KEY_CACHE, SingleFlight
from nuvera_client._signer import DEFAULT_TTL, RequestSigner, SigningKey
from nuvera_client.errors import (
    ConfigurationError,
    InvalidApiKeyError,
    InvalidPrivateKeyError,
    NuveraError,
)

__all__ = [
    "ENV_API_KEY_FILE",
    "AwsSecretsManagerCredentials",
    "CachingCredentialProvider",
    "CallableCredentials",
    "ChainCredentials",
    "CredentialProvider",
    "CredentialSourceError",
    "Credentials",
    "CredentialsNotConfiguredError",
    "EnvironmentCredentials",
    "FileCredentials",
    "InsecureCredentialsFileError",
    "default_chain",
]

ENV_API_KEY_FILE = "NUVERA_API_KEY_FILE"
"""Names a file holding the API key (used with ``NUVERA_PRIVATE_KEY_FILE``)."""


class CredentialsNotConfiguredError(ConfigurationError):
    """A provider has nothing configured (its variables, files or arguments are unset).

    :class:`ChainCredentials` skips a provider that raises this and tries the next;
    any other error stops the chain, since a half-configured source is a mistake
    worth seeing.

    Attributes:
        reasons: one line per provider tried, when raised by a chain.
    """

    def __init__(self, message: str, *, reasons: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class CredentialSourceError(NuveraError):
    """The credential source failed or holds something unusable.

    Unreadable file, AWS error, a secret that is not JSON or lacks a field. The
    message names the source and the field, never a value.
    """


class InsecureCredentialsFileError(ConfigurationError):
    """A credentials file is accessible by group or others (``chmod 600`` it)."""


@dataclass(frozen=True)
class Credentials:
    """An API key and the private key that signs for it; never printed.

    Args:
        api_key: the API key text (or a parsed :class:`~nuvera_client.ApiKey`).
        private_key: any form :class:`~nuvera_client.RequestSigner` accepts.
        passphrase: for an encrypted private key.
    """

    api_key: str | ApiKey = field(repr=False)
    private_key: keys.PrivateKeySource | SigningKey = field(repr=False)
    passphrase: str | bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        try:
            shown = ApiKey.parse(self.api_key).redacted
        except ValueError:
            shown = "<invalid>"
        return f"Credentials(api_key='{shown}', private_key=<redacted>)"

    def resolve(self, ttl: int = DEFAULT_TTL) -> tuple[ApiKey, RequestSigner]:
        """Return the parsed API key and a signer, parsing the private key once.

        The parsed key is cached process-wide by the SHA-256 of its material (and
        passphrase), so resolving the same credentials again, or credentials a
        provider fetched again after a refresh, does not parse the key again.
        Each call returns a new :class:`RequestSigner` (its clock offset is the
        caller's), sharing the parsed key.

        Raises:
            InvalidApiKeyError: the API key is malformed.
            InvalidPrivateKeyError: the private key cannot sign RS256.
        """
        api_key = ApiKey.parse(self.api_key)
        key = KEY_CACHE.load(self.private_key, self.passphrase)
        return api_key, RequestSigner(key, ttl=ttl)


@runtime_checkable
class CredentialProvider(Protocol):
    """Where a client gets its credentials.

    ``get()`` may return cached credentials; ``refresh()`` must fetch them anew
    from the source (called after the server signals a rotation).
    """

    def get(self) -> Credentials:
        """Return the current credentials."""
        ...

    def refresh(self) -> Credentials:
        """Fetch the credentials again from their source and return them."""
        ...


def _checked(
    where: str,
    api_key: str | ApiKey,
    private_key: keys.PrivateKeySource | SigningKey,
    passphrase: str | bytes | None,
    *,
    api_key_name: str = "api_key",
    private_key_name: str = "private_key",
) -> Credentials:
    """Validate fetched values now, naming the source and field on failure."""
    try:
        parsed = ApiKey.parse(api_key)
    except InvalidApiKeyError as exc:
        raise InvalidApiKeyError(
            f"{where}: {api_key_name}: {exc}", reason=exc.reason
        ) from None
    try:
        # Parses once and caches, so the client's resolve() is a cache hit.
        KEY_CACHE.load(private_key, passphrase)
    except InvalidPrivateKeyError as exc:
        raise type(exc)(f"{where}: {private_key_name}: {exc}") from None
    return Credentials(parsed, private_key, passphrase)


class CachingCredentialProvider(abc.ABC):
    """Base of the shipped providers: cache, scheduled refresh, single flight.

    Subclasses implement :meth:`fetch`. ``get()`` fetches on first use and again
    once ``refresh_interval`` seconds have passed (one caller fetches; the others
    keep the current credentials meanwhile; a failed scheduled fetch is logged and
    the current credentials kept). ``refresh()`` always fetches, but callers that
    queued behind a fetch already under way take its result instead of fetching
    again: sixteen threads refreshing at once cause one fetch.

    Args:
        refresh_interval: seconds between scheduled fetches; ``None`` (default)
            fetches only on first use and on ``refresh()``.
        clock: monotonic seconds, for tests (default ``time.monotonic``).
    """

    def __init__(
        self,
        *,
        refresh_interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.refresh_interval = refresh_interval
        self._cache: SingleFlight[Credentials] = SingleFlight(
            self.fetch,
            refresh_interval=refresh_interval,
            clock=clock or time.monotonic,
            name=type(self).__name__,
        )

    @abc.abstractmethod
    def fetch(self) -> Credentials:
        """Read the credentials from the source (called by ``get``/``refresh``).

        Raises:
            CredentialsNotConfiguredError: the source is not configured at all.
        """

    @property
    def generation(self) -> int:
        """How many fetches have completed; grows by one per fetch."""
        return self._cache.generation

    def needs_fetch(self) -> bool:
        """Return whether :meth:`get` would read the source now.

        True when nothing is cached yet or ``refresh_interval`` has passed; async
        callers then call :meth:`get` in a worker thread.
        """
        return self._cache.needs_fetch()

    def get(self) -> Credentials:
        """Return the cached credentials, fetching when missing or due."""
        return self._cache.get()

    def refresh(self, generation: int | None = None) -> Credentials:
        """Fetch the credentials again, once for all concurrent callers.

        Args:
            generation: the :attr:`generation` the caller was using when the server
                refused it; if a fetch has completed since, its result is returned
                without fetching. Default: the generation when the call started.
        """
        return self._cache.refresh(generation)

    async def aget(self) -> Credentials:
        """Like :meth:`get`; a fetch runs in a worker thread, off the event loop."""
        if not self._cache.needs_fetch():
            return self._cache.get()
        return await anyio.to_thread.run_sync(self._cache.get)

    async def arefresh(self, generation: int | None = None) -> Credentials:
        """Like :meth:`refresh`, in a worker thread; shares fetches with threads."""
        seen = self.generation if generation is None else generation
        return await anyio.to_thread.run_sync(
            functools.partial(self._cache.refresh, seen)
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
        function: returns :class:`Credentials`; called on first use, on
            ``refresh()`` and when ``refresh_interval`` has passed.
        refresh_interval: see :class:`CachingCredentialProvider`.
        clock: see :class:`CachingCredentialProvider`.
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
        return _checked(repr(self), creds.api_key, creds.private_key, creds.passphrase)

    def __repr__(self) -> str:
        name = getattr(self._function, "__qualname__", type(self._function).__name__)
        return f"CallableCredentials({name})"


def _pem_from_env(text: str) -> str:
    # A PEM pasted into a one-line variable often carries literal "\n" sequences;
    # base64 never contains a backslash, so turning them back is safe.
    if "\n" not in text.strip() and "\\n" in text:
        return text.replace("\\n", "\n")
    return text


def _read_private_file(path: Path, what: str, allow_insecure: bool) -> bytes:
    """Read a credentials file, refusing it when group or others can access it."""
    try:
        # Check the mode of what was opened (fstat), not of what a path names.
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not allow_insecure and os.name != "nt" and mode & 0o077:
                raise InsecureCredentialsFileError(
                    f"{what} {str(path)!r} is accessible by group or others (mode "
                    f"{stat.S_IMODE(mode):04o}): run `chmod 600 {path}`, or pass "
                    "allow_insecure_permissions=True if this is intended"
                )
            return handle.read()
    except OSError as exc:
        raise CredentialSourceError(
            f"cannot read {what} {str(path)!r}: {exc.strerror}"
        ) from None


def _read_files(
    where: str,
    private_key_file: Path,
    api_key_file: Path,
    passphrase: str | bytes | None,
    allow_insecure: bool,
) -> Credentials:
    private_key = _read_private_file(
        private_key_file, "the private key file", allow_insecure
    )
    raw_api_key = _read_private_file(api_key_file, "the API key file", allow_insecure)
    try:
        api_key = raw_api_key.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidApiKeyError(
            f"{where}: the API key file {str(api_key_file)!r} is not ASCII text",
            reason="charset",
        ) from None
    return _checked(
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
    ``NUVERA_PRIVATE_KEY_FILE`` (owner-only, like :class:`FileCredentials`);
    ``NUVERA_PRIVATE_KEY_PASSPHRASE`` for an encrypted key. The variables are read
    at each fetch, so ``refresh()`` picks up a rewritten key file.

    Args:
        env: the variables to read (default ``os.environ``).
        passphrase: used when ``NUVERA_PRIVATE_KEY_PASSPHRASE`` is unset.
        allow_insecure_permissions: accept a key file readable by group/others.
        refresh_interval: see :class:`CachingCredentialProvider`.
        clock: see :class:`CachingCredentialProvider`.

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
        source = os.environ if self._env is None else self._env
        api_key = source.get(ENV_API_KEY, "")
        if not api_key.strip():
            raise CredentialsNotConfiguredError(f"{ENV_API_KEY} is not set")
        private_key: bytes | str
        key_name = ENV_PRIVATE_KEY
        if source.get(ENV_PRIVATE_KEY, "").strip():
            private_key = _pem_from_env(source[ENV_PRIVATE_KEY])
        elif source.get(ENV_PRIVATE_KEY_FILE, "").strip():
            path = Path(source[ENV_PRIVATE_KEY_FILE]).expanduser()
            key_name = f"{ENV_PRIVATE_KEY_FILE}={str(path)!r}"
            private_key = _read_private_file(
                path,
                f"the private key file ({ENV_PRIVATE_KEY_FILE})",
                self._allow_insecure,
            )
        else:
            raise ConfigurationError(
                f"{ENV_API_KEY} is set but no private key is: set {ENV_PRIVATE_KEY} "
                f"(PEM text) or {ENV_PRIVATE_KEY_FILE} (a path)"
            )
        passphrase = source.get(ENV_PRIVATE_KEY_PASSPHRASE) or self._passphrase
        return _checked(
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
        refresh_interval: see :class:`CachingCredentialProvider`.
        clock: see :class:`CachingCredentialProvider`.
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
        source = os.environ if self._env is None else self._env
        api_key_file = source.get(ENV_API_KEY_FILE, "").strip()
        if not api_key_file:
            raise CredentialsNotConfiguredError(f"{ENV_API_KEY_FILE} is not set")
        private_key_file = source.get(ENV_PRIVATE_KEY_FILE, "").strip()
        if not private_key_file:
            raise ConfigurationError(
                f"{ENV_API_KEY_FILE} is set but {ENV_PRIVATE_KEY_FILE} is not: set "
                "it to the path of the private key"
            )
        passphrase = source.get(ENV_PRIVATE_KEY_PASSPHRASE) or self._passphrase
        return _read_files(
            repr(self),
            Path(private_key_file).expanduser(),
            Path(api_key_file).expanduser(),
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
        return _checked(repr(self), self._api_key, self._private_key, self._passphrase)

    def __repr__(self) -> str:
        return "explicit arguments"


class _SecretsManagerClient(Protocol):
    """The one call of a boto3 ``secretsmanager`` client this module makes."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, object]:
        """Return the secret (``SecretString`` or ``SecretBinary``)."""
        ...


class AwsSecretsManagerCredentials(CachingCredentialProvider):
    """Credentials stored as one JSON secret in AWS Secrets Manager (extra ``aws``).

    The secret is ``{"api_key": "nvk_...", "private_key": "-----BEGIN ...",
    "passphrase": "..."}`` (``passphrase`` optional). Errors name the secret and
    the field, never a value.

    Args:
        secret_id: the secret's name or ARN.
        client: a boto3 ``secretsmanager`` client (default: a new one, from the
            usual AWS configuration; ``boto3`` is imported only then).
        refresh_interval: see :class:`CachingCredentialProvider`; with AWS
            rotation schedules, an hour is typical.
        region_name: the region for the default client.
        clock: see :class:`CachingCredentialProvider`.

    Raises:
        ConfigurationError: ``boto3`` is not installed (``pip install
            'nuvera-client[aws]'``) or no AWS region is configured.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: _SecretsManagerClient | None = None,
        refresh_interval: float | None = None,
        region_name: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(secret_id, str) or not secret_id:
            raise ConfigurationError("secret_id must be the secret's name or ARN")
        self.secret_id = secret_id
        self._client = client if client is not None else _boto3_client(region_name)
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        """Read the secret and validate its fields."""
        where = f"AWS secret {self.secret_id!r}"
        try:
            response = self._client.get_secret_value(SecretId=self.secret_id)
        except Exception as exc:
            error = getattr(exc, "response", None)
            code = (
                error.get("Error", {}).get("Code") if isinstance(error, dict) else None
            )
            raise CredentialSourceError(
                f"cannot read {where} from AWS Secrets Manager: "
                f"{code or type(exc).__name__}"
            ) from exc
        data = _secret_json(response)
        if data is None:
            raise CredentialSourceError(
                f"{where} is not a JSON object: store "
                '{"api_key": ..., "private_key": ..., "passphrase": ...}'
            )
        for name in ("api_key", "private_key"):
            value = data.get(name)
            if not (isinstance(value, str) and value.strip()) and not (
                name == "private_key" and isinstance(value, dict)
            ):
                raise CredentialSourceError(
                    f"{where} has no {name!r} field (a non-empty string)"
                )
        passphrase = data.get("passphrase")
        if passphrase is not None and not isinstance(passphrase, str):
            raise CredentialSourceError(f"{where}: 'passphrase' must be a string")
        return _checked(
            where,
            data["api_key"],  # type: ignore[arg-type]
            data["private_key"],  # type: ignore[arg-type]
            passphrase or None,
        )

    def __repr__(self) -> str:
        return f"AwsSecretsManagerCredentials({self.secret_id!r})"


def _boto3_client(region_name: str | None) -> _SecretsManagerClient:
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise ConfigurationError(
            "AwsSecretsManagerCredentials needs boto3: pip install "
            "'nuvera-client[aws]' (or pass client=)"
        ) from None
    try:
        return boto3.client("secretsmanager", region_name=region_name)
    except botocore.exceptions.NoRegionError:
        raise ConfigurationError(
            "no AWS region for Secrets Manager: pass region_name= or set AWS_REGION"
        ) from None


def _secret_json(response: Mapping[str, object]) -> dict[str, object] | None:
    text = response.get("SecretString")
    if text is None:
        binary = response.get("SecretBinary")
        if isinstance(binary, (bytes, bytearray)):
            try:
                text = bytes(binary).decode("utf-8")
            except UnicodeDecodeError:
                return None
    if not isinstance(text, str):
        return None
    # Parse outside any except clause: a JSON error holds the whole document.
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return data if isinstance(data, dict) else None


def _as_provider(
    source: CredentialProvider | Callable[[], Credentials],
) -> CredentialProvider:
    if isinstance(source, CredentialProvider):
        return source
    if callable(getattr(source, "get", None)):
        return source  # type: ignore[return-value] # get() only; refresh falls back
    return CallableCredentials(source)


class ChainCredentials:
    """Try providers in order; the first that is configured is used from then on.

    A provider raising :class:`CredentialsNotConfiguredError` is skipped; any other
    error stops the chain (a half-configured source should be fixed, not skipped).
    ``refresh()`` refreshes the chosen provider.

    Args:
        providers: providers, or zero-argument functions returning
            :class:`Credentials` (wrapped in :class:`CallableCredentials`).

    Raises:
        CredentialsNotConfiguredError: (from ``get``) no provider is configured;
            the message lists each provider's reason.
    """

    def __init__(
        self, providers: Sequence[CredentialProvider | Callable[[], Credentials]]
    ) -> None:
        if not providers:
            raise ConfigurationError("ChainCredentials needs at least one provider")
        self.providers: list[CredentialProvider] = [_as_provider(p) for p in providers]
        self._lock = threading.Lock()
        self._chosen: CredentialProvider | None = None

    @property
    def chosen(self) -> CredentialProvider | None:
        """The provider in use, once ``get()`` has found one."""
        return self._chosen

    @property
    def generation(self) -> int:
        """The chosen provider's generation (0 before the first ``get``)."""
        return int(getattr(self._chosen, "generation", 0))

    def get(self) -> Credentials:
        """Return the chosen provider's credentials, choosing it on first use."""
        chosen = self._chosen
        if chosen is not None:
            return chosen.get()
        with self._lock:
            if self._chosen is not None:
                return self._chosen.get()
            reasons: list[str] = []
            for provider in self.providers:
                try:
                    creds = provider.get()
                except CredentialsNotConfiguredError as exc:
                    reasons.append(f"{provider!r}: {exc}")
                    continue
                self._chosen = provider
                return creds
        raise CredentialsNotConfiguredError(
            "no Nuvera credentials found; tried:\n  - " + "\n  - ".join(reasons),
            reasons=reasons,
        )

    def refresh(self, generation: int | None = None) -> Credentials:
        """Refresh the chosen provider (``generation``: see its ``refresh``)."""
        chosen = self._chosen
        if chosen is None:
            return self.get()
        if isinstance(chosen, CachingCredentialProvider):
            return chosen.refresh(generation)
        if callable(getattr(chosen, "refresh", None)):
            return chosen.refresh()
        return chosen.get()

    def needs_fetch(self) -> bool:
        """Return whether :meth:`get` may read a source now."""
        chosen = self._chosen
        if chosen is None:
            return True
        check = getattr(chosen, "needs_fetch", None)
        return bool(check()) if callable(check) else True

    async def aget(self) -> Credentials:
        """Like :meth:`get`, in a worker thread when it may fetch."""
        chosen = self._chosen
        if isinstance(chosen, CachingCredentialProvider):
            return await chosen.aget()
        return await anyio.to_thread.run_sync(self.get)

    async def arefresh(self, generation: int | None = None) -> Credentials:
        """Like :meth:`refresh`, in a worker thread."""
        seen = self.generation if generation is None else generation
        return await anyio.to_thread.run_sync(functools.partial(self.refresh, seen))

    def __repr__(self) -> str:
        return f"ChainCredentials([{', '.join(repr(p) for p in self.providers)}])"


def default_chain(
    api_key: str | ApiKey | None = None,
    private_key: keys.PrivateKeySource | SigningKey | None = None,
    passphrase: str | bytes | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> ChainCredentials:
    """Return the usual chain: explicit arguments, environment, then files.

    1. ``api_key`` and ``private_key`` given here (both, or neither);
    2. :class:`EnvironmentCredentials` (``NUVERA_API_KEY`` + ``NUVERA_PRIVATE_KEY``
       or ``NUVERA_PRIVATE_KEY_FILE``);
    3. the files named by ``NUVERA_API_KEY_FILE`` and ``NUVERA_PRIVATE_KEY_FILE``
       (owner-only, as :class:`FileCredentials`).

    ``passphrase`` also serves 2 and 3 when ``NUVERA_PRIVATE_KEY_PASSPHRASE`` is
    unset. ``env`` replaces ``os.environ`` (tests).
    """
    return ChainCredentials(
        [
            _ExplicitCredentials(api_key, private_key, passphrase),
            EnvironmentCredentials(env=env, passphrase=passphrase),
            _EnvironmentFileCredentials(env=env, passphrase=passphrase),
        ]
    )
