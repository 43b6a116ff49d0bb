"""The signing pool behind NuveraAuth.async_auth_flow (issue 7)."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import anyio.to_thread
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

from nuvera_client import ApiKey, NuveraAuth
from nuvera_client._signing_pool import SigningPool, sign_off_loop

API_KEY = ApiKey.generate("test")
BASE = "http://127.0.0.1:8787"
ROOT = Path(__file__).resolve().parents[2]


def claims_of(request: httpx.Request) -> dict[str, Any]:
    payload = request.headers["authorization"].split(" ")[1].split(".")[1]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return dict(json.loads(decoded))


def verify(request: httpx.Request, key: rsa.RSAPrivateKey) -> None:
    token = request.headers["authorization"].split(" ")[1]
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    key.public_key().verify(
        raw, f"{head}.{payload}".encode(), padding.PKCS1v15(), SHA256()
    )


def signing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nuvera-signing-")]


class RemoteKey:
    """A SigningKey that is not in process memory (as AWS KMS is)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), SHA256())


async def post(http: httpx.AsyncClient, url: str) -> None:
    await http.post(url, content=b"{}")


@pytest.mark.anyio
async def test_plain_async_client_signs_in_the_pool(rsa_key: rsa.RSAPrivateKey) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    real = anyio.to_thread.run_sync
    with mock.patch("anyio.to_thread.run_sync", side_effect=real) as to_thread:
        async with (
            httpx.AsyncClient(
                transport=httpx.MockTransport(handler),
                auth=NuveraAuth(API_KEY, rsa_key),
            ) as http,
            anyio.create_task_group() as group,
        ):
            for index in range(200):
                group.start_soon(post, http, f"{BASE}/v1/x?i={index}")
    assert to_thread.call_count == 0  # the pool, not anyio's threads
    assert len(seen) == 200
    assert len({claims_of(r)["jti"] for r in seen}) == 200
    for request in seen[:5]:
        verify(request, rsa_key)
        assert claims_of(request)["uri"] == request.url.raw_path.decode()
    assert 1 <= len(signing_threads()) <= 4


def test_pool_serves_one_loop_after_another(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = NuveraAuth(API_KEY, rsa_key)

    async def one() -> str:
        flow = auth.async_auth_flow(httpx.Request("GET", BASE + "/v1/customers"))
        signed = await flow.__anext__()
        await flow.aclose()
        return str(claims_of(signed)["jti"])

    jtis = [asyncio.run(one()) for _ in range(3)]  # a new loop each time
    assert len(set(jtis)) == 3


def test_retried_attempts_get_new_jti(rsa_key: rsa.RSAPrivateKey) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(claims_of(request)["jti"]))
        body = {"object": "list", "data": [], "has_more": False}
        return httpx.Response(503 if len(seen) < 3 else 200, json=body)

    async def main() -> None:
        from nuvera_client._client import AsyncNuveraClient

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with (
            http,
            AsyncNuveraClient(
                API_KEY, rsa_key, base_url=BASE, http_client=http
            ) as client,
        ):
            client._sleep = lambda _: anyio.sleep(0)
            await client.crypto.assets.list().first_page()

    asyncio.run(main())
    assert len(seen) == 3
    assert len(set(seen)) == 3


def test_pool_is_bounded_and_errors_reach_the_caller() -> None:
    pool = SigningPool(2, batch=4)
    calls: list[str] = []

    def sign(index: int) -> str:
        calls.append(threading.current_thread().name)
        if index == 7:
            raise ValueError("boom")
        return f"token-{index}"

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        futures = [pool.submit(functools.partial(sign, i), loop) for i in range(50)]
        return await asyncio.gather(*futures, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        pool.shutdown()
    assert isinstance(results[7], ValueError)
    assert [r for i, r in enumerate(results) if i != 7] == [
        f"token-{i}" for i in range(50) if i != 7
    ]
    assert set(calls) <= {"nuvera-signing-0", "nuvera-signing-1"}


def test_cancelled_waiter_is_skipped() -> None:
    pool = SigningPool(1)
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def blocker() -> str:
        started.set()
        release.wait(5)
        return "first"

    def second() -> str:
        ran.append(2)
        return "second"

    async def main() -> str:
        loop = asyncio.get_running_loop()
        first = pool.submit(blocker, loop)
        await anyio.to_thread.run_sync(started.wait, 5)
        waiting = pool.submit(second, loop)
        waiting.cancel()
        release.set()
        return await first

    try:
        assert asyncio.run(main()) == "first"
    finally:
        pool.shutdown()
    assert ran == []


def test_shutdown_stops_the_threads_and_refuses_jobs() -> None:
    pool = SigningPool(2)

    async def main() -> str:
        return await pool.submit(lambda: "ok", asyncio.get_running_loop())

    assert asyncio.run(main()) == "ok"
    threads = list(pool._threads)
    assert len(threads) == 2
    pool.shutdown()
    assert not any(thread.is_alive() for thread in threads)

    async def after() -> None:
        pool.submit(lambda: "late", asyncio.get_running_loop())

    with pytest.raises(RuntimeError, match="shut down"):
        asyncio.run(after())


def test_child_after_fork_starts_afresh() -> None:
    pool = SigningPool(1)

    async def main() -> str:
        return await pool.submit(lambda: "ok", asyncio.get_running_loop())

    try:
        assert asyncio.run(main()) == "ok"
        old = pool._threads[0]
        pool.after_fork()  # what os.register_at_fork runs in the child
        assert asyncio.run(main()) == "ok"
        assert pool._threads[0] is not old
    finally:
        pool.shutdown()


@pytest.mark.anyio
async def test_remote_and_local_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    real = anyio.to_thread.run_sync
    with mock.patch("anyio.to_thread.run_sync", side_effect=real) as to_thread:
        remote = NuveraAuth(API_KEY, RemoteKey(rsa_key))
        flow = remote.async_auth_flow(httpx.Request("GET", BASE + "/v1/customers"))
        signed = await flow.__anext__()
        await flow.aclose()
        assert to_thread.call_count == 1  # network signing: anyio's threads
        verify(signed, rsa_key)
        assert await sign_off_loop(lambda: "local", local=True) == "local"
        assert to_thread.call_count == 1


def test_interpreter_exits_cleanly_after_async_signing() -> None:
    script = textwrap.dedent(
        """
        import asyncio, threading, httpx
        from nuvera_client import ApiKey, NuveraAuth, keys

        async def main():
            auth = NuveraAuth(ApiKey.generate("test"), keys.generate_private_key(2048))
            async with httpx.AsyncClient(
                transport=httpx.MockTransport(lambda r: httpx.Response(204)),
                auth=auth,
            ) as http:
                await asyncio.gather(
                    *(http.get("http://127.0.0.1:1/v1/x") for _ in range(20))
                )

        asyncio.run(main())
        print(sum(t.name.startswith("nuvera-signing") for t in threading.enumerate()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 1  # the pool ran, and exit did not hang
    assert done.stderr == ""
