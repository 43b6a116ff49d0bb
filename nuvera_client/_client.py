"""Owns NuveraClient / AsyncNuveraClient: the attempt loops and resource attributes.

Both twins share :class:`~nuvera_client._client_core.ClientCore` (configuration,
permissions, retry decisions, credentials); only sending, sleeping and reading
differ. RSA signing of async requests runs off the event loop (``_signing_pool``).
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    ExitStack,
    asynccontextmanager,
    contextmanager,
)
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import USER_AGENT, NuveraAuth
from nuvera_client._base_client import (
    NuveraDeprecationWarning,
    PreparedFile,
    api_error,
    connection_error,
    new_multipart_boundary,
    parse_response,
)
from nuvera_client._client_core import (
    MAX_ATTEMPTS,
    RECORD_PERMISSIONS_ENV,
    ClientCore,
    CredentialSource,
)
from nuvera_client._config import DEFAULT_TIMEOUT
from nuvera_client._fast_path import FastPath
from nuvera_client._permissions import Permission
from nuvera_client._resource import Call
from nuvera_client._retry import DEFAULT_MAX_RETRIES, Action, RetryState
from nuvera_client._signer import DEFAULT_TTL, SigningKey
from nuvera_client._telemetry import watch_call
from nuvera_client._uploads import async_chunks, prepare_files, sync_chunks
from nuvera_client.errors import ConfigurationError
from nuvera_client.resources.beneficiaries import AsyncBeneficiaries, Beneficiaries
from nuvera_client.resources.crypto import AsyncCrypto, Crypto
from nuvera_client.resources.customers import AsyncCustomers, Customers
from nuvera_client.resources.documents import AsyncDocuments, Documents
from nuvera_client.resources.payments import AsyncPayments, Payments
from nuvera_client.resources.screening import AsyncScreening, Screening
from nuvera_client.resources.support import AsyncSupport, Support

__all__ = [
    "RECORD_PERMISSIONS_ENV",
    "AsyncNuveraClient",
    "CredentialSource",
    "NuveraClient",
    "NuveraDeprecationWarning",
]

T = TypeVar("T")


class NuveraClient:
    """The synchronous Nuvera API client.

    Unset arguments come from ``NUVERA_API_KEY``, ``NUVERA_PRIVATE_KEY`` (PEM text)
    or ``NUVERA_PRIVATE_KEY_FILE``, ``NUVERA_PRIVATE_KEY_PASSPHRASE`` and
    ``NUVERA_BASE_URL``; the environment (live/test) follows the key unless a base
    URL is given, and known mixes are refused (PROTOCOL §7).

    Args:
        api_key: the application's API key.
        private_key: the signing key (PEM, DER, JWK, Path, RSAPrivateKey, SigningKey).
        passphrase: for an encrypted private key.
        base_url: the API origin (default: from the key's environment).
        environment: ``"live"`` or ``"test"``; must match the key.
        timeout: seconds, or an ``httpx.Timeout`` (default 30 s, 10 s connect).
        max_retries: retries of transient failures per call (default 2).
        permissions: the application's permissions; calls outside them raise
            :class:`~nuvera_client.errors.PermissionNotGrantedError` locally.
        http_client: an ``httpx.Client`` whose transport to use (it keeps its
            transport; the client signs every request itself). Not closed by us.
        ttl: token lifetime in seconds (1..60).
        credentials: a :class:`~nuvera_client.CredentialProvider` or a callable
            returning :class:`~nuvera_client.Credentials`, asked again on rotation.

    Raises:
        ConfigurationError: missing or inconsistent configuration (subclasses).
    """

    def __init__(
        self,
        api_key: str | ApiKey | None = None,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        *,
        passphrase: str | bytes | None = None,
        base_url: str | httpx.URL | None = None,
        environment: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        permissions: Iterable[str | Permission] | None = None,
        http_client: httpx.Client | None = None,
        ttl: int = DEFAULT_TTL,
        credentials: CredentialSource | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ConfigurationError("http_client= must be an httpx.Client")
        self._core = ClientCore(
            api_key=api_key,
            private_key=private_key,
            passphrase=passphrase,
            base_url=base_url,
            environment=environment,
            timeout=timeout,
            max_retries=max_retries,
            permissions=permissions,
            ttl=ttl,
            credentials=credentials,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self._core.timeout,
            verify=True,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )
        self._sleep: Callable[[float], None] = time.sleep
        self.customers = Customers(self)
        """Customers (``/v1/customers``)."""
        self.beneficiaries = Beneficiaries(self)
        """Beneficiaries (``/v1/beneficiaries``)."""
        self.documents = Documents(self)
        """Documents (``/v1/documents``): upload, download, stream."""
        self.crypto = Crypto(self)
        """Crypto reference data: ``.assets`` and ``.networks``."""
        self.payments = Payments(self)
        """Payments (``/v1/payments``)."""
        self.screening = Screening(self)
        """Screening: ``.results``."""
        self.support = Support(self)
        """Support: ``.tickets`` and ``.tickets.messages``."""

    @property
    def base_url(self) -> httpx.URL:
        """The API origin requests go to."""
        return self._core.base_url

    @property
    def auth(self) -> NuveraAuth:
        """The :class:`~nuvera_client.NuveraAuth` signing every request."""
        return self._core.auth

    @property
    def permissions_used(self) -> frozenset[Permission]:
        """The permissions the calls of this client have needed so far."""
        return self._core.permissions_used

    def rotate_credentials(
        self,
        api_key: str | ApiKey | None = None,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        *,
        passphrase: str | bytes | None = None,
    ) -> None:
        """Swap the API key and/or signing key, atomically for all threads.

        Raises:
            EnvironmentMismatchError: the new key is of the other environment.
            ConfigurationError: the new key cannot be parsed.
        """
        self._core.rotate(api_key, private_key, passphrase)

    # -- attempt loop --------------------------------------------------------------

    def _authorize(self, call: Call[Any]) -> None:
        self._core.authorize(call)

    def _execute(self, call: Call[Any], *, stream: bool) -> httpx.Response:
        core = self._core
        core.authorize(call)
        if core.polls:
            core.poll()
        key = core.idempotency_key(call)
        boundary = new_multipart_boundary() if call.multipart else None
        state = RetryState()
        watch = watch_call(call, core.base_url, key)  # TELEMETRY HOOK (i14)
        with ExitStack() as stack, watch:  # TELEMETRY HOOK (i14): call ended
            files = prepare_files(call.files, stack)
            for attempt in range(1, MAX_ATTEMPTS + 1):
                generation = core.generation
                watch.attempt(attempt)  # TELEMETRY HOOK (i14)
                request = core.request(self._http, call, key, files, boundary)
                watch.inject(request.headers)  # TELEMETRY HOOK (i14): traceparent
                response: httpx.Response | None = None
                try:
                    response = self._http.send(request, auth=core.auth, stream=True)
                    if not (stream and response.is_success):
                        try:
                            response.read()
                        finally:
                            response.close()
                except httpx.HTTPError as exc:
                    # Transport errors may be retried; others (a body that fails
                    # to decode, too many redirects) are final. None escapes raw.
                    watch.ended(error=exc)  # TELEMETRY HOOK (i14)
                    decision = core.decide(call, state, key, generation, error=exc)
                    if decision.action is Action.DONE:
                        raise connection_error(exc, call) from exc
                else:
                    watch.ended(response=response)  # TELEMETRY HOOK (i14)
                    core.observe(call, response, attempt)
                    if response.is_success:
                        return response
                    decision = core.decide(
                        call, state, key, generation, response=response
                    )
                    if decision.action is Action.DONE:
                        raise api_error(response)
                state.record(decision)
                watch.decided(decision)  # TELEMETRY HOOK (i14)
                core.apply(decision)
                if decision.action is Action.REFRESH:
                    core.refresh(generation)
                elif decision.action is Action.RETRY:
                    self._sleep(decision.delay)
        raise RuntimeError(f"{call.endpoint}: gave up after {MAX_ATTEMPTS} attempts")

    def _request(self, call: Call[T]) -> T:
        return parse_response(call, self._execute(call, stream=False))

    def _download(self, call: Call[Any]) -> bytes:
        return self._execute(call, stream=False).content

    def _stream(self, call: Call[Any]) -> AbstractContextManager[Iterator[bytes]]:
        return self._stream_cm(call)

    @contextmanager
    def _stream_cm(self, call: Call[Any]) -> Iterator[Iterator[bytes]]:
        response = self._execute(call, stream=True)
        try:
            yield sync_chunks(response, call)
        finally:
            response.close()

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> NuveraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NuveraClient(base_url={str(self.base_url)!r}, auth={self.auth!r})"


class AsyncNuveraClient:
    """The asynchronous Nuvera API client; same arguments as :class:`NuveraClient`.

    RSA signing runs in a bounded worker-thread pool, off the event loop, with a
    fresh ``jti`` for every attempt.
    """

    def __init__(
        self,
        api_key: str | ApiKey | None = None,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        *,
        passphrase: str | bytes | None = None,
        base_url: str | httpx.URL | None = None,
        environment: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        permissions: Iterable[str | Permission] | None = None,
        http_client: httpx.AsyncClient | None = None,
        ttl: int = DEFAULT_TTL,
        credentials: CredentialSource | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client= must be an httpx.AsyncClient")
        self._core = ClientCore(
            api_key=api_key,
            private_key=private_key,
            passphrase=passphrase,
            base_url=base_url,
            environment=environment,
            timeout=timeout,
            max_retries=max_retries,
            permissions=permissions,
            ttl=ttl,
            credentials=credentials,
        )
        self._owns_http = http_client is None
        self._http = http_client or self._own_http()
        # Our own AsyncClient has no hooks, cookies or mounts of a user's: plain
        # calls skip its send() (see _fast_path). A user's client keeps send().
        self._fast = (
            FastPath(self._http, self._core.base_url, self._core.timeout)
            if self._owns_http
            else None
        )
        self._sleep: Callable[[float], Any] = anyio.sleep
        self.customers = AsyncCustomers(self)
        """Customers (``/v1/customers``)."""
        self.beneficiaries = AsyncBeneficiaries(self)
        """Beneficiaries (``/v1/beneficiaries``)."""
        self.documents = AsyncDocuments(self)
        """Documents (``/v1/documents``): upload, download, stream."""
        self.crypto = AsyncCrypto(self)
        """Crypto reference data: ``.assets`` and ``.networks``."""
        self.payments = AsyncPayments(self)
        """Payments (``/v1/payments``)."""
        self.screening = AsyncScreening(self)
        """Screening: ``.results``."""
        self.support = AsyncSupport(self)
        """Support: ``.tickets`` and ``.tickets.messages``."""

    @property
    def base_url(self) -> httpx.URL:
        """The API origin requests go to."""
        return self._core.base_url

    @property
    def auth(self) -> NuveraAuth:
        """The :class:`~nuvera_client.NuveraAuth` signing every request."""
        return self._core.auth

    @property
    def permissions_used(self) -> frozenset[Permission]:
        """The permissions the calls of this client have needed so far."""
        return self._core.permissions_used

    def rotate_credentials(
        self,
        api_key: str | ApiKey | None = None,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        *,
        passphrase: str | bytes | None = None,
    ) -> None:
        """Swap the API key and/or signing key, atomically for all tasks.

        Raises:
            EnvironmentMismatchError: the new key is of the other environment.
            ConfigurationError: the new key cannot be parsed.
        """
        self._core.rotate(api_key, private_key, passphrase)

    def _own_http(
        self, transport: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._core.timeout,
            verify=True,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            transport=transport,
        )

    def _use_transport(self, transport: httpx.AsyncBaseTransport) -> None:
        """Replace our own AsyncClient by one on ``transport`` (tests, benchmarks).

        It stays a client we made and close, so plain calls keep the fast path
        (a user's ``http_client=`` never gets it). Call it before any request:
        the AsyncClient it replaces is dropped without being closed.
        """
        if not self._owns_http:
            raise RuntimeError("only a client without http_client= owns its httpx")
        self._http = self._own_http(transport)
        self._fast = FastPath(self._http, self._core.base_url, self._core.timeout)

    # -- attempt loop --------------------------------------------------------------

    def _authorize(self, call: Call[Any]) -> None:
        self._core.authorize(call)

    async def _execute(self, call: Call[Any], *, stream: bool) -> httpx.Response:
        core = self._core
        core.authorize(call)
        if core.polls:
            await core.apoll()
        key = core.idempotency_key(call)
        boundary = new_multipart_boundary() if call.multipart else None
        # Made only when needed: under load, thousands of calls wait at once, and
        # each object they hold is more work for the garbage collector.
        state: RetryState | None = None
        stack = ExitStack() if call.files else None
        watch = watch_call(call, core.base_url, key)  # TELEMETRY HOOK (i14)
        try:
            files: Sequence[PreparedFile] = ()
            if stack is not None:
                # Opening and spooling block: keep them off the event loop.
                files = await anyio.to_thread.run_sync(prepare_files, call.files, stack)
            # Streamed downloads keep send(): the caller reads the body later.
            fast = None if stream else self._fast
            for attempt in range(1, MAX_ATTEMPTS + 1):
                generation = core.generation
                watch.attempt(attempt)  # TELEMETRY HOOK (i14)
                quick = fast if fast is not None and fast.usable(call) else None
                if watch.propagates:  # TELEMETRY HOOK (i14): send() carries headers
                    quick = None
                sending: Awaitable[httpx.Response]
                if quick is not None:
                    sending = quick.send(quick.plan(call, key), core.auth)
                else:
                    request = core.request(self._http, call, key, files, boundary)
                    watch.inject(request.headers)  # TELEMETRY HOOK (i14)
                    sending = self._send_via_http(request, stream=stream)
                try:
                    response = await sending
                except httpx.HTTPError as exc:
                    # Transport errors may be retried; others (a body that fails
                    # to decode, too many redirects) are final. None escapes raw.
                    watch.ended(error=exc)  # TELEMETRY HOOK (i14)
                    state = state or RetryState()
                    decision = core.decide(call, state, key, generation, error=exc)
                    if decision.action is Action.DONE:
                        raise connection_error(exc, call) from exc
                else:
                    watch.ended(response=response)  # TELEMETRY HOOK (i14)
                    core.observe(call, response, attempt)
                    if response.is_success:
                        watch.finish(None)  # TELEMETRY HOOK (i14): call ended
                        return response
                    state = state or RetryState()
                    decision = core.decide(
                        call, state, key, generation, response=response
                    )
                    if decision.action is Action.DONE:
                        raise api_error(response)
                state.record(decision)
                watch.decided(decision)  # TELEMETRY HOOK (i14)
                core.apply(decision)
                if decision.action is Action.REFRESH:
                    await anyio.to_thread.run_sync(core.refresh, generation)
                elif decision.action is Action.RETRY:
                    await self._sleep(decision.delay)
        except BaseException as exc:  # TELEMETRY HOOK (i14): call ended by an error
            watch.finish(exc)
            raise
        finally:
            if stack is not None:
                stack.close()
        raise RuntimeError(f"{call.endpoint}: gave up after {MAX_ATTEMPTS} attempts")

    async def _send_via_http(
        self, request: httpx.Request, *, stream: bool
    ) -> httpx.Response:
        # A streamed download that succeeds is read later, by the caller.
        response = await self._http.send(request, auth=self._core.auth, stream=True)
        if not (stream and response.is_success):
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def _request(self, call: Call[T]) -> T:
        return parse_response(call, await self._execute(call, stream=False))

    async def _download(self, call: Call[Any]) -> bytes:
        return (await self._execute(call, stream=False)).content

    def _stream(
        self, call: Call[Any]
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._stream_cm(call)

    @asynccontextmanager
    async def _stream_cm(self, call: Call[Any]) -> AsyncIterator[AsyncIterator[bytes]]:
        response = await self._execute(call, stream=True)
        try:
            yield async_chunks(response, call)
        finally:
            await response.aclose()

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncNuveraClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncNuveraClient(base_url={str(self.base_url)!r}, auth={self.auth!r})"
