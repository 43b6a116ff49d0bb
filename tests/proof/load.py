"""Load: N signed requests from the async client to a sandbox process over loopback.

The sandbox runs in its own process (``nuvera sandbox serve``) on a state file, so
client and server do not share a GIL. Every attempt's ``jti`` is recorded from the
request the client sends (an httpx event hook); all must be distinct, and every
call must succeed or fail with an explained error (none is expected).

    python -m proof.load --requests 100000 --concurrency 100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from nuvera_client import AsyncNuveraClient
from nuvera_client.errors import NuveraError
from nuvera_client.sandbox import Sandbox


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(
    port: int, proc: subprocess.Popen[bytes], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the sandbox process exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox did not start")


def run(requests: int = 1000, concurrency: int = 100) -> dict[str, Any]:
    """Send ``requests`` GETs (half asset lookups, half customer lists)."""
    with tempfile.TemporaryDirectory(prefix="nuvera-load-") as tmp:
        state = Path(tmp) / "state.sqlite3"
        with Sandbox(state) as sandbox:
            app = sandbox.create_application(
                name="load", permissions=["CRYPTO_READ", "CUSTOMERS_READ"]
            )
        assert app.private_key_pem is not None
        port = _free_port()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nuvera_client",
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--state",
                str(state),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _wait_listening(port, proc)
            client_result = asyncio.run(
                _drive(f"http://127.0.0.1:{port}", app, requests, concurrency)
            )
        finally:
            proc.terminate()
            proc.wait(30)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = (after.ru_utime - before.ru_utime) + (
            after.ru_stime - before.ru_stime
        )
        with Sandbox(state) as sandbox:
            view = sandbox.get_application(app.id)
            verified = sum(key.request_count for key in view.api_keys)
    seconds = client_result["seconds"]
    client_result.update(
        server_verified_requests=verified,
        server_cpu_seconds=round(server_cpu, 1),
        server_requests_per_cpu_second=round(verified / server_cpu, 1)
        if server_cpu
        else None,
        server_requests_per_second=round(verified / seconds, 1) if seconds else None,
    )
    return client_result


async def _drive(
    base_url: str, app: Any, total: int, concurrency: int
) -> dict[str, Any]:
    jtis: Counter[str] = Counter()

    async def record(request: httpx.Request) -> None:
        token = request.headers["authorization"].removeprefix("Bearer ")
        payload = token.split(".")[1]
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        jtis[claims["jti"]] += 1

    http = httpx.AsyncClient(
        event_hooks={"request": [record]},
        limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency
        ),
        timeout=60,
    )
    errors: Counter[str] = Counter()
    done = 0
    started = time.monotonic()
    cpu_started = time.process_time()
    async with (
        http,
        AsyncNuveraClient(
            app.api_key, app.private_key_pem, base_url=base_url, http_client=http
        ) as client,
    ):
        counter = iter(range(total))

        async def worker() -> None:
            nonlocal done
            for index in counter:
                try:
                    if index % 2:
                        await client.crypto.assets.retrieve("BTC")
                    else:
                        await client.customers.list(limit=1).first_page()
                    done += 1
                except NuveraError as exc:
                    errors[f"{type(exc).__name__}"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    return {
        "requests": total,
        "succeeded": done,
        "failed": sum(errors.values()),
        "errors": dict(errors),
        "attempts": sum(jtis.values()),
        "distinct_jti": len(jtis),
        "reused_jti": sum(n - 1 for n in jtis.values() if n > 1),
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "client_requests_per_second": round(total / seconds, 1),
        "client_cpu_seconds": round(time.process_time() - cpu_started, 1),
    }


def ok(result: dict[str, Any]) -> bool:
    """Issue 17, point 6: all jti distinct, no unexplained failure."""
    return (
        result["succeeded"] == result["requests"]
        and result["reused_jti"] == 0
        and result["distinct_jti"] == result["attempts"]
        and result["server_verified_requests"] >= result["requests"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args(argv)
    result = run(args.requests, args.concurrency)
    print(json.dumps(result, indent=2))
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
