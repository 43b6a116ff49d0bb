"""Verified requests/s on loopback, next to a bare Starlette endpoint (the ratio).

Both servers run uvicorn in a thread on 127.0.0.1. Two loads: one client sending
sequential requests over a keep-alive connection, and 8 concurrent connections
(asyncio tasks of one httpx.AsyncClient). Bare and verified runs alternate in short
rounds and the median of the per-round ratios is reported, so a busy machine skews
both sides alike.
Tokens for the verified runs are signed beforehand, so the number measures the
server's verification (API key lookup, JWS parse, RS256 verify, replay store write,
usage count), not client-side signing.

    python benchmarks/bench_sandbox.py [--seconds 2.5] [--state FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext
from nuvera_client.sandbox._server import serve_in_thread

PATH = "/v1/crypto/networks"


async def ping(ctx: RequestContext) -> Reply:
    return Reply(200, {"data": [], "has_more": False, "next_cursor": None})


async def bare(request: Request) -> JSONResponse:
    return JSONResponse({"data": [], "has_more": False, "next_cursor": None})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_pool(key: rsa.RSAPrivateKey, kid: str, count: int) -> list[str]:
    head = b64(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    now = int(time.time())
    tokens = []
    for _ in range(count):
        claims = {
            "aud": "nuvera-rest-api",
            "body_hash": hashlib.sha256(b"").hexdigest(),
            "exp": now + 60,
            "iat": now,
            "iss": "nuvera-api",
            "jti": secrets.token_hex(16),
            "method": "GET",
            "uri": PATH,
        }
        signing_input = f"{head}.{b64(json.dumps(claims).encode())}"
        sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        tokens.append(f"{signing_input}.{b64(sig)}")
    return tokens


CONCURRENCY = 8
# Process CPU seconds per request of each sequential measurement, in order: client
# and server share this process, so on a busy machine this is steadier than req/s.
CPU_PER_REQUEST: list[float] = []


def measure(seconds: float, send: Callable[[int], httpx.Response], limit: int) -> float:
    for i in range(20):  # warm up the connection and caches
        send(i).raise_for_status()
    done = 0
    start = time.perf_counter()
    cpu = time.process_time()
    deadline = start + seconds
    while time.perf_counter() < deadline and done < limit:
        response = send(20 + done)
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")
        done += 1
    CPU_PER_REQUEST.append((time.process_time() - cpu) / max(done, 1))
    return done / (time.perf_counter() - start)


def measure_concurrent(
    seconds: float, base_url: str, headers_of: Callable[[int], dict[str, str]]
) -> float:
    """Requests/s with CONCURRENCY connections kept busy for ``seconds``."""

    async def run() -> float:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
            counter = iter(range(10**9))
            for _ in range(CONCURRENCY):  # open the connections
                (
                    await client.get(PATH, headers=headers_of(next(counter)))
                ).raise_for_status()
            done = 0
            start = time.perf_counter()
            deadline = start + seconds

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    response = await client.get(PATH, headers=headers_of(next(counter)))
                    if response.status_code != 200:
                        raise SystemExit(f"unexpected {response.status_code}")
                    done += 1

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return done / (time.perf_counter() - start)

    return asyncio.run(run())


@contextmanager
def bare_server() -> Iterator[str]:
    bare_app = Starlette(routes=[Route(PATH, bare)])
    holder = Sandbox(endpoints=[])  # serve_in_thread wants a Sandbox; swap its app
    holder.app = bare_app  # type: ignore[assignment]
    try:
        with serve_in_thread(holder, "127.0.0.1", 0) as server:
            yield server.base_url
    finally:
        holder.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--state", help="a SQLite state file (default: in memory)")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    sandbox = Sandbox(
        state=args.state, endpoints=[Endpoint("GET", PATH, "CRYPTO_READ", ping)]
    )
    app = sandbox.create_application(
        name="bench", permissions=["CRYPTO_READ"], public_key_pem=pem
    )
    # Tokens live 60 s at most: each verified round gets a fresh batch, minted just
    # before it (not timed), sized from the bare rate just measured.
    pool: list[str] = []

    def refill(bare_rate: float) -> None:
        pool[:] = mint_pool(key, app.kid, int(bare_rate * slot * 1.3) + 60)

    def verified_headers(_: int) -> dict[str, str]:
        token = pool.pop() if pool else mint_pool(key, app.kid, 1)[0]
        return {"x-api-key": app.api_key, "authorization": f"Bearer {token}"}

    # The bare endpoint gets the same headers (a token it never looks at), so both
    # sides move the same bytes and only verification differs.
    same_bytes = {
        "x-api-key": app.api_key,
        "authorization": f"Bearer {mint_pool(key, app.kid, 1)[0]}",
    }

    # Short alternating rounds: a neighbour's CPU burst hits both sides alike.
    rounds = max(3, int(args.seconds * 4))
    slot = args.seconds / rounds * 2
    sequential: list[tuple[float, float]] = []
    concurrent: list[tuple[float, float]] = []
    with (
        bare_server() as bare_url,
        sandbox.serve() as server,
        httpx.Client(base_url=bare_url) as bare_client,
        httpx.Client(base_url=server.base_url) as client,
    ):
        for _ in range(rounds):
            bare_rate = measure(
                slot, lambda i: bare_client.get(PATH, headers=same_bytes), 10**9
            )
            refill(bare_rate)
            verified_rate = measure(
                slot, lambda i: client.get(PATH, headers=verified_headers(i)), 10**9
            )
            sequential.append((bare_rate, verified_rate))
        cpu_pairs = list(
            zip(CPU_PER_REQUEST[0::2], CPU_PER_REQUEST[1::2], strict=False)
        )
        for _ in range(rounds):
            bare_rate = measure_concurrent(slot, bare_url, lambda i: same_bytes)
            refill(bare_rate)
            verified_rate = measure_concurrent(slot, server.base_url, verified_headers)
            concurrent.append((bare_rate, verified_rate))
    sandbox.close()

    for label, runs in (
        ("1 sequential client", sequential),
        (f"{CONCURRENCY} concurrent connections", concurrent),
    ):
        ratios = sorted(verified / bare for bare, verified in runs)
        bare_total = sum(bare for bare, _ in runs) / len(runs)
        verified_total = sum(verified for _, verified in runs) / len(runs)
        print(f"{label} ({len(runs)} alternating rounds of {slot:.2f} s):")
        print(f"  bare Starlette endpoint : {bare_total:8.0f} req/s (mean)")
        print(f"  verified sandbox request: {verified_total:8.0f} req/s (mean)")
        print(
            f"  ratio verified/bare     : {statistics.median(ratios):8.2f} (median;"
            f" quartiles {ratios[len(ratios) // 4]:.2f}-"
            f"{ratios[(3 * len(ratios)) // 4]:.2f})"
        )

    bare_cpu = statistics.median(bare for bare, _ in cpu_pairs)
    verified_cpu = statistics.median(verified for _, verified in cpu_pairs)
    print("CPU per sequential request (client and server, one process):")
    print(f"  bare {bare_cpu * 1e6:.0f} us, verified {verified_cpu * 1e6:.0f} us;")
    print(f"  ratio bare/verified     : {bare_cpu / verified_cpu:8.2f} (medians)")


if __name__ == "__main__":
    main()
