"""Verified requests/s on loopback, next to a bare Starlette endpoint (the ratio).

Both servers run uvicorn in a thread on 127.0.0.1; one client sends sequential
requests over a keep-alive connection for a bounded time. Tokens for the verified
run are signed beforehand, so the number measures the server's verification
(API key lookup, JWS parse, RS256 verify, replay store write, usage update),
not client-side signing.

    python benchmarks/bench_sandbox.py [--seconds 2.5]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._routing import Endpoint, Reply, RequestContext
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


def measure(seconds: float, send: Callable[[int], httpx.Response], limit: int) -> float:
    for i in range(20):  # warm up the connection and caches
        send(i).raise_for_status()
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline and done < limit:
        response = send(20 + done)
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")
        done += 1
    return done / (time.perf_counter() - start)


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
    # Enough tokens for a fast server; signing them is not part of the timing.
    pool = mint_pool(key, app.kid, int(2000 * args.seconds))

    bare_app = Starlette(routes=[Route(PATH, bare)])
    holder = Sandbox(endpoints=[])  # serve_in_thread wants a Sandbox; swap its app
    holder.app = bare_app  # type: ignore[assignment]
    with (
        serve_in_thread(holder, "127.0.0.1", 0) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        bare_rate = measure(args.seconds, lambda i: client.get(PATH), 10**9)
    holder.close()

    with sandbox.serve() as server, httpx.Client(base_url=server.base_url) as client:

        def send(i: int) -> httpx.Response:
            return client.get(
                PATH,
                headers={
                    "x-api-key": app.api_key,
                    "authorization": f"Bearer {pool[i]}",
                },
            )

        verified_rate = measure(args.seconds, send, len(pool) - 20)
    sandbox.close()

    print(f"bare Starlette endpoint : {bare_rate:8.0f} req/s")
    print(f"verified sandbox request: {verified_rate:8.0f} req/s")
    print(f"ratio verified/bare     : {verified_rate / bare_rate:8.2f}")


if __name__ == "__main__":
    main()
