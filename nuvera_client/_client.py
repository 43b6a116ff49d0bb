"""Owns NuveraClient / AsyncNuveraClient: attempt loops, resources, credentials."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import queue
import re
import tempfile
import threading
import time
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
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
from typing import IO, Any, TypeAlias, TypeVar

import anyio
import anyio.to_thread
import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import USER_AGENT, NuveraAuth, _drop_empty_query
from nuvera_client._base_client import (
    NuveraDeprecationWarning,
    PreparedFile,
    api_error,
    build_request,
    connection_error,
    lifecycle_notice,
    new_idempotency_key,
    new_multipart_boundary,
    parse_response,
)
from nuvera_client._body import abody_hash
from nuvera_client._config import DEFAULT_TIMEOUT, ClientConfig
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._resource import Call, FilePart
from nuvera_client._retry import (
    DEFAULT_MAX_RETRIES,
    Action,
    Decision,
    RetryPolicy,
    RetryState,
)
from nuvera_client._signer import DEFAULT_TTL, SigningKey
from nuvera_client.credentials import CredentialProvider, Credentials
from nuvera_client.errors import ConfigurationError, PermissionNotGrantedError
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

logger = logging.getLogger("nuvera_client")

T = TypeVar("T")

RECORD_PERMISSIONS_ENV = "NUVERA_RECORD_PERMISSIONS_FILE"
"""When set, every newly used permission is appended (one name a line) to that file."""

CredentialSource: TypeAlias = CredentialProvider | Callable[[], Credentials]
"""A credential provider, or a zero-argument callable returning Credentials."""

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_MAX_ATTEMPTS = 64  # a hard bound on any attempt loop, far above every budget
_CHUNK = 64 * 1024
_SPOOL_MEMORY = 1024 * 1024


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


class _SigningPool:
    """A few signing threads that wake an asyncio loop once per batch, not per token.

    ``anyio.to_thread.run_sync`` costs one loop wake-up and thread hand-off per call,
    which is as much as an RSA-2048 signature; under load, batching lets signing
    (which releases the GIL) run on the other cores while the loop keeps serving.
    Each token still gets its own fresh ``jti``: only the wake-ups are shared.
    """

    _BATCH = 32

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue[
            tuple[Callable[[], str], asyncio.Future[str], asyncio.AbstractEventLoop]
        ] = queue.SimpleQueue()
        self._workers = workers
        self._started = False
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            for index in range(self._workers):
                threading.Thread(
                    target=self._work, name=f"nuvera-signing-{index}", daemon=True
                ).start()
            self._started = True

    def _work(self) -> None:
        while True:  # daemon thread: lives as long as the process
            batch = [self._queue.get()]
            while len(batch) < self._BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_loop: dict[
                asyncio.AbstractEventLoop,
                list[tuple[asyncio.Future[str], str | None, BaseException | None]],
            ] = {}
            for sign, future, loop in batch:
                try:
                    result: tuple[str | None, BaseException | None] = (sign(), None)
                except BaseException as exc:  # handed to the awaiting task
                    result = (None, exc)
                by_loop.setdefault(loop, []).append((future, *result))
            for loop, done in by_loop.items():
                with contextlib.suppress(RuntimeError):  # the loop already closed
                    loop.call_soon_threadsafe(_settle, done)

    async def run(self, sign: Callable[[], str]) -> str:
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._queue.put((sign, future, loop))
        return await future


def _settle(
    done: list[tuple[asyncio.Future[str], str | None, BaseException | None]],
) -> None:
    for future, token, exc in done:
        if future.cancelled():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(str(token))


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_SIGNING_POOL = _SigningPool(max(2, min(4, os.cpu_count() or 2)))


class _ClientAuth(NuveraAuth):
    """NuveraAuth whose async signing goes through the batched pool on asyncio.

    TODO(issue 7): fold this pool into NuveraAuth itself (owner: _auth.py).
    """

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Sign ``request``; RSA runs in the shared signing threads."""
        if not _on_asyncio():  # trio: anyio's worker threads, as NuveraAuth does
            flow = super().async_auth_flow(request)
            try:
                yield await flow.__anext__()
            finally:
                await flow.aclose()
            return
        _drop_empty_query(request)
        digest = await abody_hash(request)
        credentials = self._credentials
        sign = functools.partial(
            credentials.signer.sign,
            request.method,
            request.url.raw_path.decode("ascii"),
            body_hash=digest,
        )
        token = await _SIGNING_POOL.run(sign)
        self._apply(request, credentials, token)
        yield request


class _ClientCore:
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
        # Caching providers (they expose ``generation``) are asked before every
        # call: cheap until their refresh_interval passes, then they fetch.
        self._poll = credentials is not None and hasattr(credentials, "generation")
        if credentials is not None:
            if api_key is not None or private_key is not None:
                raise ConfigurationError(
                    "pass either credentials= or api_key=/private_key=, not both"
                )
            creds = _ask(credentials, refresh=False)
            self._current = creds
            api_key, private_key = creds.api_key, creds.private_key
            passphrase = creds.passphrase
        config = ClientConfig.resolve(
            api_key=api_key,
            private_key=private_key,
            passphrase=passphrase,
            base_url=base_url,
            environment=environment,
        )
        assert config.api_key is not None  # noqa: S101 - resolve() guarantees it
        self.auth: NuveraAuth = _ClientAuth(
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
        logger.debug(
            "%s %s -> %s request_id=%s attempt=%d",
            call.method,
            call.path,
            response.status_code,
            response.headers.get("x-request-id"),
            attempt,
        )
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

    def log_failure(self, call: Call[Any], exc: Exception, attempt: int) -> None:
        logger.debug(
            "%s %s -> %s attempt=%d",
            call.method,
            call.path,
            type(exc).__name__,
            attempt,
        )

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
            self.rotate(creds.api_key, creds.private_key, creds.passphrase)
            self._current = creds

    def poll(self) -> None:
        """Ask a caching provider for its current credentials (sync clients)."""
        if self._poll and self.provider is not None:
            self.adopt(_ask(self.provider, refresh=False))

    async def apoll(self) -> None:
        """Like :meth:`poll`; a provider fetch runs in a worker thread."""
        if not (self._poll and self.provider is not None):
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


def _prepare_files(parts: Sequence[FilePart], stack: ExitStack) -> list[PreparedFile]:
    """Open paths, and spool one-shot streams so that every retry can resend them."""
    prepared: list[PreparedFile] = []
    for part in parts:
        source = part.source
        body: IO[bytes] | bytes
        if isinstance(source, (str, os.PathLike)):
            body = stack.enter_context(open(source, "rb"))  # noqa: SIM115
        elif isinstance(source, (bytes, bytearray, memoryview)):
            body = bytes(source)
        elif _seekable(source):
            body = source
        else:
            spool = stack.enter_context(
                tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
            )
            for _ in range(1 << 40):
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                spool.write(chunk)
            spool.seek(0)
            body = spool
        prepared.append(
            (
                part.name,
                (part.resolved_filename(), body, part.resolved_content_type()),
            )
        )
    return prepared


def _seekable(obj: Any) -> bool:
    try:
        return bool(obj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


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
        self._core = _ClientCore(
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
        core.poll()
        key = core.idempotency_key(call)
        boundary = new_multipart_boundary() if call.multipart else None
        state = RetryState()
        with ExitStack() as stack:
            files = _prepare_files(call.files, stack)
            for attempt in range(1, _MAX_ATTEMPTS + 1):
                generation = core.generation
                request = core.request(self._http, call, key, files, boundary)
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
                    core.log_failure(call, exc, attempt)
                    decision = core.decide(call, state, key, generation, error=exc)
                    if decision.action is Action.DONE:
                        raise connection_error(exc, call) from exc
                else:
                    core.observe(call, response, attempt)
                    if response.is_success:
                        return response
                    decision = core.decide(
                        call, state, key, generation, response=response
                    )
                    if decision.action is Action.DONE:
                        raise api_error(response)
                state.record(decision)
                core.apply(decision)
                if decision.action is Action.REFRESH:
                    core.refresh(generation)
                elif decision.action is Action.RETRY:
                    self._sleep(decision.delay)
        raise RuntimeError(f"{call.endpoint}: gave up after {_MAX_ATTEMPTS} attempts")

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
            yield _sync_chunks(response, call)
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


def _sync_chunks(response: httpx.Response, call: Call[Any]) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(_CHUNK)
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc


async def _async_chunks(
    response: httpx.Response, call: Call[Any]
) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(_CHUNK):
            yield chunk
    except httpx.HTTPError as exc:
        raise connection_error(exc, call) from exc


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
        self._core = _ClientCore(
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
        self._http = http_client or httpx.AsyncClient(
            timeout=self._core.timeout,
            verify=True,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
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

    # -- attempt loop --------------------------------------------------------------

    def _authorize(self, call: Call[Any]) -> None:
        self._core.authorize(call)

    async def _execute(self, call: Call[Any], *, stream: bool) -> httpx.Response:
        core = self._core
        core.authorize(call)
        await core.apoll()
        key = core.idempotency_key(call)
        boundary = new_multipart_boundary() if call.multipart else None
        state = RetryState()
        with ExitStack() as stack:
            files: list[PreparedFile] = []
            if call.files:
                # Opening and spooling block: keep them off the event loop.
                files = await anyio.to_thread.run_sync(
                    _prepare_files, call.files, stack
                )
            for attempt in range(1, _MAX_ATTEMPTS + 1):
                generation = core.generation
                request = core.request(self._http, call, key, files, boundary)
                response: httpx.Response | None = None
                try:
                    response = await self._http.send(
                        request, auth=core.auth, stream=True
                    )
                    if not (stream and response.is_success):
                        try:
                            await response.aread()
                        finally:
                            await response.aclose()
                except httpx.HTTPError as exc:
                    # Transport errors may be retried; others (a body that fails
                    # to decode, too many redirects) are final. None escapes raw.
                    core.log_failure(call, exc, attempt)
                    decision = core.decide(call, state, key, generation, error=exc)
                    if decision.action is Action.DONE:
                        raise connection_error(exc, call) from exc
                else:
                    core.observe(call, response, attempt)
                    if response.is_success:
                        return response
                    decision = core.decide(
                        call, state, key, generation, response=response
                    )
                    if decision.action is Action.DONE:
                        raise api_error(response)
                state.record(decision)
                core.apply(decision)
                if decision.action is Action.REFRESH:
                    await anyio.to_thread.run_sync(core.refresh, generation)
                elif decision.action is Action.RETRY:
                    await self._sleep(decision.delay)
        raise RuntimeError(f"{call.endpoint}: gave up after {_MAX_ATTEMPTS} attempts")

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
            yield _async_chunks(response, call)
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
