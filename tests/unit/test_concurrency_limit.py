"""max_concurrency=: bursts queue locally; at most N requests in flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, CUSTOMER

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import ConfigurationError


class Gauge:
    """Counts the requests a handler is serving at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.served = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1
            self.served += 1


def _ok() -> httpx.Response:
    return httpx.Response(200, json=CUSTOMER, headers={"x-request-id": "req_c"})


@pytest.mark.anyio
@pytest.mark.parametrize("limit", [5, None])
async def test_async_in_flight_bounded(
    rsa_key: rsa.RSAPrivateKey, limit: int | None
) -> None:
    gauge = Gauge()

    async def handler(request: httpx.Request) -> httpx.Response:
        gauge.enter()
        try:
            await anyio.sleep(0.01)
            return _ok()
        finally:
            gauge.leave()

    async with (
        AsyncNuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            max_concurrency=limit,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        ) as client,
        anyio.create_task_group() as tg,
    ):
        for _ in range(40):
            tg.start_soon(client.customers.retrieve, "cus_1")
    assert gauge.served == 40
    if limit is None:
        # Without a limit the burst overlaps at the server: the gauge can see it.
        assert gauge.peak > 5
    else:
        assert 2 <= gauge.peak <= limit


@pytest.mark.anyio
async def test_async_rate_limited_retry_still_backs_off(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    gauge = Gauge()
    answers = iter([429, 200, 200, 200])
    lock = threading.Lock()

    async def handler(request: httpx.Request) -> httpx.Response:
        gauge.enter()
        try:
            with lock:
                status = next(answers, 200)
            await anyio.sleep(0)
            if status == 429:
                return httpx.Response(
                    429,
                    json={
                        "error": {
                            "type": "rate_limit_error",
                            "code": "rate_limited",
                            "message": "slow",
                            "request_id": "r",
                            "details": {"retry_after": 2},
                        }
                    },
                    headers={"retry-after": "2", "x-request-id": "r"},
                )
            return _ok()
        finally:
            gauge.leave()

    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async with AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        max_concurrency=1,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    ) as client:
        client._sleep = sleep
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(client.customers.retrieve, "cus_1")
    assert sleeps == [2.0]  # §4.1: Retry-After honoured
    assert gauge.peak == 1
    assert gauge.served == 4


def test_sync_client_is_thread_safe_and_bounded(rsa_key: rsa.RSAPrivateKey) -> None:
    gauge = Gauge()

    def handler(request: httpx.Request) -> httpx.Response:
        gauge.enter()
        try:
            time.sleep(0.01)
            return _ok()
        finally:
            gauge.leave()

    with (
        NuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            max_concurrency=3,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ) as client,
        ThreadPoolExecutor(max_workers=12) as pool,
    ):
        results = list(
            pool.map(lambda _: client.customers.retrieve("cus_1"), range(36))
        )
    assert len(results) == 36
    assert gauge.served == 36
    assert gauge.peak == 3


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "5"])
def test_bad_max_concurrency_refused(rsa_key: rsa.RSAPrivateKey, value: Any) -> None:
    for cls in (NuveraClient, AsyncNuveraClient):
        with pytest.raises(ConfigurationError, match="max_concurrency"):
            cls(API_KEY, rsa_key, base_url=BASE, max_concurrency=value)
