"""Load check: ``nuvera sandbox serve`` under concurrent clients, then a restart.

Starts ``nuvera sandbox serve --state FILE`` as a subprocess, runs ``--clients``
threads (8 by default), each with its own keep-alive connection, for ``--seconds``
(60 by default): customers created, read back and listed, support tickets opened,
and payments posted twice with one Idempotency-Key (the second must be the replay).
Then the server is killed with SIGKILL (no clean shutdown), started again on the
same file, and every record a client was told exists (a 201) is read back.

Prints the request count, the status counts, 5xx and lost records; exits non-zero
if there was any 5xx, transport error or lost record.

    python benchmarks/load_sandbox.py [--seconds 60] [--clients 8]
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PERMISSIONS = (
    "CUSTOMERS_READ,CUSTOMERS_WRITE,BENEFICIARIES_READ,BENEFICIARIES_WRITE,"
    "PAYMENTS_READ,PAYMENTS_WRITE,SUPPORT_READ,SUPPORT_WRITE"
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """Signs requests per PROTOCOL §2.1 with ``cryptography`` alone."""

    def __init__(self, key: rsa.RSAPrivateKey, kid: str, api_key: str) -> None:
        self.key = key
        self.api_key = api_key
        self.head = b64(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())

    def headers(self, method: str, uri: str, body: bytes) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "aud": "nuvera-rest-api",
            "body_hash": hashlib.sha256(body).hexdigest(),
            "exp": now + 30,
            "iat": now,
            "iss": "nuvera-api",
            "jti": secrets.token_hex(16),
            "method": method,
            "uri": uri,
        }
        payload = b64(
            json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        )
        signing_input = f"{self.head}.{payload}"
        signature = self.key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            "x-api-key": self.api_key,
            "authorization": f"Bearer {signing_input}.{b64(signature)}",
            "content-type": "application/json",
        }


class Client:
    """One load client: a connection, its records and its tallies."""

    def __init__(self, base_url: str, signer: Signer, number: int) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.signer = signer
        self.number = number
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: list[str] = []
        self.records: list[str] = []  # paths of objects the server said it created
        self.beneficiary: dict[str, str] | None = None

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = self.signer.headers(method, path, raw)
        return self._send(method, path, raw, headers)

    def _send(
        self, method: str, path: str, raw: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        response = self.http.request(method, path, content=raw, headers=headers)
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.errors.append(f"{method} {path}: {response.status_code}")
        return response

    def step(self, i: int) -> None:
        email = f"load-{self.number}-{i}-{secrets.token_hex(3)}@example.com"
        customer = self.send(
            "POST",
            "/v1/customers",
            {"type": "individual", "name": f"Load {i}", "email": email},
        )
        if customer.status_code == 201:
            cid = customer.json()["id"]
            self.records.append(f"/v1/customers/{cid}")
            self.send("GET", f"/v1/customers/{cid}")
            if self.beneficiary is None:
                ben = self.send(
                    "POST",
                    "/v1/beneficiaries",
                    {
                        "customer_id": cid,
                        "type": "bank_account",
                        "name": "Load",
                        "currency": "EUR",
                        "bank_account": {"iban": "DE89370400440532013000"},
                    },
                )
                if ben.status_code == 201:
                    self.records.append(f"/v1/beneficiaries/{ben.json()['id']}")
                    self.beneficiary = {
                        "customer_id": cid,
                        "beneficiary_id": ben.json()["id"],
                    }
        self.send("GET", "/v1/customers?limit=5")
        if i % 4 == 0:
            ticket = self.send(
                "POST", "/v1/support/tickets", {"subject": "Load", "body": f"n {i}"}
            )
            if ticket.status_code == 201:
                self.records.append(f"/v1/support/tickets/{ticket.json()['id']}")
        if i % 3 == 0 and self.beneficiary is not None:
            body = json.dumps({**self.beneficiary, "amount": "1.00", "currency": "EUR"})
            raw = body.encode()
            key = f"load-{self.number}-{i}"
            first = self._send(
                "POST",
                "/v1/payments",
                raw,
                {
                    **self.signer.headers("POST", "/v1/payments", raw),
                    "idempotency-key": key,
                },
            )
            again = self._send(
                "POST",
                "/v1/payments",
                raw,
                {
                    **self.signer.headers("POST", "/v1/payments", raw),
                    "idempotency-key": key,
                },
            )
            if first.status_code == 201:
                self.records.append(f"/v1/payments/{first.json()['id']}")
                if again.headers.get("idempotent-replayed") != "true" or (
                    again.json() != first.json()
                ):
                    self.errors.append(f"payment {key}: the retry was not the replay")

    def run(self, deadline: float) -> None:
        i = 0
        try:
            while time.monotonic() < deadline:
                self.step(i)
                i += 1
        except httpx.HTTPError as exc:  # a dropped connection counts as a failure
            self.errors.append(f"transport: {exc!r}")


@contextmanager
def serving(state: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = ["sandbox", "serve", "--state", str(state), "--port", "0"]
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
        [sys.executable, "-m", "nuvera_client", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if " on http://" not in line:
            raise SystemExit(f"the server did not start: {line!r}")
        yield line.split(" on ", 1)[1].split(" ", 1)[0], proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def create_application(
    state: Path, key: rsa.RSAPrivateKey, tmp: Path
) -> dict[str, str]:
    pem = tmp / "public.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    out = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        [
            sys.executable,
            "-m",
            "nuvera_client",
            "sandbox",
            "app",
            "create",
            "--state",
            str(state),
            "--name",
            "load",
            "--permissions",
            PERMISSIONS,
            "--public-key",
            str(pem),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    created: dict[str, str] = json.loads(out.stdout)
    return created


def run(seconds: float, clients: int, tmp: Path) -> int:
    """Run the load and the restart check; return the number of failures."""
    state = tmp / "state.sqlite"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    created = create_application(state, key, tmp)
    signer = Signer(key, created["kid"], created["api_key"])
    with serving(state) as (base_url, proc):
        workers = [Client(base_url, signer, n) for n in range(clients)]
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=w.run, args=(deadline,)) for w in workers]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        for worker in workers:
            worker.http.close()
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: only commits count
    statuses: collections.Counter[int] = collections.Counter()
    for worker in workers:
        statuses.update(worker.statuses)
    errors = [e for w in workers for e in w.errors]
    records = [r for w in workers for r in w.records]
    lost: list[str] = []
    with serving(state) as (base_url, _):
        reader = Client(base_url, signer, -1)
        for path in records:
            if reader.send("GET", path).status_code != 200:
                lost.append(path)
        reader.http.close()
    total = sum(statuses.values())
    fives = sum(n for status, n in statuses.items() if status >= 500)
    print(f"clients: {clients}, seconds: {elapsed:.1f}, requests: {total}")
    print(f"requests/s: {total / elapsed:.0f}")
    print("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    print(f"5xx: {fives}")
    print(
        f"records created: {len(records)}, lost after SIGKILL and restart: {len(lost)}"
    )
    for line in (errors + [f"lost {p}" for p in lost])[:20]:
        print(f"  {line}")
    return fives + len(errors) + len(lost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nuvera-load-") as tmp:
        failures = run(args.seconds, args.clients, Path(tmp))
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
