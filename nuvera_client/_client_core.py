"""Owns ClientCore: the state and decisions both clients share.

Configuration, the auth, permissions (local check and record), idempotency keys,
retry decisions, lifecycle warnings and credential rotation/refresh. No HTTP I/O:
the twins in ``_client.py`` send, sleep and read.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import anyio.to_thread
import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._base_client import (
    NuveraDeprecationWarning,
    PreparedFile,
    build_request,
    lifecycle_notice,
    new_idempotency_key,
)
from nuvera_client._config import ClientConfig
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._resource import Call
from nuvera_client._retry import Action, Decision, RetryPolicy, RetryState
from nuvera_client._signer import RequestSigner, SigningKey
from nuvera_client.credentials import CredentialProvider, Credentials
from nuvera_client.errors import ConfigurationError, PermissionNotGrantedError

__all__ = [
    "MAX_ATTEMPTS",
    "RECORD_PERMISSIONS_ENV",
    "ClientCore",
    "CredentialSource",
]

logger = logging.getLogger("nuvera_client")

RECORD_PERMISSIONS_ENV = "NUVERA_RECORD_PERMISSIONS_FILE"
"""When set, every newly used permission is appended (one name a line) to that file."""

CredentialSource: TypeAlias = CredentialProvider | Callable[[], Credentials]
"""A credential provider, or a zero-argument callable returning Credentials."""

MAX_ATTEMPTS = 64
"""A hard bound on any attempt loop, far above every retry budget."""

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _ask(source: CredentialSource, *, refresh: bool) -> Credentials:
    if refresh and callable(getattr(source, "refresh", None)):
        creds = source.refresh()  # type: ignore[union-attr]
    elif callable(getattr(source, "get", None)):
        creds = source.get()  # type: ignore[union-attr]
    elif callable(source):
        creds = source()
    else:
        raise ConfigurationError(
            "credentials= must be a CredentialProvider or a callable returning "
            "Credentials"
        )
    if not isinstance(creds, Credentials):
        raise ConfigurationError(
            f"the credential provider returned {type(creds).__name__}, not Credentials"
        )
    return creds


class ClientCore:
    """State both twins share: config, auth, retry policy, permissions, lifecycle."""

    def __init__(
        self,
        *,
        api_key: str | ApiKey | None,
        private_key: keys.PrivateKeySource | SigningKey | None,
        passphrase: str | bytes | None,
        base_url: str | httpx.URL | None,
        environment: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        permissions: Iterable[str | Permission] | None,
        ttl: int,
        credentials: CredentialSource | None,
    ) -> None:
        self.provider = credentials
        self._current: Credentials | None = None
        signer: RequestSigner | None = None
        # Caching providers (they expose ``generation``) are asked before every
        # call: cheap until their refresh_interval passes, then they fetch.
        self.polls = credentials is not None and hasattr(credentials, "generation")
        if credentials is not None:
            if api_key is not None or private_key is not None:
                raise ConfigurationError(
                    "pass either credentials= or api_key=/private_key=, not both"
                )
            creds = _ask(credentials, refresh=False)
            self._current = creds
            # The provider's key is parsed once, process-wide (Credentials.resolve).
            api_key, signer = creds.resolve(ttl)
            private_key, passphrase = creds.private_key, creds.passphrase
        config = ClientConfig.resolve(
            api_key=api_key,
            private_key=private_key,
            passphrase=passphrase,
            base_url=base_url,
            environment=environment,
        )
        assert config.api_key is not None  # noqa: S101 - resolve() guarantees it
        if signer is not None:
            self.auth = NuveraAuth(config.api_key, signer=signer)
        else:
            self.auth = NuveraAuth(
                config.api_key,
                config.private_key,  # type: ignore[arg-type]
                passphrase=config.passphrase,
                ttl=ttl,
            )
        self.base_url = config.base_url
        self.timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        )
        self.policy = RetryPolicy(max_retries)
        self.permissions = (
            None if permissions is None else validate_permissions(permissions)
        )
        self.generation = 0
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._adopt_lock = threading.Lock()
        self._used: set[Permission] = set()
        self._warned: set[str] = set()
        self._record_file = os.environ.get(RECORD_PERMISSIONS_ENV) or None

    # -- permissions -------------------------------------------------------------

    def authorize(self, call: Call[Any]) -> None:
        needed = call.permission
        if self.permissions is not None and needed not in self.permissions:
            granted = ", ".join(sorted(p.value for p in self.permissions)) or "none"
            raise PermissionNotGrantedError(
                f"{call.endpoint} needs {needed.value}, which is not in this client's "
                f"permissions= ({granted}); grant it to the application and add it",
                required_permission=needed.value,
            )
        if needed in self._used:
            return
        with self._lock:
            if needed in self._used:
                return
            self._used.add(needed)
            if self._record_file:
                with open(self._record_file, "a", encoding="utf-8") as handle:
                    handle.write(needed.value + "\n")

    @property
    def permissions_used(self) -> frozenset[Permission]:
        with self._lock:
            return frozenset(self._used)

    # -- attempts ----------------------------------------------------------------

    @staticmethod
    def idempotency_key(call: Call[Any]) -> str | None:
        if call.method != "POST":
            if call.idempotency_key is not None:
                raise ValueError("idempotency_key= applies to POST calls only")
            return None
        if call.idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(
            call.idempotency_key
        ):
            raise ValueError(
                "idempotency_key must be 1-255 printable ASCII characters without "
                "spaces (0x21-0x7E)"
            )
        # Made once per logical call: every retry carries the same key.
        return call.idempotency_key or new_idempotency_key()

    def request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        call: Call[Any],
        key: str | None,
        files: Sequence[PreparedFile],
        boundary: str | None,
    ) -> httpx.Request:
        return build_request(
            http,
            self.base_url,
            call,
            idempotency_key=key,
            files=files,
            boundary=boundary,
            timeout=self.timeout,
        )

    def decide(
        self,
        call: Call[Any],
        state: RetryState,
        key: str | None,
        generation: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> Decision:
        # Credentials swapped while this attempt was in flight: retrying with the
        # new ones is always worth one try, provider or not.
        rotated = generation != self.generation
        return self.policy.decide(
            state,
            method=call.method,
            has_idempotency_key=key is not None,
            response=response,
            error=error,
            now=time.time(),
            can_refresh=self.provider is not None or rotated,
            max_retries=call.max_retries,
        )

    def observe(self, call: Call[Any], response: httpx.Response, attempt: int) -> None:
        # The per-attempt log record is the telemetry watch's (_telemetry.py).
        notice = lifecycle_notice(call, response)
        if notice is None or call.endpoint in self._warned:
            return
        with self._lock:
            if call.endpoint in self._warned:
                return
            self._warned.add(call.endpoint)
        logger.warning("%s", notice)
        # stacklevel 6: observe < _execute < _request < _send < resource method < caller
        warnings.warn(notice, NuveraDeprecationWarning, stacklevel=6)

    def apply(self, decision: Decision) -> None:
        if decision.action is Action.RESIGN and decision.clock_offset is not None:
            logger.debug("clock skew: offset now %.0f s", decision.clock_offset)
            self.auth.clock_offset = decision.clock_offset

    # -- credentials -------------------------------------------------------------

    def rotate(
        self,
        api_key: str | ApiKey | None,
        private_key: keys.PrivateKeySource | SigningKey | None,
        passphrase: str | bytes | None,
    ) -> None:
        with self._lock:
            self.auth.rotate(
                api_key=api_key, private_key=private_key, passphrase=passphrase
            )
            self.generation += 1

    def refresh(self, generation: int) -> None:
        """Fetch new credentials once for all threads/tasks that saw ``generation``."""
        with self._refresh_lock:
            if self.generation != generation or self.provider is None:
                return  # someone else already swapped the credentials
            creds = _ask(self.provider, refresh=True)
            logger.debug("credentials refreshed from the provider")
            self.adopt(creds)

    def adopt(self, creds: Credentials) -> None:
        """Switch to ``creds`` unless they are the ones in use."""
        if creds is self._current:
            return
        with self._adopt_lock:
            if creds is self._current:
                return
            api_key, signer = creds.resolve(self.auth.signer.ttl)
            with self._lock:
                self.auth.rotate(api_key=api_key, signer=signer)
                self.generation += 1
            self._current = creds

    def poll(self) -> None:
        """Ask a caching provider for its current credentials (sync clients)."""
        if self.polls and self.provider is not None:
            self.adopt(_ask(self.provider, refresh=False))

    async def apoll(self) -> None:
        """Like :meth:`poll`; a provider fetch runs in a worker thread."""
        if not (self.polls and self.provider is not None):
            return
        provider = self.provider
        needs_fetch = getattr(provider, "needs_fetch", None)
        if callable(needs_fetch) and needs_fetch():
            creds = await anyio.to_thread.run_sync(
                functools.partial(_ask, provider, refresh=False)
            )
        else:
            creds = _ask(provider, refresh=False)
        self.adopt(creds)
