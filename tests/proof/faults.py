"""Faults under concurrency: each payment call ends in one payment or a clear error.

A fault-injecting transport wraps httpx's own (public ``BaseTransport`` API) and, per
attempt, may: reset the connection before sending; send, let the server act, then
drop the response (reset after send, or a timeout past the deadline); or answer a
502/503/429 burst itself, with or without ``Retry-After``. Eight threads (sync
client) and 100 asyncio tasks (async client) create payments through it while the
sandbox is restarted on the same state file in the middle of the run.

    python -m proof.faults --calls 400
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nuvera_client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import NuveraError
from nuvera_client.sandbox import PERMISSIONS, Sandbox

FAULTS = (
    "none",
    "reset_before_send",
    "reset_after_send",
    "timeout_after_send",
    "burst_502",
    "burst_503_retry_after",
    "burst_429_retry_after",
    "burst_503",
)
# The server answers in milliseconds; a read deadline of 0.1 ms always passes first.
SLOW_TIMEOUT = {"connect": 5.0, "read": 0.0001, "write": 5.0, "pool": 5.0}
# Half the attempts go through untouched, the rest share the faults.
WEIGHTS = (7, 1, 1, 1, 1, 1, 1, 1)


@dataclass
class Ledger:
    """What the transports saw: every attempt's jti, every fault injected."""

    jtis: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(17))

    def note(self, event: str) -> None:
        with self.lock:
            self.faults[event] += 1

    def attempt(self, request: httpx.Request) -> str:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        payload = token.split(".")[1] if token.count(".") == 2 else ""
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        with self.lock:
            self.jtis[claims["jti"]] += 1
            fault = self.rng.choices(FAULTS, WEIGHTS)[0]
            self.faults[fault] += 1
        return fault


def _synthetic(fault: str, request: httpx.Request) -> httpx.Response:
    status = int(fault.split("_")[1])
    headers = {"content-type": "application/json"}
    if fault.endswith("retry_after"):
        headers["retry-after"] = "0"
    body = {
        "error": {
            "type": "api_error",
            "code": "unavailable",
            "message": "injected",
            "request_id": "req_fault",
            "details": {},
        }
    }
    if status == 429:
        body["error"].update(type="rate_limit_error", code="rate_limited")
    return httpx.Response(status, json=body, headers=headers, request=request)


class FaultyTransport(httpx.BaseTransport):
    """Sync transport injecting :data:`FAULTS` in front of a real one."""

    def __init__(self, inner: httpx.BaseTransport, ledger: Ledger) -> None:
        self.inner = inner
        self.ledger = ledger

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.ledger.attempt(request)
        if fault == "reset_before_send":
            raise httpx.ConnectError("injected: reset before send", request=request)
        if fault.startswith("burst_"):
            return _synthetic(fault, request)
        if fault == "timeout_after_send":
            # A real read timeout: the server gets the request and acts, the
            # client stops waiting for the answer (httpx's "timeout" extension).
            request.extensions["timeout"] = SLOW_TIMEOUT
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            self.ledger.note("read_timeouts_observed")
            raise
        if fault == "reset_after_send":
            response.read()
            response.close()
            raise httpx.RemoteProtocolError(
                "injected: reset after send", request=request
            )
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncFaultyTransport(httpx.AsyncBaseTransport):
    """Async twin of :class:`FaultyTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, ledger: Ledger) -> None:
        self.inner = inner
        self.ledger = ledger

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.ledger.attempt(request)
        if fault == "reset_before_send":
            raise httpx.ConnectError("injected: reset before send", request=request)
        if fault.startswith("burst_"):
            return _synthetic(fault, request)
        if fault == "timeout_after_send":
            request.extensions["timeout"] = SLOW_TIMEOUT
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TimeoutException:
            self.ledger.note("read_timeouts_observed")
            raise
        if fault == "reset_after_send":
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "injected: reset after send", request=request
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Outcome:
    reference: str
    key: str
    payment_id: str | None = None
    error: str | None = None


class _Server:
    """A sandbox served on a fixed loopback port, restartable on its state file."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = 0
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.start()

    def start(self) -> None:
        ready = threading.Event()
        self._stop = threading.Event()
        stop = self._stop

        def serve() -> None:
            with (
                Sandbox(self.state) as sandbox,
                sandbox.serve(port=self.port) as server,
            ):
                self.port = server.port
                self.sandbox = sandbox
                ready.set()
                stop.wait()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("sandbox did not start")

    def stop(self) -> None:
        assert self._stop is not None
        assert self._thread is not None
        self._stop.set()
        self._thread.join(20)

    def restart(self) -> float:
        started = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - started

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def run(calls: int = 200, tasks: int = 100, threads: int = 8) -> dict[str, Any]:
    """Run ``calls`` sync payment calls on ``threads`` threads, then as many async."""
    with tempfile.TemporaryDirectory(prefix="nuvera-faults-") as tmp:
        state = Path(tmp) / "state.sqlite3"
        with Sandbox(state) as sandbox:
            app = sandbox.create_application(
                name="faults", permissions=list(PERMISSIONS)
            )
        assert app.private_key_pem is not None
        server = _Server(state)
        try:
            from proof.operations import seed

            ids = seed(server.base_url, app.api_key, app.private_key_pem)
            ledger = Ledger()
            outcomes: list[Outcome] = []
            lock = threading.Lock()
            restart_at = calls // 2
            restarted = threading.Event()
            snapshot: dict[str, Any] = {}
            restart_seconds = 0.0

            def body(reference: str) -> dict[str, Any]:
                return {
                    "customer_id": ids["cus"],
                    "beneficiary_id": ids["ben"],
                    "amount": "3.00",
                    "currency": "EUR",
                    "reference": reference,
                }

            def sync_client(http: httpx.Client) -> NuveraClient:
                return NuveraClient(
                    app.api_key,
                    app.private_key_pem,
                    base_url=server.base_url,
                    max_retries=6,
                    http_client=http,
                )

            def one_sync(index: int) -> None:
                nonlocal restart_seconds
                reference = f"sync-{index}"
                key = "faults-" + secrets.token_hex(12)
                outcome = Outcome(reference, key)
                try:
                    http = httpx.Client(
                        transport=FaultyTransport(httpx.HTTPTransport(), ledger),
                        timeout=10,
                    )
                    # A client given http_client= leaves closing it to its owner.
                    with http, sync_client(http) as client:
                        payment = client.payments.create(
                            **body(reference), idempotency_key=key
                        )
                    outcome.payment_id = payment.id
                except NuveraError as exc:
                    outcome.error = f"{type(exc).__name__}: {exc}"
                with lock:
                    outcomes.append(outcome)
                    done = len(outcomes)
                if done == restart_at and not restarted.is_set():
                    restarted.set()
                    snapshot.update(_snapshot(server.sandbox, outcomes))
                    restart_seconds = server.restart()

            started = time.monotonic()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one_sync, range(calls)))
            sync_seconds = time.monotonic() - started

            async def async_phase() -> None:
                http = httpx.AsyncClient(
                    transport=AsyncFaultyTransport(httpx.AsyncHTTPTransport(), ledger),
                    timeout=10,
                    limits=httpx.Limits(max_connections=tasks),
                )
                async with (
                    http,
                    AsyncNuveraClient(
                        app.api_key,
                        app.private_key_pem,
                        base_url=server.base_url,
                        max_retries=6,
                        http_client=http,
                    ) as client,
                ):
                    queue: asyncio.Queue[int] = asyncio.Queue()
                    for index in range(calls):
                        queue.put_nowait(index)

                    async def worker() -> None:
                        while not queue.empty():
                            index = queue.get_nowait()
                            reference = f"async-{index}"
                            key = "faults-" + secrets.token_hex(12)
                            outcome = Outcome(reference, key)
                            try:
                                payment = await client.payments.create(
                                    **body(reference), idempotency_key=key
                                )
                                outcome.payment_id = payment.id
                            except NuveraError as exc:
                                outcome.error = f"{type(exc).__name__}: {exc}"
                            outcomes.append(outcome)

                    await asyncio.gather(*(worker() for _ in range(tasks)))

            started = time.monotonic()
            asyncio.run(async_phase())
            async_seconds = time.monotonic() - started
            result = _verify(server, app, outcomes, ledger, snapshot, ids)
            result.update(
                calls=len(outcomes),
                threads=threads,
                async_tasks=tasks,
                sync_seconds=round(sync_seconds, 1),
                async_seconds=round(async_seconds, 1),
                restart_seconds=round(restart_seconds, 2),
                faults_injected=dict(ledger.faults),
            )
            return result
        finally:
            server.stop()


def _snapshot(sandbox: Sandbox, outcomes: list[Outcome]) -> dict[str, Any]:
    """What must survive the restart: applications, keys, payments, idempotency keys."""
    apps = sandbox.list_applications()
    return {
        "applications": sorted(a.id for a in apps),
        "api_keys": sorted(k.prefix for a in apps for k in a.api_keys),
        "payments": sorted((o.key, o.payment_id) for o in outcomes if o.payment_id),
    }


def _verify(
    server: _Server,
    app: Any,
    outcomes: list[Outcome],
    ledger: Ledger,
    snapshot: dict[str, Any],
    ids: dict[str, str],
) -> dict[str, Any]:
    with NuveraClient(
        app.api_key, app.private_key_pem, base_url=server.base_url
    ) as client:
        payments = [
            p
            for p in client.payments.list(customer_id=ids["cus"], limit=100)
            if (p.reference or "").startswith(("sync-", "async-"))
        ]
        by_reference = Counter(p.reference for p in payments)
        ids_by_reference = {p.reference: p.id for p in payments}
        duplicates = sum(n - 1 for n in by_reference.values() if n > 1)
        served = [o for o in outcomes if o.payment_id]
        errors = [o for o in outcomes if o.error]
        mismatched = [
            o.reference
            for o in served
            if ids_by_reference.get(o.reference) != o.payment_id
        ]
        # An error after the server acted: the same Idempotency-Key returns it.
        acted = [o for o in errors if o.reference in ids_by_reference]
        recovered = 0
        for o in acted:
            again = client.payments.create(
                customer_id=ids["cus"],
                beneficiary_id=ids["ben"],
                amount="3.00",
                currency="EUR",
                reference=o.reference,
                idempotency_key=o.key,
            )
            recovered += again.id == ids_by_reference[o.reference]
        # Restart: everything recorded before it is still there, idempotency included.
        apps = server.sandbox.list_applications()
        lost_apps = set(snapshot.get("applications", [])) - {a.id for a in apps}
        lost_keys = set(snapshot.get("api_keys", [])) - {
            k.prefix for a in apps for k in a.api_keys
        }
        lost_payments = 0
        lost_idempotency = 0
        for key, payment_id in snapshot.get("payments", []):
            if payment_id not in {p.id for p in payments}:
                lost_payments += 1
            reference = next(o.reference for o in outcomes if o.key == key)
            again = client.payments.create(
                customer_id=ids["cus"],
                beneficiary_id=ids["ben"],
                amount="3.00",
                currency="EUR",
                reference=reference,
                idempotency_key=key,
            )
            lost_idempotency += again.id != payment_id
    return {
        "served": len(served),
        "clear_errors": len(errors),
        "error_kinds": dict(Counter(o.error.split(":")[0] for o in errors if o.error)),
        "errors_after_server_acted": len(acted),
        "recovered_with_same_key": recovered,
        "payments": len(payments),
        "duplicate_payments": duplicates,
        "served_but_missing": len(mismatched),
        "attempts": sum(ledger.jtis.values()),
        "reused_jti": sum(n - 1 for n in ledger.jtis.values() if n > 1),
        "restart_snapshot": {k: len(v) for k, v in snapshot.items()},
        "lost_after_restart": {
            "applications": len(lost_apps),
            "api_keys": len(lost_keys),
            "payments": lost_payments,
            "idempotency_records": lost_idempotency,
        },
    }


def ok(result: dict[str, Any]) -> bool:
    """The pass criteria of issue 17, point 5."""
    return (
        result["duplicate_payments"] == 0
        and result["reused_jti"] == 0
        and result["served_but_missing"] == 0
        and result["served"] + result["clear_errors"] == result["calls"]
        and result["recovered_with_same_key"] == result["errors_after_server_acted"]
        and result["payments"] == result["served"] + result["errors_after_server_acted"]
        and not any(result["lost_after_restart"].values())
        and result["restart_snapshot"]["payments"] > 0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    result = run(args.calls)
    print(json.dumps(result, indent=2))
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
