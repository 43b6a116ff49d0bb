"""Owns provider chains: ChainCredentials and the default chain clients use."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence

import anyio.to_thread

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._credential_base import (
    CachingCredentialProvider,
    CredentialProvider,
    Credentials,
    CredentialsNotConfiguredError,
)
from nuvera_client._credential_providers import (
    CallableCredentials,
    EnvironmentCredentials,
    ProfileCredentials,
    _EnvironmentFileCredentials,
    _ExplicitCredentials,
)
from nuvera_client._secret_holder import SecretHolder
from nuvera_client._signer import SigningKey
from nuvera_client.errors import (
    ConfigurationError,
)


def _as_provider(
    source: CredentialProvider | Callable[[], Credentials],
) -> CredentialProvider:
    if isinstance(source, CredentialProvider):
        return source
    if callable(getattr(source, "get", None)):
        return source  # type: ignore[return-value] # get() only; refresh falls back
    return CallableCredentials(source)


class ChainCredentials(SecretHolder):
    """Try providers in order; the first that is configured is used from then on.

    A provider raising
    [`CredentialsNotConfiguredError`][nuvera_client.CredentialsNotConfiguredError] is
    skipped; any other error stops the chain (a half-configured source should be fixed,
    not skipped). ``refresh()`` refreshes the chosen provider.

    Args:
        providers: providers, or zero-argument functions returning
            [`Credentials`][nuvera_client.Credentials] (wrapped in
            [`CallableCredentials`][nuvera_client.credentials.CallableCredentials]).

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
        """Return whether ``get()`` may read a source now.

        See [`get()`][nuvera_client.credentials.ChainCredentials.get].
        """
        chosen = self._chosen
        if chosen is None:
            return True
        check = getattr(chosen, "needs_fetch", None)
        return bool(check()) if callable(check) else True

    async def aget(self) -> Credentials:
        """Like ``get()``, in a worker thread when it may fetch.

        See [`get()`][nuvera_client.credentials.ChainCredentials.get].
        """
        chosen = self._chosen
        if isinstance(chosen, CachingCredentialProvider):
            return await chosen.aget()
        return await anyio.to_thread.run_sync(self.get)

    async def arefresh(self, generation: int | None = None) -> Credentials:
        """Like ``refresh()``, in a worker thread.

        See [`refresh()`][nuvera_client.credentials.ChainCredentials.refresh].
        """
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
    """Return the usual chain: explicit arguments, environment, files, profile.

    1. ``api_key`` and ``private_key`` given here (both, or neither);
    2. [`EnvironmentCredentials`][nuvera_client.credentials.EnvironmentCredentials]
       (``NUVERA_API_KEY`` + ``NUVERA_PRIVATE_KEY`` or ``NUVERA_PRIVATE_KEY_FILE``);
    3. the files named by ``NUVERA_API_KEY_FILE`` and ``NUVERA_PRIVATE_KEY_FILE``
       (owner-only, as [`FileCredentials`][nuvera_client.credentials.FileCredentials]);
    4. [`ProfileCredentials`][nuvera_client.credentials.ProfileCredentials]: the profile
       ``NUVERA_PROFILE`` (else ``default``) of the CLI's profile file, when it stores
       an API key.

    A client built without credentials and every ``nuvera`` command resolve their
    credentials through this chain. ``passphrase`` also serves 2-4 when their own
    source names none. ``env`` replaces ``os.environ`` (tests).
    """
    return ChainCredentials(
        [
            _ExplicitCredentials(api_key, private_key, passphrase),
            EnvironmentCredentials(env=env, passphrase=passphrase),
            _EnvironmentFileCredentials(env=env, passphrase=passphrase),
            ProfileCredentials(env=env, passphrase=passphrase),
        ]
    )
