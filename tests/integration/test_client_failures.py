"""The failures a payments integration fears, against the sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.credentials import Credentials
from nuvera_client.errors import AuthenticationError, PermissionDeniedError
from nuvera_client.sandbox import Sandbox

IBAN = "DE89370400440532013000"
LOCAL = "http://127.0.0.1:8787"
App = Any  # the integration conftest's App: id, api_key, kid, private_key


class DropAfterPayment(httpx.BaseTransport):
    """Lets the sandbox process the first payment, then drops the connection."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.dropped = 0
        self.payment_posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/payments":
            self.payment_posts += 1
            if self.dropped == 0:
                response.read()
                response.close()
                self.dropped += 1
                raise httpx.ReadError("connection reset after the server processed it")
        return response


class AsyncDropAfterPayment(httpx.AsyncBaseTransport):
    """The async twin of :class:`DropAfterPayment`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.dropped = 0
        self.payment_posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/v1/payments":
            self.payment_posts += 1
            if self.dropped == 0:
                await response.aread()
                await response.aclose()
                self.dropped += 1
                raise httpx.ReadError("connection reset after the server processed it")
        return response


def _setup(client: NuveraClient) -> tuple[str, str]:
    customer = client.customers.create(type="individual", name="A", email="a@x.com")
    bank = client.beneficiaries.create(
        customer_id=customer.id,
        type="bank_account",
        name="EUR",
        currency="EUR",
        bank_account={"iban": IBAN},
    )
    return customer.id, bank.id


def test_connection_drop_after_payment_yields_one_payment(
    sandbox: Sandbox, app: App
) -> None:
    transport = DropAfterPayment(sandbox.transport())
    http = httpx.Client(transport=transport)
    with (
        http,
        NuveraClient(
            app.api_key, app.private_key, base_url=LOCAL, http_client=http
        ) as client,
    ):
        client._sleep = lambda _: None
        customer_id, bank_id = _setup(client)
        payment = client.payments.create(
            customer_id=customer_id,
            beneficiary_id=bank_id,
            amount="99.99",
            currency="EUR",
        )
        assert transport.dropped == 1
        assert transport.payment_posts == 2
        stored = list(client.payments.list())
    assert [p.id for p in stored] == [payment.id]


@pytest.mark.anyio
async def test_async_connection_drop_after_payment_yields_one_payment(
    sandbox: Sandbox, app: App
) -> None:
    with NuveraClient(
        app.api_key,
        app.private_key,
        base_url=LOCAL,
        http_client=httpx.Client(transport=sandbox.transport()),
    ) as setup:
        customer_id, bank_id = _setup(setup)
    transport = AsyncDropAfterPayment(sandbox.async_transport())
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncNuveraClient(
            app.api_key, app.private_key, base_url=LOCAL, http_client=http
        ) as client,
    ):
        payment = await client.payments.create(
            customer_id=customer_id,
            beneficiary_id=bank_id,
            amount="99.99",
            currency="EUR",
            max_retries=1,
        )
        assert transport.dropped == 1
        stored = [p.id async for p in client.payments.list()]
    assert stored == [payment.id]


@pytest.mark.parametrize("shift", [300, -300])
def test_clock_skew_corrected(
    sandbox: Sandbox, client: NuveraClient, shift: int
) -> None:
    sandbox.clock_offset = shift
    customer = client.customers.create(type="individual", name="A", email="s@x.com")
    assert client.auth.clock_offset == pytest.approx(shift, abs=3)
    # The learned offset is kept: later calls succeed at once.
    assert client.customers.retrieve(customer.id).id == customer.id


@pytest.mark.anyio
@pytest.mark.parametrize("shift", [300, -300])
async def test_async_clock_skew_corrected(
    sandbox: Sandbox, async_client: AsyncNuveraClient, shift: int
) -> None:
    sandbox.clock_offset = shift
    assert (await async_client.crypto.assets.retrieve("BTC")).code == "BTC"
    assert async_client.auth.clock_offset == pytest.approx(shift, abs=3)


def test_server_permission_denied(sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey) -> None:
    created = sandbox.create_application(
        name="ro",
        permissions=["CRYPTO_READ"],
        public_key_pem=keys.public_key_pem(rsa_key),
    )
    http = httpx.Client(transport=sandbox.transport())
    with (
        http,
        NuveraClient(
            created.api_key, rsa_key, base_url=LOCAL, http_client=http
        ) as client,
    ):
        with pytest.raises(PermissionDeniedError) as info:
            client.customers.list().first_page()
        assert info.value.required_permission == "CUSTOMERS_READ"


def _hammer(
    call: Callable[[], object], stop: threading.Event, failures: list[BaseException]
) -> Callable[[], None]:
    counts = [0]

    def run() -> None:
        for _ in range(100_000):
            if stop.is_set():
                return
            try:
                call()
                counts[0] += 1
            except BaseException as exc:
                failures.append(exc)

    run.counts = counts  # type: ignore[attr-defined]
    return run


def _run_threads(
    call: Callable[[], object], rotate: Callable[[], None]
) -> tuple[list[BaseException], int]:
    stop = threading.Event()
    failures: list[BaseException] = []
    workers = [_hammer(call, stop, failures) for _ in range(8)]
    threads = [threading.Thread(target=w) for w in workers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        rotate()
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    done = sum(w.counts[0] for w in workers)  # type: ignore[attr-defined]
    return failures, done


def test_rotation_under_load_with_rotate_credentials(
    sandbox: Sandbox, app: App, rsa_keys: dict[int, rsa.RSAPrivateKey]
) -> None:
    new_key = rsa_keys[3072]
    with (
        sandbox.serve() as server,
        NuveraClient(app.api_key, app.private_key, base_url=server.base_url) as client,
    ):

        def rotate() -> None:
            # Signing key: upload the new one, switch, then remove the old one.
            sandbox.add_signing_key(app.id, keys.public_key_pem(new_key))
            time.sleep(0.2)
            client.rotate_credentials(private_key=new_key)
            sandbox.remove_signing_key(app.id, app.kid)
            time.sleep(0.3)
            # API key: rotate (old in its grace period), switch, revoke the old.
            rotated = sandbox.rotate_api_key(app.id)
            time.sleep(0.2)
            client.rotate_credentials(api_key=rotated.api_key)
            sandbox.revoke_api_key(app.id, ApiKey.parse(app.api_key).prefix)

        failures, done = _run_threads(
            lambda: client.crypto.assets.retrieve("BTC"), rotate
        )
        assert failures == []
        assert done > 50
        assert client.auth.kid == keys.kid_of(new_key)


def test_rotation_under_load_with_credential_provider(
    sandbox: Sandbox, app: App, rsa_keys: dict[int, rsa.RSAPrivateKey]
) -> None:
    """The secret store changes; the client learns of it from refusals only."""
    store = {"current": Credentials(app.api_key, app.private_key)}
    refreshes: list[float] = []

    class SecretStore:
        def get(self) -> Credentials:
            return store["current"]

        def refresh(self) -> Credentials:
            refreshes.append(time.monotonic())
            return store["current"]

    new_key = rsa_keys[4096]
    http = httpx.Client(transport=sandbox.transport())
    with (
        http,
        NuveraClient(
            base_url=LOCAL, http_client=http, credentials=SecretStore()
        ) as client,
    ):

        def rotate() -> None:
            sandbox.add_signing_key(app.id, keys.public_key_pem(new_key))
            store["current"] = Credentials(app.api_key, new_key)
            sandbox.remove_signing_key(app.id, app.kid)  # -> unknown_signing_key
            time.sleep(0.3)
            rotated = sandbox.rotate_api_key(app.id)
            assert rotated.api_key is not None
            store["current"] = Credentials(rotated.api_key, new_key)
            sandbox.revoke_api_key(app.id, ApiKey.parse(app.api_key).prefix)

        failures, done = _run_threads(
            lambda: client.customers.list(limit=1).first_page(), rotate
        )
    assert failures == []
    assert done > 20
    # One refresh per rotation signal, not one per thread.
    assert 1 <= len(refreshes) <= 2


def test_revoked_key_without_rotation_fails_clearly(sandbox: Sandbox, app: App) -> None:
    http = httpx.Client(transport=sandbox.transport())
    with (
        http,
        NuveraClient(
            app.api_key, app.private_key, base_url=LOCAL, http_client=http
        ) as client,
    ):
        sandbox.rotate_api_key(app.id)
        sandbox.revoke_api_key(app.id, ApiKey.parse(app.api_key).prefix)
        with pytest.raises(AuthenticationError) as info:
            client.crypto.assets.retrieve("BTC")
    assert info.value.code == "api_key_revoked"
    assert app.api_key not in str(info.value)
