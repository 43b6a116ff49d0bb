"""Client overhead and async concurrency benchmarks (issue 7).

1. CPU per request through ``httpx.MockTransport``: ``NuveraClient`` against a plain
   ``httpx.Client`` that signs each request by hand (the signing floor).
   Target: ratio <= 1.25.
2. ``AsyncNuveraClient`` running 2,000 concurrent requests: every ``jti`` distinct,
   throughput >= 1.7x the single-core signing floor, judged on the median of three
   trials, each against a floor measured just before it. Signing runs in worker
   threads, and ``cryptography`` releases the GIL while it signs. The default client (no
   ``http_client=``) is measured: its plain calls skip ``httpx.AsyncClient.send``.
   The same run through a user's ``http_client=`` (``send()``) is shown for scale.

Run: ``.venv/bin/python benchmarks/bench_client.py [--requests N] [--bits 3072]``.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import gc
import json
import statistics
import sys
import time
from typing import Any

import anyio
import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import USER_AGENT
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._signer import EMPTY_BODY_HASH, RequestSigner
from nuvera_client._signing_pool import sign_off_loop
from nuvera_client.models import Customer

BASE = "http://127.0.0.1:8787"
TRIALS = 3
TS = "2026-11-27T21:53:40Z"
CUSTOMER: dict[str, Any] = {
    "id": "cus_1",
    "object": "customer",
    "type": "individual",
    "name": "Ada",
    "email": "ada@example.com",
    "phone": None,
    "country": None,
    "external_id": None,
    "status": "active",
    "kyc_status": "not_started",
    "metadata": {},
    "created_at": TS,
    "updated_at": TS,
}
BODY = json.dumps(CUSTOMER).encode()


HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


def handler(request: httpx.Request) -> httpx.Response:
    # Made as httpx's own transports make a response: status, raw headers and a
    # body stream that the client reads (content= would hand it over pre-read).
    return httpx.Response(200, headers=HEADERS, stream=httpx.ByteStream(BODY))


def jti_of(authorization: str) -> str:
    payload = authorization.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def cpu_per_request(n: int, key: Any, api_key: ApiKey) -> tuple[float, float]:
    """Return (client CPU s/request, plain httpx + signing CPU s/request)."""
    signer = RequestSigner(key)
    plain = httpx.Client(transport=httpx.MockTransport(handler), base_url=BASE)
    client = NuveraClient(
        api_key,
        key,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    for _ in range(50):  # warm up both paths
        client.customers.retrieve("cus_1")
        plain.get("/v1/customers/cus_1")

    def run_plain() -> float:
        start = time.process_time()
        for _ in range(n):
            token = signer.sign("GET", "/v1/customers/cus_1", body_hash=EMPTY_BODY_HASH)
            response = plain.get(
                "/v1/customers/cus_1",
                headers={
                    "x-api-key": api_key.reveal(),
                    "authorization": f"Bearer {token}",
                    "user-agent": USER_AGENT,
                },
            )
            response.json()
        return (time.process_time() - start) / n

    def run_client() -> float:
        start = time.process_time()
        for _ in range(n):
            client.customers.retrieve("cus_1")
        return (time.process_time() - start) / n

    # Interleave and keep the best of three, so that noise hurts neither side.
    ours, floor = [], []
    for _ in range(3):
        floor.append(run_plain())
        ours.append(run_client())
    plain.close()
    client._http.close()
    return min(ours), min(floor)


def signing_floor(n: int, key: Any) -> tuple[float, float]:
    """Return single-thread signatures per second (the floor) and CPU s/signature."""
    signer = RequestSigner(key)
    for _ in range(20):
        signer.sign("GET", "/v1/customers/cus_1")
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(n):
        signer.sign("GET", "/v1/customers/cus_1", body_hash=EMPTY_BODY_HASH)
    return n / (time.perf_counter() - start), (time.thread_time() - cpu) / n


LAST_CPU: dict[str, float] = {}
"""CPU seconds per request of the last async run: event-loop thread and process."""


async def async_throughput(
    n: int, key: Any, api_key: ApiKey, *, user_http: bool = False
) -> tuple[float, int]:
    """Return (requests per second, distinct jti count) for n concurrent requests.

    ``user_http``: pass an ``http_client=`` (the ``send()`` path) instead.
    """
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        # Only keep the header here: decoding the token is the server's work, not
        # the client's, so it is done after the clock stops.
        seen.append(request.headers["authorization"])
        return handler(request)

    # The default client (no http_client=), as most partners run it: it makes its
    # own httpx.AsyncClient, and plain calls take the fast path past its send().
    # Only the transport is swapped for the mock (a private seam for benchmarks).
    async with contextlib.AsyncExitStack() as stack:
        if user_http:
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.MockTransport(record))
            )
            client = AsyncNuveraClient(api_key, key, base_url=BASE, http_client=http)
        else:
            client = AsyncNuveraClient(api_key, key, base_url=BASE)
            client._use_transport(httpx.MockTransport(record))
        await stack.enter_async_context(client)
        for _ in range(20):
            await client.customers.retrieve("cus_1")
        seen.clear()
        start = time.perf_counter()
        loop_cpu, process_cpu = time.thread_time(), time.process_time()
        # 2,000 concurrent calls the way asyncio code usually makes them.
        await asyncio.gather(*(client.customers.retrieve("cus_1") for _ in range(n)))
        elapsed = time.perf_counter() - start
        LAST_CPU["loop"] = (time.thread_time() - loop_cpu) / n
        LAST_CPU["process"] = (time.process_time() - process_cpu) / n
    assert len(seen) == n, f"{len(seen)} requests seen, expected {n}"
    return n / elapsed, len({jti_of(header) for header in seen})


async def minimal_throughput(n: int, key: Any, api_key: ApiKey) -> float:
    """Return requests per second of a hand-written minimal client, the reference.

    The same calls with nothing but the essentials: sign in the same pool, build
    the request, call the transport, read the body, parse the model. No retries,
    permission checks, idempotency, logging or error mapping: the most any client
    of this design could reach here, for reading the client's ratio on any machine.
    """
    signer = RequestSigner(key)
    transport = httpx.MockTransport(handler)
    url = httpx.URL(f"{BASE}/v1/customers/cus_1")
    fixed = [(b"Host", url.netloc), (b"x-api-key", api_key.reveal().encode())]
    sign = functools.partial(
        signer.sign, "GET", "/v1/customers/cus_1", body_hash=EMPTY_BODY_HASH
    )

    async def one() -> Customer:
        token = await sign_off_loop(sign, local=True)
        bearer = (b"authorization", b"Bearer " + token.encode())
        request = httpx.Request("GET", url, headers=[*fixed, bearer])
        response = await transport.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        body = b"".join([chunk async for chunk in response.stream])
        return Customer.from_dict(json.loads(body))

    for _ in range(20):
        await one()
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return n / (time.perf_counter() - start)


async def plain_async_loop_cpu(n: int, api_key: ApiKey, token: str) -> float:
    """Return event-loop CPU s/request of plain ``httpx.AsyncClient``, no signing.

    The same 2,000 concurrent GETs through the same transport, with a token made
    beforehand: the loop time any client built on httpx pays before its own.
    """
    headers = {
        "x-api-key": api_key.reveal(),
        "authorization": f"Bearer {token}",
        "user-agent": USER_AGENT,
    }
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        base_url=BASE,
        limits=httpx.Limits(max_connections=None),
    ) as http:

        async def one() -> None:
            response = await http.get("/v1/customers/cus_1", headers=headers)
            response.json()

        for _ in range(20):
            await one()
        loop_cpu = time.thread_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return (time.thread_time() - loop_cpu) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    # 3072 bits: the size keys.generate_private_key() and `nuvera keys generate`
    # make; 4096 bits: the largest Nuvera accepts. Each is judged on its own floor.
    parser.add_argument(
        "--bits", type=int, nargs="+", default=[3072, 4096], choices=(2048, 3072, 4096)
    )
    args = parser.parse_args()
    verdicts = [(bits, run(bits, args.requests)) for bits in args.bits]
    print()
    for bits, ok in verdicts:
        print(f"RSA-{bits}: {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for _, ok in verdicts) else 1


def run(bits: int, requests: int) -> bool:
    """Measure one key size; return whether both targets are met."""
    args = argparse.Namespace(bits=bits, requests=requests)
    key = keys.generate_private_key(args.bits)
    api_key = ApiKey.generate("test")

    ours, floor = cpu_per_request(min(args.requests, 1000), key, api_key)
    ratio = ours / floor
    print(f"RSA-{args.bits}")
    print(
        f"sync CPU/request: NuveraClient {ours * 1e6:.0f} us, "
        f"httpx + signing floor {floor * 1e6:.0f} us, ratio {ratio:.3f} (<= 1.25)"
    )
    # Three trials, each paired with a floor measured just before it, judged on
    # the median ratio: one trial swings by a few percent with the machine's other
    # load and with where the garbage collector happens to run. Each side starts
    # from a collected heap, as the other does.
    trials: list[tuple[float, float, int]] = []
    for _ in range(TRIALS):
        gc.collect()
        single, sign_cpu = signing_floor(args.requests, key)
        gc.collect()
        rate, distinct = anyio.run(async_throughput, args.requests, key, api_key)
        trials.append((rate / single, rate, distinct))
        print(
            f"async {args.requests} concurrent: {rate:.0f} req/s, signing floor "
            f"{single:.0f} sig/s (1 core), ratio {rate / single:.2f}, "
            f"distinct jti {distinct}/{args.requests}"
        )
    speedup = statistics.median(ratio for ratio, _, _ in trials)
    distinct = min(count for _, _, count in trials)
    print(
        f"async throughput / single-core signing floor, median of {TRIALS}: "
        f"{speedup:.2f} (>= 1.7)"
    )
    # What an idle 2-core machine allows, from CPU time (robust to other load):
    # the loop thread must do its share serially; everything else spreads on 2 cores.
    loop, process = LAST_CPU["loop"], LAST_CPU["process"]
    projected = min(1 / loop, 2 / process) * sign_cpu
    print(
        f"async CPU/request: event loop {loop * 1e6:.0f} us, process "
        f"{process * 1e6:.0f} us, signing {sign_cpu * 1e6:.0f} us; projected 2-core "
        f"ratio {projected:.2f}"
    )
    gc.collect()
    single, _ = signing_floor(args.requests, key)
    gc.collect()
    minimal = anyio.run(minimal_throughput, args.requests, key, api_key) / single
    print(
        f"reference: a hand-written minimal client (same pool, no retries or checks) "
        f"reaches {minimal:.2f} in this run; ours is {speedup / minimal:.0%} of it"
    )
    # The ceiling of any httpx-based client: plain httpx's loop time plus signing,
    # where only the signing (GIL released) can use the second core.
    token = RequestSigner(key).sign(
        "GET", "/v1/customers/cus_1", body_hash=EMPTY_BODY_HASH
    )
    httpx_loop = anyio.run(plain_async_loop_cpu, args.requests, api_key, token)
    ceiling = min(1 / httpx_loop, 2 / (httpx_loop + sign_cpu)) * sign_cpu
    print(
        f"plain httpx.AsyncClient (no signing): event loop {httpx_loop * 1e6:.0f} "
        f"us/request; ours adds {(loop - httpx_loop) * 1e6:.0f} us; 2-core ceiling "
        f"of an httpx-based client {ceiling:.2f}"
    )
    send_path = functools.partial(async_throughput, user_http=True)
    anyio.run(send_path, args.requests, key, api_key)
    print(
        f"same run through http_client= (AsyncClient.send): event loop "
        f"{LAST_CPU['loop'] * 1e6:.0f} us/request (not a target)"
    )
    ok = ratio <= 1.25 and speedup >= 1.7 and distinct == args.requests
    print("PASS" if ok else "FAIL")
    return ok


if __name__ == "__main__":
    sys.exit(main())
