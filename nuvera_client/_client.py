"""Owns NuveraClient / AsyncNuveraClient: thin shells over the attempt loop.

Both twins share ``ClientCore`` (configuration,
permissions, retry decisions, credentials) and one attempt loop
(``attempts()``); each only performs its steps, with
its own driver (send, sleep, fetch credentials). RSA signing of async requests
runs off the event loop (``_signing_pool``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._client_core import (
    RECORD_PERMISSIONS_ENV,
    ClientCore,
    CredentialSource,
)
from nuvera_client._config import DEFAULT_TIMEOUT
from nuvera_client._own_transport import (
    MAX_IN_FLIGHT,
    AsyncOwnTransport,
    OwnTransport,
    make_transport,
)
from nuvera_client._permissions import Permission
from nuvera_client._pipeline import Result, attempts, run_async, run_sync
from nuvera_client._raw import AsyncRawResponses, RawResponses, record
from nuvera_client._resource import Call
from nuvera_client._retry import DEFAULT_MAX_RETRIES
from nuvera_client._signer import DEFAULT_TTL, SigningKey
from nuvera_client._stack import module_of, stack_module, user_agent
from nuvera_client._transfer import async_chunks, sync_chunks
from nuvera_client._wire import parse_response, with_request_id
from nuvera_client.errors import ConfigurationError, NuveraDeprecationWarning
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
            [`PermissionNotGrantedError`][nuvera_client.PermissionNotGrantedError]
            locally.
        http_client: an ``httpx.Client`` (or ``httpx2.Client``) whose transport to
            use (it keeps its transport; the client signs every request itself
            and never lets it follow a redirect). Not closed by us.
        ttl: token lifetime in seconds (1..60).
        credentials: a [`CredentialProvider`][nuvera_client.CredentialProvider] or a
            callable returning [`Credentials`][nuvera_client.Credentials], asked again
            on rotation.
        max_response_bytes: the largest response body read into memory, counted
            decoded (default 32 MiB); larger raises ``InvalidResponseError``.
            Streamed downloads (``documents.stream``) are not capped.
        http_stack: ``"httpx"`` or ``"httpx2"``: the library the client builds
            its own HTTP client with (default: ``NUVERA_HTTP_STACK``, else httpx).
        max_concurrency: the most requests this client has in flight at once,
            over all threads (tasks, for the async client) sharing it; further
            calls queue locally. Default: no limit. Retries still back off on
            429 (PROTOCOL §4.1), and a call sleeping before a retry holds no place.

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
        max_response_bytes: int | None = None,
        http_stack: str | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        limit = _concurrency(max_concurrency)
        if http_client is not None and not isinstance(
            http_client, module_of(http_client).Client
        ):
            raise ConfigurationError(
                "http_client= must be an httpx.Client (or an httpx2.Client)"
            )
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
            max_response_bytes=max_response_bytes,
        )
        self._owns_http = http_client is None
        self._stack = stack_module(http_stack) if http_client is None else None
        lean: OwnTransport | None = None
        if http_client is None:
            http_client, lean = self._own_http()
        self._calls = SyncCalls(self._core, http_client)
        self._calls.lean = lean
        if limit is not None:
            # Thread-safe: one semaphore for every thread sharing this client.
            self._calls.gate = threading.BoundedSemaphore(limit)
        calls = self._calls
        self.customers = Customers(calls)
        """Customers (``/v1/customers``):
        [`Customers`][nuvera_client.resources.customers.Customers]."""
        self.beneficiaries = Beneficiaries(calls)
        """Beneficiaries (``/v1/beneficiaries``):
        [`Beneficiaries`][nuvera_client.resources.beneficiaries.Beneficiaries]."""
        self.documents = Documents(calls)
        """Documents (``/v1/documents``; upload, download, stream):
        [`Documents`][nuvera_client.resources.documents.Documents]."""
        self.crypto = Crypto(calls)
        """Crypto reference data (``.assets``, ``.networks``):
        [`Crypto`][nuvera_client.resources.crypto.Crypto]."""
        self.payments = Payments(calls)
        """Payments (``/v1/payments``):
        [`Payments`][nuvera_client.resources.payments.Payments]."""
        self.screening = Screening(calls)
        """Screening (``.results``):
        [`Screening`][nuvera_client.resources.screening.Screening]."""
        self.support = Support(calls)
        """Support (``.tickets``, ``.tickets.messages``):
        [`Support`][nuvera_client.resources.support.Support]."""

    @property
    def base_url(self) -> httpx.URL:
        """The API origin requests go to."""
        return self._core.base_url

    @property
    def auth(self) -> NuveraAuth:
        """The [`NuveraAuth`][nuvera_client.NuveraAuth] signing every request."""
        return self._core.auth

    @property
    def permissions_used(self) -> frozenset[Permission]:
        """The permissions the calls of this client have needed so far."""
        return self._core.permissions_used

    @property
    def with_raw_response(self) -> RawResponses:
        """The same areas and methods, returning a ``RawResponse`` each.

        ``client.with_raw_response.payments.retrieve("pay_…")`` returns the status,
        headers and request id of the answer; ``.parse()`` gives the ``Payment``.
        """
        return RawResponses(self)

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

    def _own_http(
        self, transport: Any = None
    ) -> tuple[httpx.Client, OwnTransport | None]:
        """Make our own Client and, unless proxies apply, its lean path."""
        stack = self._stack or httpx
        transport = transport or make_transport(stack, asynchronous=False)
        client: httpx.Client = stack.Client(
            timeout=_timeout(stack, self._core.timeout),
            verify=True,
            follow_redirects=False,
            headers={"user-agent": user_agent(stack)},
            transport=transport,
        )
        if transport is None:  # environment proxies: httpx routes, send() only
            return client, None
        return client, OwnTransport(client, transport, stack)

    def _use_transport(self, transport: Any) -> None:
        """Replace our own Client by one on ``transport`` (tests, benchmarks).

        It stays a client we made and close, with the lean path on that
        transport. Call it before any request: the Client it replaces is
        dropped without being closed.
        """
        if not self._owns_http:
            raise RuntimeError("only a client without http_client= owns its httpx")
        self._calls.http, self._calls.lean = self._own_http(transport)

    # -- internals (tests and benchmarks) ------------------------------------------

    @property
    def _http(self) -> httpx.Client:
        return self._calls.http

    @property
    def _sleep(self) -> Callable[[float], Any]:
        return self._calls.sleep

    @_sleep.setter
    def _sleep(self, sleep: Callable[[float], Any]) -> None:
        self._calls.sleep = sleep

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
    """The asynchronous Nuvera API client; same arguments as ``NuveraClient``.

    Its arguments are those of [`NuveraClient`][nuvera_client.NuveraClient].

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
        max_response_bytes: int | None = None,
        http_stack: str | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        limit = _concurrency(max_concurrency)
        if http_client is not None and not isinstance(
            http_client, module_of(http_client).AsyncClient
        ):
            raise ConfigurationError(
                "http_client= must be an httpx.AsyncClient (or an httpx2.AsyncClient)"
            )
        self._stack = stack_module(http_stack) if http_client is None else None
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
            max_response_bytes=max_response_bytes,
        )
        self._owns_http = http_client is None
        lean: AsyncOwnTransport | None = None
        if http_client is None:
            http_client, lean = self._own_http()
        self._calls = AsyncCalls(self._core, http_client)
        self._calls.lean = lean
        if limit is not None:
            # Bound to the event loop on first use; shared by every task.
            self._calls.gate = anyio.Semaphore(limit, max_value=limit)
        calls = self._calls
        self.customers = AsyncCustomers(calls)
        """Customers (``/v1/customers``):
        [`AsyncCustomers`][nuvera_client.resources.customers.AsyncCustomers]."""
        self.beneficiaries = AsyncBeneficiaries(calls)
        """Beneficiaries (``/v1/beneficiaries``):
        [`AsyncBeneficiaries`][nuvera_client.resources.beneficiaries.AsyncBeneficiaries]."""
        self.documents = AsyncDocuments(calls)
        """Documents (``/v1/documents``; upload, download, stream):
        [`AsyncDocuments`][nuvera_client.resources.documents.AsyncDocuments]."""
        self.crypto = AsyncCrypto(calls)
        """Crypto reference data (``.assets``, ``.networks``):
        [`AsyncCrypto`][nuvera_client.resources.crypto.AsyncCrypto]."""
        self.payments = AsyncPayments(calls)
        """Payments (``/v1/payments``):
        [`AsyncPayments`][nuvera_client.resources.payments.AsyncPayments]."""
        self.screening = AsyncScreening(calls)
        """Screening (``.results``):
        [`AsyncScreening`][nuvera_client.resources.screening.AsyncScreening]."""
        self.support = AsyncSupport(calls)
        """Support (``.tickets``, ``.tickets.messages``):
        [`AsyncSupport`][nuvera_client.resources.support.AsyncSupport]."""

    @property
    def base_url(self) -> httpx.URL:
        """The API origin requests go to."""
        return self._core.base_url

    @property
    def auth(self) -> NuveraAuth:
        """The [`NuveraAuth`][nuvera_client.NuveraAuth] signing every request."""
        return self._core.auth

    @property
    def permissions_used(self) -> frozenset[Permission]:
        """The permissions the calls of this client have needed so far."""
        return self._core.permissions_used

    @property
    def with_raw_response(self) -> AsyncRawResponses:
        """The same areas and methods, each awaited to a ``RawResponse``.

        ``await client.with_raw_response.payments.retrieve("pay_…")``.
        """
        return AsyncRawResponses(self)

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
        self, transport: Any = None
    ) -> tuple[httpx.AsyncClient, AsyncOwnTransport | None]:
        """Make our own AsyncClient and, unless proxies apply, its lean path.

        The queue before the pool is sized to the pool of a transport we made;
        another (a test's MockTransport) gets none.
        """
        stack = self._stack or httpx
        in_flight: int | None = None
        if transport is None:
            transport = make_transport(stack, asynchronous=True)
            in_flight = MAX_IN_FLIGHT
        client: httpx.AsyncClient = stack.AsyncClient(
            timeout=_timeout(stack, self._core.timeout),
            verify=True,
            follow_redirects=False,
            headers={"user-agent": user_agent(stack)},
            transport=transport,
        )
        if transport is None:  # environment proxies: httpx routes, send() only
            return client, None
        return client, AsyncOwnTransport(client, transport, stack, in_flight)

    def _use_transport(self, transport: Any) -> None:
        """Replace our own AsyncClient by one on ``transport`` (tests, benchmarks).

        It stays a client we made and close. Call it before any request: the
        AsyncClient it replaces is dropped without being closed.
        """
        if not self._owns_http:
            raise RuntimeError("only a client without http_client= owns its httpx")
        self._calls.http, self._calls.lean = self._own_http(transport)

    # -- internals (tests and benchmarks) ------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._calls.http

    @property
    def _sleep(self) -> Callable[[float], Any]:
        return self._calls.sleep

    @_sleep.setter
    def _sleep(self, sleep: Callable[[float], Any]) -> None:
        self._calls.sleep = sleep

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


def _concurrency(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            "max_concurrency must be a positive int (requests in flight) or None"
        )
    return value


def _timeout(stack: ModuleType, timeout: httpx.Timeout) -> Any:
    return timeout if stack is httpx else stack.Timeout(**timeout.as_dict())


class SyncCalls:
    """Runs calls for the sync resources: the attempt loop's sync driver.

    Args:
        core: the client's shared state.
        http: the ``httpx.Client`` (or httpx2) that sends.
    """

    def __init__(self, core: ClientCore, http: httpx.Client) -> None:
        self.core = core
        self.http = http
        self.sleep: Callable[[float], Any] = time.sleep
        self.clock: Callable[[], float] = time.monotonic
        self.gate: AbstractContextManager[Any] | None = None
        self.lean: OwnTransport | None = None

    def authorize(self, call: Call[Any]) -> None:
        """Check ``call``'s permission locally (and record it)."""
        self.core.authorize(call)

    def _run(self, call: Call[Any], *, stream: bool, limit: int | None) -> Result[Any]:
        build = self.http if self.lean is None else self.lean
        flow = attempts(self.core, call, build=build, stream=stream, limit=limit)
        result = run_sync(
            flow,
            http=self.http,
            core=self.core,
            sleep=self.sleep,
            gate=self.gate,
            lean=self.lean,
        )
        record(result.response, result.body)
        return result

    def request(self, call: Call[T]) -> T:
        """Run ``call``; return its parsed model (with the response's request id)."""
        result = self._run(call, stream=False, limit=self.core.max_response_bytes)
        parsed = parse_response(call, result.response, result.body or b"")
        return with_request_id(parsed, result.response)

    def download(self, call: Call[Any]) -> bytes:
        """Run ``call``; return the whole body (error bodies are capped)."""
        return self._run(call, stream=False, limit=None).body or b""

    def stream(self, call: Call[Any]) -> AbstractContextManager[Iterator[bytes]]:
        """Run ``call`` on entry; the body is read as the caller iterates."""
        return self._stream(call)

    @contextmanager
    def _stream(self, call: Call[Any]) -> Iterator[Iterator[bytes]]:
        response = self._run(call, stream=True, limit=None).response
        try:
            yield sync_chunks(response, call)
        finally:
            response.close()


class AsyncCalls:
    """Runs calls for the async resources: the attempt loop's async driver.

    Args:
        core: the client's shared state.
        http: the ``httpx.AsyncClient`` (or httpx2) that sends.
    """

    def __init__(self, core: ClientCore, http: httpx.AsyncClient) -> None:
        self.core = core
        self.http = http
        self.sleep: Callable[[float], Any] = anyio.sleep
        self.clock: Callable[[], float] = time.monotonic
        self.gate: AbstractAsyncContextManager[Any] | None = None
        self.lean: AsyncOwnTransport | None = None

    def authorize(self, call: Call[Any]) -> None:
        """Check ``call``'s permission locally (and record it)."""
        self.core.authorize(call)

    async def _run(
        self, call: Call[Any], *, stream: bool, limit: int | None
    ) -> Result[Any]:
        build = self.http if self.lean is None else self.lean
        flow = attempts(self.core, call, build=build, stream=stream, limit=limit)
        result = await run_async(
            flow,
            http=self.http,
            core=self.core,
            sleep=self.sleep,
            gate=self.gate,
            lean=self.lean,
        )
        record(result.response, result.body)
        return result

    async def request(self, call: Call[T]) -> T:
        """Run ``call``; return its parsed model (with the response's request id)."""
        result = await self._run(call, stream=False, limit=self.core.max_response_bytes)
        parsed = parse_response(call, result.response, result.body or b"")
        return with_request_id(parsed, result.response)

    async def download(self, call: Call[Any]) -> bytes:
        """Run ``call``; return the whole body (error bodies are capped)."""
        return (await self._run(call, stream=False, limit=None)).body or b""

    def stream(
        self, call: Call[Any]
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Run ``call`` on entry; the body is read as the caller iterates."""
        return self._stream(call)

    @asynccontextmanager
    async def _stream(self, call: Call[Any]) -> AsyncIterator[AsyncIterator[bytes]]:
        response = (await self._run(call, stream=True, limit=None)).response
        try:
            yield async_chunks(response, call)
        finally:
            await response.aclose()
