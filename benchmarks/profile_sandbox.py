"""Where a verified sandbox request's CPU goes: the ASGI apps called directly.

No HTTP, no sockets: a bare Starlette endpoint and the sandbox (request log
included) are called with the same scope, one request after another on one event
loop, and the CPU per request of each is printed. ``--profile`` adds cProfile's
table for the sandbox; ``--cold`` builds and parses an httpx request and response
between requests, as the client of ``bench_sandbox.py`` does, so caches are as cold
as they are there. ``--state FILE`` puts the sandbox on a state file.

    python benchmarks/profile_sandbox.py [--requests 3000] [--profile] [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import json
import pstats
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]
# The endpoint and tokens of bench_sandbox.py (kept in step with it).
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


def scope_for(api_key: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
            (b"user-agent", b"python-httpx"),
            (b"x-api-key", api_key.encode()),
            (b"authorization", b"Bearer " + token.encode()),
        ],
    }


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Message) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise SystemExit(f"unexpected status {message['status']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cold", action="store_true")
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
        name="profile", permissions=["CRYPTO_READ"], public_key_pem=pem
    )
    n = args.requests
    tokens = mint_pool(key, app.kid, 3 * n + 200)
    bare_app = Starlette(routes=[Route(PATH, bare)])
    client = httpx.Client()
    sample = httpx.Response(
        200, headers={"content-type": "application/json"}, content=b'{"data": []}'
    )

    def cool_down() -> None:
        request = client.build_request(
            "GET",
            "http://127.0.0.1:8000" + PATH,
            headers={"x-api-key": app.api_key, "authorization": "Bearer " + tokens[0]},
        )
        sample.json()
        del request

    async def run(target: App, count: int) -> float:
        """Return the median CPU of one call of ``target`` (seconds)."""
        samples = []
        for _ in range(count):
            if args.cold:
                cool_down()
            scope = scope_for(app.api_key, tokens.pop())
            started = time.thread_time()
            await target(scope, receive, send)
            samples.append(time.thread_time() - started)
            await asyncio.sleep(0)  # let timers (usage, log batches) run
        return statistics.median(samples)

    async def measure() -> None:
        await run(sandbox.app, 50)
        await run(bare_app, 50)
        bare_cpu = await run(bare_app, n)
        verified_cpu = await run(sandbox.app, n)
        print(f"app-only CPU per request (median of {n}, no HTTP):")
        print(f"  bare Starlette endpoint : {bare_cpu * 1e6:6.0f} us")
        print(f"  verified sandbox request: {verified_cpu * 1e6:6.0f} us")
        print(f"  difference              : {(verified_cpu - bare_cpu) * 1e6:6.0f} us")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await run(sandbox.app, n)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)

    asyncio.run(measure())
    client.close()
    sandbox.close()


if __name__ == "__main__":
    main()
