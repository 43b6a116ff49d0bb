"""payments.wait(): polls with capped backoff, honours Retry-After, times out typed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, PAYMENT, Script, Server

from nuvera_client import NuveraError
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import InvalidArgumentError, WaitTimeoutError
from nuvera_client.models import Payment, PaymentStatus
from nuvera_client.resources.payments import MAX_POLL_INTERVAL


def status(value: str) -> httpx.Response:
    return httpx.Response(
        200, json={**PAYMENT, "status": value}, headers={"x-request-id": "req_w"}
    )


def limited(retry_after: int) -> httpx.Response:
    return httpx.Response(
        429,
        json={
            "error": {
                "type": "rate_limit_error",
                "code": "rate_limited",
                "message": "slow down",
                "request_id": "req_429",
                "details": {"retry_after": retry_after},
            }
        },
        headers={"retry-after": str(retry_after), "x-request-id": "req_429"},
    )


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay

    async def asleep(self, delay: float) -> None:
        self.sleep(delay)


@pytest.fixture
def make_client(
    rsa_key: rsa.RSAPrivateKey,
) -> Iterator[Callable[..., tuple[NuveraClient, Server, FakeTime]]]:
    made: list[NuveraClient] = []

    def make(*script: Script, **kwargs: Any) -> tuple[NuveraClient, Server, FakeTime]:
        server = Server(*script)
        client = NuveraClient(
            API_KEY,
            rsa_key,
            base_url=BASE,
            http_client=httpx.Client(transport=httpx.MockTransport(server)),
            **kwargs,
        )
        fake = FakeTime()
        client._sleep = fake.sleep
        client._calls.clock = fake.clock
        made.append(client)
        return client, server, fake

    yield make
    for client in made:
        client._http.close()


def test_waits_for_a_final_status_with_growing_pauses(make_client: Any) -> None:
    client, server, fake = make_client(
        status("created"),
        status("processing"),
        status("processing"),
        status("processing"),
        status("completed"),
    )
    payment = client.payments.wait("pay_1", poll_interval=2)
    assert payment.status is PaymentStatus.COMPLETED
    assert payment.request_id == "req_w"
    assert len(server.requests) == 5
    assert fake.sleeps == [2.0, 3.0, 4.5, 6.75]


def test_pauses_are_capped(make_client: Any) -> None:
    client, _, fake = make_client(*[status("processing")] * 20, status("failed"))
    client.payments.wait("pay_1", timeout=3600)
    assert max(fake.sleeps) == MAX_POLL_INTERVAL
    assert fake.sleeps[-1] == MAX_POLL_INTERVAL


def test_custom_until_and_early_final_status(make_client: Any) -> None:
    client, _, _ = make_client(status("created"), status("processing"))
    got = client.payments.wait("pay_1", until={"processing"})
    assert got.status is PaymentStatus.PROCESSING
    client, server, _ = make_client(status("created"), status("canceled"))
    got = client.payments.wait("pay_1", until=[PaymentStatus.COMPLETED])
    assert got.status is PaymentStatus.CANCELED  # it can never complete now
    assert len(server.requests) == 2


def test_timeout_raises_typed_error_with_the_last_payment(make_client: Any) -> None:
    client, server, fake = make_client(status("processing"))
    with pytest.raises(WaitTimeoutError) as info:
        client.payments.wait("pay_1", timeout=10, poll_interval=4)
    err = info.value
    assert isinstance(err, NuveraError)
    assert isinstance(err, TimeoutError)
    assert isinstance(err.last, Payment)
    assert err.last.status is PaymentStatus.PROCESSING
    assert err.until == frozenset({"completed", "failed", "canceled"})
    assert err.waited == pytest.approx(10)
    assert "still processing" in str(err)
    # Never sleeps past the deadline, and polls once more at it.
    assert fake.sleeps == [4.0, 6.0]
    assert len(server.requests) == 3


def test_retry_after_honoured_when_retries_run_out(make_client: Any) -> None:
    client, server, fake = make_client(limited(7), status("completed"), max_retries=0)
    payment = client.payments.wait("pay_1", poll_interval=1)
    assert payment.status is PaymentStatus.COMPLETED
    assert fake.sleeps == [7.0]
    assert len(server.requests) == 2


def test_bad_arguments_refused(make_client: Any) -> None:
    client, server, _ = make_client(status("completed"))
    bad: list[dict[str, Any]] = [
        {"timeout": 0},
        {"timeout": float("inf")},
        {"poll_interval": -1},
        {"until": []},
    ]
    for kwargs in bad:
        with pytest.raises(InvalidArgumentError):
            client.payments.wait("pay_1", **kwargs)
    assert server.requests == []


@pytest.mark.anyio
async def test_async_wait(rsa_key: rsa.RSAPrivateKey) -> None:
    server = Server(status("created"), status("processing"), status("completed"))
    fake = FakeTime()
    async with AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    ) as client:
        client._sleep = fake.asleep
        client._calls.clock = fake.clock
        payment = await client.payments.wait("pay_1", until="completed")
        assert payment.status is PaymentStatus.COMPLETED
        assert fake.sleeps == [1.0, 1.5]
        server.script = [status("processing")]
        with pytest.raises(WaitTimeoutError):
            await client.payments.wait("pay_1", timeout=2)
