"""Load: N signed requests from the async client to a sandbox process over loopback.

The sandbox runs in its own process (:mod:`proof.load_server`) on a state file, so
client and server do not share a GIL; it counts every ``jti`` it receives, so the
client runs unhooked on its own fast path. All ``jti`` must be distinct, and every
call must succeed or fail with an explained error (none is expected).

    python -m proof.load --requests 100000 --concurrency 20 --stack httpx2

The client builds its connection pool with httpx2 where it is installed (Python
3.11+; ``http_stack="httpx2"``), else httpx: measured on the reference machine,
httpx2 with 20 tasks sends about twice as many requests per client CPU second as
httpx with 100 (``docs/proof.md``). The application's key is the sandbox's
generated RSA-2048 pair (the protocol's minimum size; signing is the client's
largest single cost, and 3072 bits costs about three times as much).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

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


def default_stack() -> str:
    """Return ``"httpx2"`` where it imports (faster here), else ``"httpx"``."""
    try:
        import httpx2  # noqa: F401
    except ImportError:
        return "httpx"
    return "httpx2"


def run(
    requests: int = 1000, concurrency: int = 20, stack: str = "httpx"
) -> dict[str, Any]:
    """Send ``requests`` GETs (half asset lookups, half customer lists)."""
    with tempfile.TemporaryDirectory(prefix="nuvera-load-") as tmp:
        state = Path(tmp) / "state.sqlite3"
        with Sandbox(state) as sandbox:
            app = sandbox.create_application(
                name="load", permissions=["CRYPTO_READ", "CUSTOMERS_READ"]
            )
        assert app.private_key_pem is not None
        port = _free_port()
        counts = Path(tmp) / "server.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "proof.load_server",
                "--state",
                str(state),
                "--port",
                str(port),
                "--out",
                str(counts),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        try:
            _wait_listening(port, proc)
            client_result = asyncio.run(
                _drive(f"http://127.0.0.1:{port}", app, requests, concurrency, stack)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        server = json.loads(counts.read_text(encoding="utf-8"))
        with Sandbox(state) as sandbox:
            view = sandbox.get_application(app.id)
            verified = sum(key.request_count for key in view.api_keys)
    key = load_pem_private_key(app.private_key_pem.encode(), password=None)
    seconds = client_result["seconds"]
    cpu = server["cpu_seconds"]
    client_result.update(
        signing_key_bits=getattr(key, "key_size", None),
        server_requests=server["requests"],
        server_verified_requests=verified,
        attempts=server["attempts_with_token"],
        distinct_jti=server["distinct_jti"],
        reused_jti=server["reused_jti"],
        server_cpu_seconds=cpu,
        server_requests_per_cpu_second=round(verified / cpu, 1) if cpu else None,
        server_requests_per_second=round(verified / seconds, 1) if seconds else None,
    )
    return client_result


async def _drive(
    base_url: str, app: Any, total: int, concurrency: int, stack: str
) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    done = 0
    started = time.monotonic()
    cpu_started = time.process_time()
    # The client's own connection pool and fast path, as a service would run it.
    async with AsyncNuveraClient(
        app.api_key, app.private_key_pem, base_url=base_url, http_stack=stack
    ) as client:
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
        "concurrency": concurrency,
        "http_stack": stack,
        "seconds": round(seconds, 1),
        "client_requests_per_second": round(total / seconds, 1),
        "client_cpu_seconds": round(time.process_time() - cpu_started, 1),
    }


def ok(result: dict[str, Any]) -> bool:
    """Issue 17, point 6: all jti distinct, no unexplained failure."""
    return bool(
        result["succeeded"] == result["requests"]
        and result["reused_jti"] == 0
        and result["distinct_jti"] == result["attempts"]
        and result["server_verified_requests"] >= result["requests"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--stack", choices=("httpx", "httpx2"), default=default_stack())
    args = parser.parse_args(argv)
    result = run(args.requests, args.concurrency, args.stack)
    print(json.dumps(result, indent=2))
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
