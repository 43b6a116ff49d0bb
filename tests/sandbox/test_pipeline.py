"""The request pipeline: headers first, streamed body, gzip, concurrency, hook."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import stat
import threading
import tracemalloc
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import claims, mint, public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock, make_sandbox

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._app import RequestOutcome
from nuvera_client.sandbox._body import SPOOL_BYTES
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext

Message = MutableMapping[str, Any]
MIB = 1024 * 1024


class _Stream:
    """An ASGI ``receive`` that serves a large body and counts what was pulled."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.left = size
        self.chunk = chunk
        self.pulled = 0

    async def __call__(self) -> Message:
        take = min(self.chunk, self.left)
        self.left -= take
        self.pulled += take
        return {
            "type": "http.request",
            "body": b"\0" * take,
            "more_body": self.left > 0,
        }


async def _call(
    sandbox: Sandbox,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: _Stream,
) -> tuple[int, dict[str, Any]]:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await sandbox.app(scope, body, send)
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload) if payload else {}


BIG = 24 * MIB


@pytest.mark.anyio
@pytest.mark.parametrize(
    "auth",
    ["no-key", "unknown-key", "bad-signature", "expired"],
)
async def test_unauthenticated_request_is_answered_before_its_body(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey, auth: str
) -> None:
    target = "/v1/payments"
    headers = [("x-api-key", caller.app.api_key)]
    token = caller.token("POST", target, b"")
    if auth == "no-key":
        headers = []
    elif auth == "unknown-key":
        headers = [("x-api-key", "nvk_test_" + "A" * 38)]
    elif auth == "bad-signature":
        token = caller.token("POST", target, b"", key=rsa_key_2)
    elif auth == "expired":
        token = caller.token(
            "POST", target, b"", iat=caller.now() - 100, exp=caller.now() - 70
        )
    headers.append(("authorization", f"Bearer {token}"))
    body = _Stream(BIG)
    status, answer = await _call(caller.sandbox, "POST", target, headers, body)
    assert status == 401, answer
    assert body.pulled == 0  # not one byte of the 24 MiB was read


@pytest.mark.anyio
async def test_eight_concurrent_unauthenticated_big_bodies_hold_no_memory(
    sandbox: Sandbox,
) -> None:
    bodies = [_Stream(BIG) for _ in range(8)]
    headers = [("x-api-key", "nvk_test_" + "B" * 38), ("authorization", "Bearer x")]
    tracemalloc.start()
    try:
        async with anyio.create_task_group() as tg:
            for body in bodies:
                tg.start_soon(_call, sandbox, "POST", "/v1/payments", headers, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(b.pulled for b in bodies) == 0
    assert peak < MIB


@pytest.mark.anyio
async def test_a_verified_body_streams_through_a_bounded_spool(caller: Caller) -> None:
    size = 8 * MIB
    digest = hashlib.sha256(b"\0" * size).hexdigest()
    token = mint(
        caller.key,
        kid=caller.kid,
        payload={
            **claims("POST", "/v1/customers", now=caller.now()),
            "body_hash": digest,
        },
    )
    headers = [
        ("x-api-key", caller.app.api_key),
        ("authorization", f"Bearer {token}"),
        ("content-type", "application/octet-stream"),
    ]
    body = _Stream(size)
    tracemalloc.start()
    try:
        status, answer = await _call(
            caller.sandbox, "POST", "/v1/customers", headers, body
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 201, answer  # check 18 passed on the streamed hash
    assert body.pulled == size
    # The handler never reads the octet-stream body: it stays in the spool.
    assert peak < SPOOL_BYTES + 2 * MIB


# -- gzip and other encodings (PROTOCOL §6) -------------------------------------


def _gzip_send(
    caller: Caller, raw: bytes, encoding: str = "gzip", *, hash_of: bytes | None = None
) -> httpx.Response:
    target = "/v1/customers"
    token = caller.token("POST", target, raw if hash_of is None else hash_of)
    return caller.send(
        "POST",
        target,
        raw,
        token=token,
        content_type="application/json",
        extra=[("content-encoding", encoding)],
    )


@pytest.fixture
def echo_sandbox(clock: Clock, rsa_key: rsa.RSAPrivateKey) -> Caller:
    async def echo(ctx: RequestContext) -> Reply:
        return Reply(
            201,
            {"length": len(ctx.body), "sha256": hashlib.sha256(ctx.body).hexdigest()},
        )

    sb = Sandbox(
        clock=clock,
        endpoints=[Endpoint("POST", "/v1/customers", "CUSTOMERS_WRITE", echo)],
        max_body_bytes=MIB,
    )
    app = sb.create_application(
        name="gz", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    return Caller(sb, clock, client, app, rsa_key)


def test_gzip_body_is_hashed_compressed_and_handled_decompressed(
    echo_sandbox: Caller,
) -> None:
    plain = json.dumps({"name": "Ada", "pad": "x" * 5000}).encode()
    packed = gzip.compress(plain)
    response = _gzip_send(echo_sandbox, packed)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "length": len(plain),
        "sha256": hashlib.sha256(plain).hexdigest(),
    }
    # Two gzip members in a row (RFC 1952) decompress as one body.
    response = _gzip_send(
        echo_sandbox, gzip.compress(plain[:10]) + gzip.compress(plain[10:])
    )
    assert response.json()["sha256"] == hashlib.sha256(plain).hexdigest()
    assert _gzip_send(echo_sandbox, packed, "x-gzip").status_code == 201


def test_gzip_body_hashed_uncompressed_fails_check_18(echo_sandbox: Caller) -> None:
    plain = b'{"name": "Ada"}'
    response = _gzip_send(echo_sandbox, gzip.compress(plain), hash_of=plain)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "body_hash_mismatch"


def test_gzip_bomb_is_413_after_a_bounded_decompression(echo_sandbox: Caller) -> None:
    bomb = gzip.compress(b"\0" * (8 * MIB))  # 8 KiB on the wire, 8 MiB inflated
    assert len(bomb) < 64 * 1024
    tracemalloc.start()
    try:
        response = _gzip_send(echo_sandbox, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (413, "payload_too_large")
    assert error["details"] == {"max_bytes": MIB}
    assert peak < 4 * MIB


@pytest.mark.parametrize("raw", [b"not gzip at all", gzip.compress(b"{}")[:-6]])
def test_a_broken_gzip_body_is_400(echo_sandbox: Caller, raw: bytes) -> None:
    response = _gzip_send(echo_sandbox, raw)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid_request")
    assert error["details"] == {"content_encoding": "gzip"}


@pytest.mark.parametrize(
    "encoding", ["br", "deflate", "compress", "gzip, gzip", "zstd"]
)
def test_other_content_encodings_are_415(echo_sandbox: Caller, encoding: str) -> None:
    response = _gzip_send(echo_sandbox, b"{}", encoding)
    error = response.json()["error"]
    assert response.status_code == 415
    assert error["code"] == "unsupported_content_encoding"
    assert error["type"] == "invalid_request_error"
    assert error["details"]["supported"] == ["gzip"]


def test_identity_encoding_is_no_encoding(echo_sandbox: Caller) -> None:
    response = _gzip_send(echo_sandbox, b'{"a": 1}', "identity")
    assert response.status_code == 201
    assert response.json()["length"] == 8


# -- JSON text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "A\\ud800B"}',
        b'{"name": "\\udfff"}',
        b'{"a\\udc00": 1}',
        b'{"list": [{"deep": "x\\uD83D"}]}',
    ],
)
def test_lone_surrogates_are_400(echo_sandbox: Caller, raw: bytes) -> None:
    response = echo_sandbox.send(
        "POST", "/v1/customers", raw, content_type="application/json"
    )
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid_request")
    assert error["details"] == {"reason": "lone_surrogate"}


def test_a_surrogate_pair_is_fine(echo_sandbox: Caller) -> None:
    raw = b'{"name": "\\ud83d\\ude00"}'
    response = echo_sandbox.send(
        "POST", "/v1/customers", raw, content_type="application/json"
    )
    assert response.status_code == 201


# -- the hook point ----------------------------------------------------------------


def test_every_request_outcome_reaches_the_observers(caller: Caller) -> None:
    seen: list[RequestOutcome] = []
    caller.sandbox.app.observers.append(seen.append)
    ok = caller.send("GET", "/v1/customers")
    refused = caller.send("GET", "/v1/customers", api_key="nvk_test_" + "C" * 38)
    handler_error = caller.send("POST", "/v1/support/tickets/t1/close")
    assert [(o.status, o.code) for o in seen] == [
        (200, None),
        (401, "invalid_api_key"),
        (409, "invalid_state"),
    ]
    assert [o.request_id for o in seen] == [
        r.headers["x-request-id"] for r in (ok, refused, handler_error)
    ]
    assert seen[0].application_id == caller.app.id
    assert seen[0].kid == caller.kid
    assert seen[1].application_id is None
    assert caller.app.api_key not in repr(seen)


# -- concurrency -----------------------------------------------------------------


def _two_handlers(
    clock: Clock, rsa_key: rsa.RSAPrivateKey, *, db_first: bool
) -> tuple[httpx.Response, httpx.Response, bool]:
    """Send ``fast`` while ``slow`` waits.

    Return both answers and whether ``fast`` was answered before ``slow`` was let go.
    """
    started = threading.Event()
    release = threading.Event()

    async def slow(ctx: RequestContext) -> Reply:
        if db_first:
            ctx.db.execute("SELECT 1")  # its transaction opens here, held to the end
        started.set()
        while not release.is_set():
            await anyio.sleep(0.01)
        ctx.db.execute("SELECT 1")
        return Reply(200, {"slow": True})

    async def fast(ctx: RequestContext) -> Reply:
        count = ctx.db.execute("SELECT count(*) FROM applications").fetchone()[0]
        return Reply(200, {"apps": count})

    endpoints = [
        Endpoint("GET", "/v1/customers", "CUSTOMERS_READ", slow),
        Endpoint("GET", "/v1/payments", "PAYMENTS_READ", fast),
    ]
    with Sandbox(clock=clock, endpoints=endpoints) as sb, sb.serve() as server:
        app = sb.create_application(
            name="c", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
        )
        with (
            httpx.Client(base_url=server.base_url, timeout=20) as a,
            httpx.Client(base_url=server.base_url, timeout=20) as b,
        ):
            first = Caller(sb, clock, a, app, rsa_key)
            second = Caller(sb, clock, b, app, rsa_key)
            slow_answers: list[httpx.Response] = []
            fast_answers: list[httpx.Response] = []
            slow_thread = threading.Thread(
                target=lambda: slow_answers.append(first.send("GET", "/v1/customers"))
            )
            fast_thread = threading.Thread(
                target=lambda: fast_answers.append(second.send("GET", "/v1/payments"))
            )
            slow_thread.start()
            try:
                assert started.wait(10)
                fast_thread.start()
                fast_thread.join(3)
                before = bool(fast_answers)
            finally:
                release.set()
                slow_thread.join(10)
                fast_thread.join(10)
    return slow_answers[0], fast_answers[0], before


def test_a_handler_waiting_does_not_stop_other_requests(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    slow, fast, before = _two_handlers(clock, rsa_key, db_first=False)
    assert before  # answered while the slow handler still waited
    assert fast.json() == {"apps": 1}
    assert slow.json() == {"slow": True}


def test_a_handler_awaiting_inside_its_transaction_delays_but_never_deadlocks(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Misuse (an await after ctx.db) makes others wait, on the loop, not block it."""
    slow, fast, before = _two_handlers(clock, rsa_key, db_first=True)
    assert not before
    assert fast.json() == {"apps": 1}
    assert slow.json() == {"slow": True}


def test_the_slow_handler_does_not_hold_the_lock_across_await(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """A handler awaiting before it uses the store holds no lock meanwhile."""
    inside = threading.Event()
    release = threading.Event()

    async def slow(ctx: RequestContext) -> Reply:
        inside.set()
        while not release.is_set():
            await anyio.sleep(0.01)
        ctx.db.execute("SELECT 1")
        return Reply(200, {})

    endpoints = [Endpoint("GET", "/v1/customers", "CUSTOMERS_READ", slow)]
    with Sandbox(clock=clock, endpoints=endpoints) as sb, sb.serve() as server:
        app = sb.create_application(
            name="c", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
        )
        with httpx.Client(base_url=server.base_url) as client:
            c = Caller(sb, clock, client, app, rsa_key)
            worker = threading.Thread(target=lambda: c.send("GET", "/v1/customers"))
            worker.start()
            try:
                assert inside.wait(10)
                # The platform (another thread) gets the store at once.
                view = sb.get_application(app.id)
                assert view.id == app.id
            finally:
                release.set()
                worker.join(10)


def _payee(sb: Sandbox, caller: Caller) -> dict[str, str]:
    customer = caller.send(
        "POST",
        "/v1/customers",
        json.dumps(
            {"type": "individual", "name": "Ada", "email": "ada@example.com"}
        ).encode(),
        content_type="application/json",
    )
    assert customer.status_code == 201, customer.text
    ben = caller.send(
        "POST",
        "/v1/beneficiaries",
        json.dumps(
            {
                "customer_id": customer.json()["id"],
                "type": "bank_account",
                "name": "Ada",
                "currency": "EUR",
                "bank_account": {"iban": "DE89370400440532013000"},
            }
        ).encode(),
        content_type="application/json",
    )
    assert ben.status_code == 201, ben.text
    return {"customer_id": customer.json()["id"], "beneficiary_id": ben.json()["id"]}


def test_fifty_concurrent_identical_payments_make_one(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    with Sandbox(state=tmp_path / "s.sqlite", clock=clock) as sb, sb.serve() as server:
        app = sb.create_application(
            name="pay",
            permissions=[
                "CUSTOMERS_WRITE",
                "CUSTOMERS_READ",
                "BENEFICIARIES_READ",
                "BENEFICIARIES_WRITE",
                "PAYMENTS_READ",
                "PAYMENTS_WRITE",
            ],
            public_key_pem=public_pem(rsa_key),
        )
        with httpx.Client(base_url=server.base_url) as client:
            caller = Caller(sb, clock, client, app, rsa_key)
            body = json.dumps(
                {**_payee(sb, caller), "amount": "10.00", "currency": "EUR"}
            ).encode()
            # Signed up front: the 50 requests then leave as close together as can be.
            tokens = [caller.token("POST", "/v1/payments", body) for _ in range(50)]

        async def send_all() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as ac:
                return await asyncio.gather(
                    *(
                        ac.post(
                            "/v1/payments",
                            content=body,
                            headers={
                                "x-api-key": app.api_key,
                                "authorization": f"Bearer {token}",
                                "content-type": "application/json",
                                "idempotency-key": "same-payment",
                            },
                        )
                        for token in tokens
                    )
                )

        responses = asyncio.run(send_all())
        statuses = sorted(r.status_code for r in responses)
        assert all(s < 500 for s in statuses), statuses
        created = [r for r in responses if r.status_code == 201]
        others = [r for r in responses if r.status_code != 201]
        first = [r for r in created if "idempotent-replayed" not in r.headers]
        assert len(first) == 1
        assert {r.json()["id"] for r in created} == {first[0].json()["id"]}
        assert all(
            r.headers["idempotent-replayed"] == "true"
            for r in created[1:]
            if r is not first[0]
        )
        for r in others:
            assert r.status_code == 409
            assert r.json()["error"]["code"] == "idempotency_in_progress"
        with sb.store.transaction() as db:
            assert db.execute("SELECT count(*) FROM payments").fetchone()[0] == 1


# -- the state file --------------------------------------------------------------


def test_state_file_and_companions_are_private(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    state = tmp_path / "state.sqlite"
    old_umask = os.umask(0o022)
    try:
        sb = make_sandbox(Clock(), state=state)
        sb.create_application(
            name="p", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
        )
        files = sorted(p.name for p in tmp_path.iterdir())
        assert {"state.sqlite", "state.sqlite-wal", "state.sqlite-shm"} <= set(files)
        for path in tmp_path.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        sb.close()
    finally:
        os.umask(old_umask)


def test_an_existing_world_readable_state_file_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    Sandbox(state=state).close()
    state.chmod(0o644)
    Sandbox(state=state).close()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_usage_reaches_the_state_file_without_another_transaction(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Batched usage is written by a timer, also after in-process requests."""
    import sqlite3
    import time

    from nuvera_client.sandbox._app import USAGE_FLUSH_DELAY

    state = tmp_path / "s.sqlite"
    clock = Clock()
    with make_sandbox(clock, state=state) as sb:
        app = sb.create_application(
            name="u", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
        )
        # First in-process: that request's event loop ends with it.
        with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
            assert (
                Caller(sb, clock, client, app, rsa_key)
                .send("GET", "/v1/customers")
                .status_code
                == 200
            )
        with sb.serve() as server, httpx.Client(base_url=server.base_url) as client:
            c = Caller(sb, clock, client, app, rsa_key)
            assert c.send("GET", "/v1/customers").status_code == 200
            # Read by another connection, as the CLI would: no transaction of ours.
            deadline = time.monotonic() + 5
            count = 0
            while time.monotonic() < deadline:
                reader = sqlite3.connect(state)
                try:
                    count = reader.execute(
                        "SELECT request_count FROM api_keys"
                    ).fetchone()[0]
                finally:
                    reader.close()
                if count == 2:
                    break
                time.sleep(USAGE_FLUSH_DELAY)
            assert count == 2
