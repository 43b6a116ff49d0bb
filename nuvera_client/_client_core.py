"""Owns ClientCore: the state and decisions both clients share.

Configuration, the auth, permissions (local check and record), idempotency keys,
retry decisions, lifecycle warnings and credential rotation/refresh. No HTTP I/O:
the attempt loop (``_pipeline``) asks it, and the twins in ``_client.py`` send,
sleep and read.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._config import ClientConfig
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._pipeline import Observer
from nuvera_client._resource import Call
from nuvera_client._retry import Action, Decision, RetryPolicy, RetryState
from nuvera_client._signer import RequestSigner, SigningKey
from nuvera_client._telemetry import TelemetryObserver
from nuvera_client._transfer import DEFAULT_MAX_RESPONSE_BYTES
from nuvera_client._wire import (
    PreparedFile,
    build_request,
    lifecycle_notice,
    new_idempotency_key,
    warn_caller,
)
from nuvera_client.credentials import CredentialProvider, Credentials
from nuvera_client.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NuveraDeprecationWarning,
    PermissionNotGrantedError,
)

__all__ = [
    "RECORD_PERMISSIONS_ENV",
    "ClientCore",
    "CredentialSource",
]

logger = logging.getLogger("nuvera_client")

RECORD_PERMISSIONS_ENV = "NUVERA_RECORD_PERMISSIONS_FILE"
"""When set, every newly used permission is appended (one name a line) to that file."""

CredentialSource: TypeAlias = CredentialProvider | Callable[[], Credentials]
"""A credential provider, or a zero-argument callable returning Credentials."""

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
        max_response_bytes: int | None = None,
    ) -> None:
        limit = (
            DEFAULT_MAX_RESPONSE_BYTES
            if max_response_bytes is None
            else max_response_bytes
        )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(
                "max_response_bytes must be a positive int (bytes, decoded)"
            )
        self.max_response_bytes = limit
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
        self.observer: Observer = TelemetryObserver(self.base_url)
        """Sees every event of every call: logs, traces, metrics (``_telemetry``)."""
        self.timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        )
        self.policy = RetryPolicy(max_retries)
        self.permissions = (
            None if permissions is None else validate_permissions(permissions)
        )
        # Credential swaps so far (rotate, refresh, a provider's new pair): an
        # attempt that saw an older count failed with credentials since replaced.
        self.swaps = 0
        # One lock for the credential state (swaps, the pair in use, refreshes);
        # reentrant because a refresh adopts what it fetched.
        self._credentials_lock = threading.RLock()
        # Another for the bookkeeping sets below, never held across I/O.
        self._lock = threading.Lock()
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

    def record_use(self, call: Call[Any]) -> None:
        """Count ``call``'s permission as used: the server got past its checks.

        Not for a call refused locally, by authentication (401) or for lack of the
        permission (403): ``permissions_used`` is the least-privilege set.
        """
        needed = call.permission
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
                raise InvalidArgumentError(
                    "idempotency_key= applies to POST calls only"
                )
            return None
        if call.idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(
            call.idempotency_key
        ):
            raise InvalidArgumentError(
                "idempotency_key must be 1-255 printable ASCII characters without "
                "spaces (0x21-0x7E)"
            )
        # Made once per logical call: every retry carries the same key.
        return call.idempotency_key or new_idempotency_key()

    def request(
        self,
        http: Any,
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
        seen: int,
        *,
        response: httpx.Response | None = None,
        body: bytes | None = None,
        error: Exception | None = None,
    ) -> Decision:
        # Credentials swapped while this attempt was in flight: retrying with the
        # new ones is always worth one try, provider or not.
        rotated = seen != self.swaps
        return self.policy.decide(
            state,
            method=call.method,
            has_idempotency_key=key is not None,
            response=response,
            body=body,
            error=error,
            now=time.time(),
            can_refresh=self.provider is not None or rotated,
            max_retries=call.max_retries,
        )

    def notice(self, call: Call[Any], response: httpx.Response) -> None:
        """Warn once per endpoint that answers with ``Deprecation``/``Sunset``."""
        notice = lifecycle_notice(call, response)
        if notice is None or call.endpoint in self._warned:
            return
        with self._lock:
            if call.endpoint in self._warned:
                return
            self._warned.add(call.endpoint)
        logger.warning("%s", notice)
        warn_caller(notice, NuveraDeprecationWarning)

    def apply(self, decision: Decision) -> None:
        """Apply what a decision learned (a clock offset) before the next attempt."""
        if decision.action is Action.RESIGN and decision.clock_offset is not None:
            self.auth.clock_offset = decision.clock_offset

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from server text: the API key in use."""
        return (self.auth.api_key.reveal(),)

    # -- credentials -------------------------------------------------------------

    def rotate(
        self,
        api_key: str | ApiKey | None,
        private_key: keys.PrivateKeySource | SigningKey | None,
        passphrase: str | bytes | None,
    ) -> None:
        with self._credentials_lock:
            self.auth.rotate(
                api_key=api_key, private_key=private_key, passphrase=passphrase
            )
            self.swaps += 1

    def refresh(self, seen: int) -> None:
        """Fetch new credentials once for all threads/tasks that saw ``seen`` swaps."""
        with self._credentials_lock:
            if self.swaps != seen or self.provider is None:
                return  # someone else already swapped the credentials
            creds = _ask(self.provider, refresh=True)
            logger.debug("credentials refreshed from the provider")
            self.adopt(creds)

    def adopt(self, creds: Credentials) -> None:
        """Switch to ``creds`` unless they are the ones in use."""
        if creds is self._current:
            return
        with self._credentials_lock:
            if creds is self._current:
                return
            api_key, signer = creds.resolve(self.auth.signer.ttl)
            self.auth.rotate(api_key=api_key, signer=signer)
            self.swaps += 1
            self._current = creds

    def poll(self) -> None:
        """Ask a caching provider for its current credentials."""
        if self.polls and self.provider is not None:
            self.adopt(_ask(self.provider, refresh=False))

    def poll_blocks(self) -> bool:
        """Whether polling now may wait on the network (a cache due for a fetch)."""
        needs_fetch = getattr(self.provider, "needs_fetch", None)
        return not callable(needs_fetch) or bool(needs_fetch())

    def fetch_credentials(self, *, refresh: bool, seen: int) -> None:
        """Refresh after a rotation signal, or poll a caching provider."""
        if refresh:
            self.refresh(seen)
        else:
            self.poll()
