"""Caching, scheduled refresh and single-flight refresh of credential providers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import ApiKey, keys
from nuvera_client._credential_cache import KeyCache, SingleFlight
from nuvera_client.credentials import (
    CachingCredentialProvider,
    ChainCredentials,
    Credentials,
    CredentialSourceError,
)
from nuvera_client.errors import ConfigurationError


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def pem() -> str:
    return keys.private_key_pem(keys.generate_private_key(2048))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingProvider(CachingCredentialProvider):
    """Counts fetches; each fetch returns a new API key; optionally slow or failing."""

    def __init__(
        self,
        pem: str,
        *,
        delay: float = 0.0,
        refresh_interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.pem = pem
        self.delay = delay
        self.fetches = 0
        self.attempts = 0
        self.fail = False
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        with self._count_lock:
            self.attempts += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if self.fail:
                raise CredentialSourceError("store unavailable")
            with self._count_lock:
                self.fetches += 1
            return Credentials(ApiKey.generate(), self.pem)
        finally:
            with self._count_lock:
                self.in_flight -= 1


def run_threads(count: int, target: Callable[[], object]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    return results


def test_get_fetches_once(pem: str) -> None:
    provider = CountingProvider(pem)
    first = provider.get()
    for _ in range(50):
        assert provider.get() is first
    assert provider.fetches == 1
    assert provider.generation == 1


def test_sixteen_threads_first_get_fetch_once(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.05)
    results = run_threads(16, provider.get)
    assert provider.fetches == 1
    assert len({id(r) for r in results}) == 1


def test_sixteen_threads_refresh_at_once_fetch_once(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.2)
    before = provider.get()
    results = run_threads(16, provider.refresh)
    assert provider.fetches == 2  # the first get, then exactly one refresh
    assert provider.max_in_flight == 1
    assert len({id(r) for r in results}) == 1
    assert results[0] is not before
    assert provider.generation == 2


def test_refresh_with_generation_is_exact_even_for_late_callers(pem: str) -> None:
    provider = CountingProvider(pem)
    provider.get()
    seen = provider.generation
    # No delay at all: late callers arrive after the refresh finished, yet all of
    # them saw the same stale generation, so one fetch serves them all.
    results = run_threads(16, lambda: provider.refresh(seen))
    assert provider.fetches == 2
    assert len({id(r) for r in results}) == 1
    # A new signal, about the new generation, fetches again: exactly once.
    provider.refresh(provider.generation)
    assert provider.fetches == 3


def test_sequential_refreshes_each_fetch(pem: str) -> None:
    provider = CountingProvider(pem)
    keys_seen = {ApiKey.parse(provider.refresh().api_key).reveal() for _ in range(3)}
    assert len(keys_seen) == 3
    assert provider.fetches == 3


def test_refresh_interval_expiry_fetches_again(pem: str) -> None:
    clock = FakeClock()
    provider = CountingProvider(pem, refresh_interval=60, clock=clock)
    first = provider.get()
    clock.now += 59.9
    assert provider.get() is first
    clock.now += 0.2
    second = provider.get()
    assert second is not first
    assert provider.fetches == 2
    clock.now += 30
    assert provider.get() is second


def test_scheduled_refresh_serves_the_current_value_meanwhile(pem: str) -> None:
    clock = FakeClock()
    provider = CountingProvider(pem, refresh_interval=10, clock=clock)
    first = provider.get()
    clock.now += 11
    provider.delay = 0.3
    # One thread refreshes; the others do not wait for it.
    started = time.monotonic()
    results = run_threads(8, provider.get)
    assert provider.fetches == 2
    assert provider.max_in_flight == 1
    # Had the others waited for the lock, every one would hold the new value.
    assert sum(r is first for r in results) >= 1
    assert time.monotonic() - started < 2.0


def test_failed_scheduled_refresh_keeps_credentials_and_retries_later(
    pem: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    provider = CountingProvider(pem, refresh_interval=100, clock=clock)
    first = provider.get()
    clock.now += 101
    provider.fail = True
    with caplog.at_level(logging.WARNING, logger="nuvera_client"):
        assert provider.get() is first
    assert "store unavailable" in caplog.text
    provider.fail = False
    assert provider.get() is first  # not retried at once (no hammering)
    clock.now += 11
    assert provider.get() is not first
    assert provider.fetches == 2


def test_failed_refresh_raises_and_keeps_generation(pem: str) -> None:
    provider = CountingProvider(pem)
    first = provider.get()
    provider.fail = True
    with pytest.raises(CredentialSourceError):
        provider.refresh()
    assert provider.generation == 1
    assert provider.get() is first


def test_first_get_failure_raises(pem: str) -> None:
    provider = CountingProvider(pem)
    provider.fail = True
    with pytest.raises(CredentialSourceError):
        provider.get()
    provider.fail = False
    assert provider.get()


def test_refresh_interval_must_be_positive(pem: str) -> None:
    with pytest.raises(ConfigurationError, match="refresh_interval"):
        CountingProvider(pem, refresh_interval=0)


@pytest.mark.anyio
async def test_sixteen_tasks_refresh_at_once_fetch_once(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.2)
    await provider.aget()
    results: list[Credentials] = []

    async def task() -> None:
        results.append(await provider.arefresh())

    async with anyio.create_task_group() as group:
        for _ in range(16):
            group.start_soon(task)
    assert provider.fetches == 2
    assert len({id(r) for r in results}) == 1


@pytest.mark.anyio
async def test_aget_does_not_block_the_loop_while_fetching(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(100):
            ticks += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await provider.aget()
        group.cancel_scope.cancel()
    assert ticks >= 10  # the loop kept running during the 0.3 s fetch
    # Cached now: no thread needed.
    assert await provider.aget() is provider.get()


@pytest.mark.anyio
async def test_threads_and_tasks_share_one_refresh(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.3)
    seen = (await provider.aget(), provider.generation)[1]
    thread_results: list[Credentials] = []
    threads = [
        threading.Thread(target=lambda: thread_results.append(provider.refresh(seen)))
        for _ in range(8)
    ]
    task_results: list[Credentials] = []

    async def task() -> None:
        task_results.append(await provider.arefresh(seen))

    for thread in threads:
        thread.start()
    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(task)
    for thread in threads:
        thread.join(timeout=10)
    assert provider.fetches == 2
    assert len({id(r) for r in thread_results + task_results}) == 1


@pytest.mark.anyio
async def test_chain_async_methods(pem: str) -> None:
    inner = CountingProvider(pem)
    chain = ChainCredentials([inner])
    first = await chain.aget()
    assert await chain.aget() is first
    assert await chain.arefresh() is not first
    assert inner.fetches == 2


def test_single_flight_generic_counts_generations() -> None:
    values = iter(range(100))
    flight: SingleFlight[int] = SingleFlight(lambda: next(values))
    assert flight.generation == 0
    assert flight.entry is None
    assert flight.get() == 0
    assert flight.refresh() == 1
    assert flight.refresh(0) == 1  # stale generation: already refreshed
    assert flight.generation == 2


def test_key_cache_parses_each_key_once_under_concurrency() -> None:
    cache = KeyCache()
    key = keys.generate_private_key(2048)
    pem = keys.private_key_pem(key)
    results = run_threads(16, lambda: cache.load(pem, None))
    assert cache.parses == 1
    assert len({id(r) for r in results}) == 1
    assert cache.load(pem.encode("ascii"), None) is results[0]
    assert cache.load(key, None) is key  # already parsed: passed through
    assert cache.parses == 1


def test_key_cache_is_bounded() -> None:
    cache = KeyCache(maxsize=2)
    pems = [keys.private_key_pem(keys.generate_private_key(2048)) for _ in range(3)]
    for item in pems:
        cache.load(item, None)
    cache.load(pems[2], None)
    assert cache.parses == 3
    cache.load(pems[0], None)  # evicted: parsed again
    assert cache.parses == 4
    cache.clear()
    cache.load(pems[0], None)
    assert cache.parses == 5


def test_key_cache_passes_signing_keys_through() -> None:
    inner = keys.generate_private_key(2048)

    class Hsm:
        def public_key(self) -> rsa.RSAPublicKey:
            return inner.public_key()

        def sign(self, data: bytes) -> bytes:
            raise AssertionError("not called")

    hsm = Hsm()
    cache = KeyCache()
    assert cache.load(hsm, None) is hsm
    assert cache.parses == 0


def test_needs_fetch_follows_cache_and_interval(pem: str) -> None:
    clock = FakeClock()
    provider = CountingProvider(pem, refresh_interval=5, clock=clock)
    chain = ChainCredentials([provider])
    assert provider.needs_fetch()
    assert chain.needs_fetch()  # nothing chosen yet
    chain.get()
    assert not provider.needs_fetch()
    assert not chain.needs_fetch()
    clock.now += 6
    assert provider.needs_fetch()
    assert chain.needs_fetch()
    provider.get()
    assert not chain.needs_fetch()
    assert provider.fetches == 2


def run_threads_expecting_errors(count: int, target: Callable[[], object]) -> int:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=10)
        try:
            target()
        except CredentialSourceError as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return len(errors)


def test_a_failed_refresh_is_shared_not_repeated_by_each_waiter(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.2)
    first = provider.get()
    provider.fail = True
    assert run_threads_expecting_errors(16, provider.refresh) == 16
    assert provider.attempts == 2  # the first get, then one failed refresh
    # A later call tries the source again, and succeeds once it is back.
    provider.fail = False
    assert provider.refresh() is not first
    assert provider.attempts == 3


def test_a_failed_first_get_is_shared(pem: str) -> None:
    provider = CountingProvider(pem, delay=0.2)
    provider.fail = True
    assert run_threads_expecting_errors(16, provider.get) == 16
    assert provider.attempts == 1
    provider.fail = False
    assert provider.get()
    assert provider.attempts == 2
