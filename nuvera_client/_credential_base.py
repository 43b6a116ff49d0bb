"""Owns the credential vocabulary: Credentials, provider protocol and base."""

from __future__ import annotations

import abc
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import anyio.to_thread

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._credential_cache import KEY_CACHE, SingleFlight
from nuvera_client._secret_holder import FrozenSecretHolder, SecretHolder
from nuvera_client._signer import DEFAULT_TTL, RequestSigner, SigningKey
from nuvera_client.errors import (
    CredentialsNotConfiguredError,
    CredentialSourceError,
    InsecureCredentialsFileError,
    InvalidApiKeyError,
    InvalidPrivateKeyError,
)

__all__ = [
    "CachingCredentialProvider",
    "CredentialProvider",
    "CredentialSourceError",
    "Credentials",
    "CredentialsNotConfiguredError",
    "InsecureCredentialsFileError",
    "checked",
]


@dataclass(frozen=True)
class Credentials(FrozenSecretHolder):
    """An API key and the private key that signs for it; never printed nor pickled.

    ``repr`` and pretty printers show the redacted API key only; ``pickle`` raises
    ``TypeError``; ``copy.copy`` returns the same (immutable) object.

    Args:
        api_key: the API key text (or a parsed [`ApiKey`][nuvera_client.ApiKey]).
        private_key: any form [`RequestSigner`][nuvera_client.RequestSigner] accepts.
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
        Each call returns a new [`RequestSigner`][nuvera_client.RequestSigner] (its
        clock offset is the caller's), sharing the parsed key.

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


def checked(
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


class CachingCredentialProvider(SecretHolder, abc.ABC):
    """Base of the shipped providers: cache, scheduled refresh, single flight.

    Subclasses implement
    [`fetch()`][nuvera_client.credentials.CachingCredentialProvider.fetch]. ``get()``
    fetches on first use and again once ``refresh_interval`` seconds have passed (one
    caller fetches; the others keep the current credentials meanwhile; a failed
    scheduled fetch is logged and the current credentials kept). ``refresh()`` always
    fetches, but callers that queued behind a fetch already under way take its result
    instead of fetching again: sixteen threads refreshing at once cause one fetch.

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
        """Return whether ``get()`` would read the source now.

        True when nothing is cached yet or ``refresh_interval`` has passed; async
        callers then call
        [`get()`][nuvera_client.credentials.CachingCredentialProvider.get] in a worker
        thread.
        """
        return self._cache.needs_fetch()

    def get(self) -> Credentials:
        """Return the cached credentials, fetching when missing or due."""
        return self._cache.get()

    def refresh(self, generation: int | None = None) -> Credentials:
        """Fetch the credentials again, once for all concurrent callers.

        Args:
            generation: the
                [`generation`][nuvera_client.credentials.CachingCredentialProvider.generation]
                the caller was using when the server refused it; if a fetch has
                completed since, its result is returned without fetching. Default: the
                generation when the call started.
        """
        return self._cache.refresh(generation)

    async def aget(self) -> Credentials:
        """Like ``get()``; a fetch runs in a worker thread, off the event loop.

        See [`get()`][nuvera_client.credentials.CachingCredentialProvider.get].
        """
        if not self._cache.needs_fetch():
            return self._cache.get()
        return await anyio.to_thread.run_sync(self._cache.get)

    async def arefresh(self, generation: int | None = None) -> Credentials:
        """Like ``refresh()``, in a worker thread; shares fetches with threads.

        See
        [`refresh()`][nuvera_client.credentials.CachingCredentialProvider.refresh].
        """
        seen = self.generation if generation is None else generation
        return await anyio.to_thread.run_sync(
            functools.partial(self._cache.refresh, seen)
        )
