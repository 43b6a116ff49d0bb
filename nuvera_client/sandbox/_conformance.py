"""Owns the conformance run: serve the plan, pass each case to the sandbox, grade it.

``ConformanceRun`` wraps a [`Sandbox`][nuvera_client.sandbox.Sandbox]'s ASGI app.
A request carrying the ``Nuvera-Conformance-Case`` header is recorded (method, raw
target, headers that matter, body hash, ``jti``), handed to the sandbox unchanged,
and its answer recorded too; ``ConformanceRun.report()`` grades every case.
Three paths belong to the run itself and need no credentials:
``GET /conformance/plan``, ``GET /conformance/report``, ``POST /conformance/finish``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import jwt

from nuvera_client.sandbox._conformance_grade import Attempt, Report, grade
from nuvera_client.sandbox._conformance_plan import (
    CASE_HEADER,
    plan_document,
    render_plan,
    sha256_hex,
)
from nuvera_client.sandbox._platform import PERMISSIONS
from nuvera_client.sandbox._routing import raw_target
from nuvera_client.sandbox._server import base_url_of, bind_socket, uvicorn_config

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send

    from nuvera_client.sandbox._sandbox import Sandbox

MAX_BODY = 25 * 2**20
MAX_ATTEMPTS_KEPT = 20  # per case: a looping client cannot grow the record unbounded
START_TIMEOUT = 10.0


def _jti_of(authorization: str | None) -> str | None:
    # Diagnostics only: the sandbox verifies the token, this just reads its claim.
    if not authorization or " " not in authorization:
        return None
    parts = authorization.split(" ", 1)[1].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(
            base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        )
    except (ValueError, TypeError):
        return None
    jti = payload.get("jti") if isinstance(payload, dict) else None
    return jti if isinstance(jti, str) else None


class ConformanceRun:
    """A graded conformance run on ``sandbox``: fixtures, plan, recording, verdicts.

    Creates an application with every permission, a generated RSA-2048 key and the
    fixtures the plan's placeholders name (a customer, beneficiaries, tickets).

    Args:
        sandbox: the sandbox that verifies and answers each request.
        plan: the plan (default: the published one).
    """

    def __init__(self, sandbox: Sandbox, plan: dict[str, Any] | None = None) -> None:
        self.sandbox = sandbox
        created = sandbox.create_application(
            name="conformance", permissions=list(PERMISSIONS)
        )
        if created.private_key_pem is None:  # generated keys are always returned
            raise RuntimeError("the sandbox returned no private key")
        self.application_id = created.id
        self.api_key = created.api_key
        self.kid = created.kid
        self.private_key_pem = created.private_key_pem
        self.fixtures = self._make_fixtures()
        self.plan = render_plan(plan or plan_document(), self.fixtures)
        self._cases = {case["id"]: case for case in self.plan["cases"]}
        self._attempts: dict[str, list[Attempt]] = {cid: [] for cid in self._cases}
        self._unlabelled = 0
        self._lock = threading.Lock()
        self.finished = threading.Event()

    # -- fixtures ------------------------------------------------------------------

    def _make_fixtures(self) -> dict[str, str]:
        # Signed here with PyJWT (any valid JSON is accepted), never with the client.
        key = self.private_key_pem
        with httpx.Client(
            transport=self.sandbox.transport(), base_url="http://127.0.0.1"
        ) as http:

            def create(path: str, body: dict[str, Any]) -> str:
                content = json.dumps(body).encode()
                now = int(self.sandbox.now())
                token = jwt.encode(
                    {
                        "iss": "nuvera-api",
                        "aud": "nuvera-rest-api",
                        "iat": now,
                        "exp": now + 30,
                        "jti": secrets.token_hex(16),
                        "method": "POST",
                        "uri": path,
                        "body_hash": sha256_hex(content),
                    },
                    key,
                    algorithm="RS256",
                    headers={"kid": self.kid},
                )
                response = http.post(
                    path,
                    content=content,
                    headers={
                        "x-api-key": self.api_key,
                        "authorization": f"Bearer {token}",
                        "content-type": "application/json",
                    },
                )
                if response.status_code != 201:
                    raise RuntimeError(f"fixture {path}: {response.status_code}")
                return str(response.json()["id"])

            customer = create(
                "/v1/customers",
                {"type": "individual", "name": "Fixture", "email": "f@example.com"},
            )
            wallet = {
                "customer_id": customer,
                "type": "crypto_wallet",
                "name": "Wallet",
                "currency": "USDC",
                "crypto_wallet": {
                    "asset": "USDC",
                    "network": "ethereum",
                    "address": "0x52908400098527886E0F7030069857D2E4169EE7",
                },
            }
            ticket = {"subject": "Conformance", "body": "A fixture ticket."}
            return {
                "customer_id": customer,
                "beneficiary_id": create("/v1/beneficiaries", wallet),
                "spare_beneficiary_id": create("/v1/beneficiaries", wallet),
                "ticket_id": create("/v1/support/tickets", ticket),
                "gzip_ticket_id": create("/v1/support/tickets", ticket),
            }

    # -- credentials -----------------------------------------------------------------

    def credentials(self, base_url: str) -> dict[str, Any]:
        """Return what a porter's client needs (written to a 0600 file by the CLI)."""
        return {
            "test_only": True,
            "base_url": base_url,
            "plan_url": f"{base_url}/conformance/plan",
            "finish_url": f"{base_url}/conformance/finish",
            "api_key": self.api_key,
            "kid": self.kid,
            "private_key_pem": self.private_key_pem,
        }

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the run's own paths; record, forward and answer everything else."""
        if scope["type"] != "http":
            await self.sandbox.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/conformance/"):
            await self._own(scope, send, path)
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        case_id = headers.get(CASE_HEADER.lower())
        if case_id is None:
            with self._lock:
                self._unlabelled += 1
            await self.sandbox.app(scope, receive, send)
            return
        case = self._cases.get(case_id)
        if case is None:
            await _json_reply(
                send, 400, {"error": f"unknown conformance case {case_id!r}"}
            )
            return
        body = await _read_body(receive)
        if body is None:
            await _json_reply(
                send,
                413,
                {
                    "error": {
                        "code": "payload_too_large",
                        "details": {"max_bytes": MAX_BODY},
                    }
                },
            )
            return
        attempt = Attempt(
            method=scope["method"],
            target=raw_target(scope).decode("latin-1"),
            headers=headers,
            body=body,
            jti=_jti_of(headers.get("authorization")),
        )
        with self._lock:
            attempts = self._attempts[case_id]
            first = not attempts
            if len(attempts) < MAX_ATTEMPTS_KEPT:
                attempts.append(attempt)
            if first and "server_clock_offset" in case:
                self.sandbox.clock_offset = float(case["server_clock_offset"])
        status, out_headers, out_body = await _forward(self.sandbox.app, scope, body)
        attempt.status = status
        try:
            answer = json.loads(out_body) if out_body else None
        except ValueError:
            answer = None
        attempt.response = answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            attempt.code = str(error.get("code"))
            details = error.get("details")
            attempt.details = details if isinstance(details, dict) else {}
        inject = case.get("inject", {}).get("first_attempt_status")
        if first and inject:
            # The sandbox did the work; the answer is "lost" and a 503 sent instead.
            await _json_reply(
                send,
                int(inject),
                {
                    "error": {
                        "type": "api_error",
                        "code": "unavailable",
                        "message": "Injected by the conformance plan: retry.",
                        "request_id": "req_conformance",
                        "details": {},
                    }
                },
                extra=[(b"retry-after", b"0")],
            )
            return
        await send(
            {"type": "http.response.start", "status": status, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": out_body})

    async def _own(self, scope: Scope, send: Send, path: str) -> None:
        method = scope["method"]
        if path == "/conformance/plan" and method == "GET":
            await _json_reply(send, 200, self.plan)
        elif path == "/conformance/report" and method == "GET":
            await _json_reply(send, 200, self.report().to_dict())
        elif path == "/conformance/finish" and method == "POST":
            report = self.report()
            self.finished.set()
            await _json_reply(send, 200, report.to_dict())
        else:
            await _json_reply(send, 404, {"error": f"no conformance path {path}"})

    # -- grading ---------------------------------------------------------------------

    def report(self) -> Report:
        """Grade every case on what has arrived so far."""
        with self._lock:
            recorded = {cid: list(items) for cid, items in self._attempts.items()}
            unlabelled = self._unlabelled
        return Report(
            tuple(grade(case, recorded[case["id"]]) for case in self.plan["cases"]),
            unlabelled,
        )


async def _read_body(receive: Receive) -> bytes | None:
    """Read the whole body; None when it is larger than the API accepts."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _forward(
    app: Any, scope: Scope, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(parts)


async def _json_reply(
    send: Send,
    status: int,
    value: Any,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"date", _http_date().encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


@dataclass(frozen=True)
class ConformanceServer:
    """A conformance run served on loopback."""

    base_url: str
    run: ConformanceRun


@contextmanager
def serve_conformance(
    run: ConformanceRun, host: str = "127.0.0.1", port: int = 0
) -> Iterator[ConformanceServer]:
    """Serve ``run`` with uvicorn in a thread for the block (port 0: a free one)."""
    import uvicorn

    sock = bind_socket(host, port)
    server = uvicorn.Server(uvicorn_config(run))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name="nuvera-conformance",
        daemon=True,
    )
    try:
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the conformance server did not start")
            time.sleep(0.005)
        yield ConformanceServer(base_url_of(sock), run)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
