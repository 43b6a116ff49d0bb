"""The request log: what it keeps, what it never keeps, filters, retention."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from console_support import send_signed, sha256_hex
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from nuvera_client import RequestSigner, keys
from nuvera_client.sandbox import CreatedApplication, Sandbox
from nuvera_client.sandbox._transport import SandboxTransport
from nuvera_client.sandbox.console import _requestlog as requestlog
from nuvera_client.sandbox.console._requestlog import (
    FLUSH_DELAY,
    RETENTION,
    RequestLog,
    RequestTap,
    decode_token,
    parse_status,
    redact_api_key,
)
from nuvera_client.sandbox.console._web import highlight


def test_body_hash_mismatch_is_logged_with_both_hashes(
    sandbox: Sandbox, app: CreatedApplication, console_key: rsa.RSAPrivateKey
) -> None:
    sent, signed = b'{"name":"Ada"}', b'{"name":"Bob"}'
    response = send_signed(
        sandbox,
        app,
        console_key,
        method="POST",
        target="/v1/customers",
        body=sent,
        signed_body=signed,
    )
    assert response.status_code == 401
    (row,) = sandbox.request_log.list()
    assert row.error_code == "body_hash_mismatch"
    assert row.check == 18
    assert row.application_id == app.id
    assert row.request_id == response.headers["x-request-id"]
    assert row.entry["derived"]["body_hash"] == sha256_hex(sent)
    assert row.entry["claimed"]["body_hash"] == sha256_hex(signed)
    assert row.entry["error"]["details"]["body_length"] == len(sent)
    assert "hash the exact bytes" in (row.hint or "").lower()


def test_a_body_refused_before_it_is_read_is_logged_as_not_read(
    sandbox: Sandbox, app: CreatedApplication
) -> None:
    # Checks 1-17 run on the headers: a request without a token is refused before
    # its body is read, so the log has no body hash to show for it.
    body = b'{"name":"Ada"}' * 4096
    with httpx.Client(transport=sandbox.transport(), base_url="http://x") as c:
        response = c.post(
            "/v1/customers",
            content=body,
            headers={"x-api-key": app.api_key, "content-type": "application/json"},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_signature"
    (row,) = sandbox.request_log.list()
    assert row.error_code == "missing_signature"
    assert row.entry["body_complete"] is False
    assert row.entry["derived"]["body_hash"] is None
    assert row.entry["body_length"] < len(body)


def test_no_secret_is_kept(
    sandbox: Sandbox, app: CreatedApplication, console_key: rsa.RSAPrivateKey
) -> None:
    response = send_signed(sandbox, app, console_key)
    assert response.status_code == 200
    token_signature = response.request.headers["authorization"].rsplit(".", 1)[1]
    (row,) = sandbox.request_log.list()
    stored = json.dumps(row.to_dict())
    assert app.api_key not in stored
    assert token_signature not in stored
    assert row.entry["api_key"] == f"{app.api_key[:13]}…{app.api_key[-4:]}"
    assert row.entry["token"]["header"]["alg"] == "RS256"
    assert row.entry["token"]["claims"]["uri"] == "/v1/crypto/assets"
    assert row.error_code is None
    assert row.status == 200


def test_retention_keeps_the_newest(sandbox: Sandbox) -> None:
    # A short log over the same API app, to see rotation without 1,000 requests.
    log = RequestLog(sandbox.store, sandbox.now, retention=5)
    tapped = RequestTap(sandbox.app.api, log)
    with httpx.Client(transport=SandboxTransport(tapped), base_url="http://x") as c:
        for i in range(8):
            c.get(f"/v1/nothing/{i}")
    rows = log.list()
    assert [r.path for r in rows] == [f"/v1/nothing/{i}" for i in range(7, 2, -1)]
    assert all(r.error_code == "missing_api_key" and r.check == 1 for r in rows)


def test_the_sandbox_keeps_the_last_thousand(sandbox: Sandbox) -> None:
    assert sandbox.request_log.retention == RETENTION == 1000


def test_filters(
    sandbox: Sandbox, app: CreatedApplication, console_key: rsa.RSAPrivateKey
) -> None:
    send_signed(sandbox, app, console_key)
    send_signed(sandbox, app, console_key, target="/v1/customers?limit=2")
    send_signed(
        sandbox,
        app,
        console_key,
        method="POST",
        target="/v1/customers",
        body=b"{}",
        signed_body=b"[]",
    )
    log = sandbox.request_log
    assert [r.status for r in log.list(status="4xx")] == [401]
    assert [r.status for r in log.list(status="200")] == [200, 200]
    assert [r.method for r in log.list(method="post")] == ["POST"]
    assert [r.target for r in log.list(path="customers")] == [
        "/v1/customers",
        "/v1/customers?limit=2",
    ]
    assert len(log.list(error_code="body_hash_mismatch")) == 1
    assert len(log.list(application_id=app.id)) == 3
    assert log.list(application_ids=[], include_unattributed=False) == []
    newest = log.list()[0].id
    assert log.list(after_id=newest) == []
    log.clear()
    assert log.list() == []


@pytest.mark.parametrize("bad", ["4", "600", "4x", "abc", "6xx"])
def test_status_filter_refuses_nonsense(bad: str) -> None:
    with pytest.raises(ValueError, match="401 or a class 4xx"):
        parse_status(bad)


def test_decode_token_never_returns_the_signature() -> None:
    assert decode_token([]) is None
    assert decode_token(["Basic abc"]) is None
    assert decode_token(["Bearer a.b"]) == {
        "error": "2 dot-separated parts instead of 3"
    }
    decoded = decode_token(["bearer eyJhbGciOiJub25lIn0.e30.c2ln"])
    assert decoded == {"signature_chars": 4, "header": {"alg": "none"}, "claims": {}}
    broken = decode_token(["Bearer !!.e30.x"])
    assert broken is not None
    assert broken["header"] is None
    assert "error" in broken


@given(st.text(min_size=0, max_size=60))
def test_redacted_key_shows_at_most_prefix_and_last_four(key: str) -> None:
    shown = redact_api_key([key]) or ""
    stripped = key.strip()
    if len(stripped) >= 17:
        assert shown == f"{stripped[:13]}…{stripped[-4:]}"
    else:
        assert shown in ("(empty)", f"({len(stripped)} characters, too short to show)")


@given(st.text(max_size=80), st.text(max_size=80))
def test_highlight_runs_rebuild_both_values(a: str, b: str) -> None:
    left, right = highlight(a, b)
    assert "".join(t for t, _ in left) == a
    assert "".join(t for t, _ in right) == b
    if a == b:
        assert not any(d for _, d in left + right)
    else:
        assert any(d for _, d in left + right)


def test_a_deeply_nested_token_is_still_logged(sandbox: Sandbox) -> None:
    nested = base64.urlsafe_b64encode(b"[" * 100_000).rstrip(b"=").decode()
    decoded = decode_token([f"Bearer e30.{nested[:15_000]}.c2ln"])
    assert decoded is not None
    assert decoded["claims"] is None
    with httpx.Client(transport=sandbox.transport(), base_url="http://x") as client:
        client.get(
            "/v1/customers",
            headers={"authorization": f"Bearer e30.{nested[:15_000]}.x"},
        )
    (row,) = sandbox.request_log.list()
    assert row.error_code == "missing_api_key"


# -- batched writing (the log costs a request no transaction of its own) ---------


def _rows_on_disk(path: Path) -> list[tuple[object, ...]]:
    """Read the log table through a second connection, as another process would."""
    with closing(sqlite3.connect(path)) as other:
        return other.execute(
            "SELECT path, status, error_code, application_id FROM request_log"
            " ORDER BY id"
        ).fetchall()


def test_served_requests_reach_the_state_file_within_the_flush_delay(
    tmp_path: Path, console_key: rsa.RSAPrivateKey
) -> None:
    path = tmp_path / "state.sqlite"
    with Sandbox(state=path) as sandbox:
        app = sandbox.create_application(
            name="svc",
            permissions=["CRYPTO_READ"],
            public_key_pem=keys.public_key_pem(console_key),
        )
        signer = RequestSigner(console_key)
        with sandbox.serve() as server, httpx.Client(base_url=server.base_url) as c:
            for _ in range(3):
                token = signer.sign("GET", "/v1/crypto/assets", b"")
                headers = {"x-api-key": app.api_key, "authorization": f"Bearer {token}"}
                assert c.get("/v1/crypto/assets", headers=headers).status_code == 200
            c.get("/v1/nothing")
            # Another connection sees them once the serving loop's timer wrote them.
            deadline = time.monotonic() + 5
            while len(_rows_on_disk(path)) < 4 and time.monotonic() < deadline:
                time.sleep(FLUSH_DELAY / 5)
            assert _rows_on_disk(path) == [
                ("/v1/crypto/assets", 200, None, app.id),
                ("/v1/crypto/assets", 200, None, app.id),
                ("/v1/crypto/assets", 200, None, app.id),
                ("/v1/nothing", 401, "missing_api_key", None),
            ]


@pytest.mark.anyio
async def test_captured_requests_wait_for_the_timer_and_reads_flush_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delay = 1.0  # long enough that a busy machine still checks before it
    monkeypatch.setattr(requestlog, "FLUSH_DELAY", delay)
    path = tmp_path / "state.sqlite"
    with Sandbox(state=path) as sandbox:
        async with httpx.AsyncClient(
            transport=sandbox.async_transport(), base_url="http://x"
        ) as client:
            started = time.monotonic()
            await client.get("/v1/one")
            await client.get("/v1/two")
            # Not written yet: no transaction per request...
            rows = _rows_on_disk(path)
            if time.monotonic() - started < delay:
                assert rows == []
            # ...but a read in this process writes the queue first.
            assert [r.path for r in sandbox.request_log.list()] == [
                "/v1/two",
                "/v1/one",
            ]
            assert len(_rows_on_disk(path)) == 2
            await client.get("/v1/three")
            # The serving loop's timer writes it without any read.
            deadline = time.monotonic() + delay + 10
            while len(_rows_on_disk(path)) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(delay / 10)
            assert [row[0] for row in _rows_on_disk(path)][-1] == "/v1/three"


@pytest.mark.anyio
async def test_closing_the_store_writes_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    sandbox = Sandbox(state=path)
    async with httpx.AsyncClient(
        transport=sandbox.async_transport(), base_url="http://x"
    ) as client:
        await client.get("/v1/queued")
    sandbox.close()
    assert _rows_on_disk(path) == [("/v1/queued", 401, "missing_api_key", None)]
    with Sandbox(state=path) as again:
        (row,) = again.request_log.list()
        assert row.entry["api_key"] is None
        assert row.check == 1


def test_the_queue_keeps_only_what_retention_would_keep(sandbox: Sandbox) -> None:
    log = RequestLog(sandbox.store, sandbox.now, retention=3)
    tapped = RequestTap(sandbox.app.api, log)
    transport = httpx.ASGITransport(app=tapped)

    async def send_all() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as c:
            for i in range(7):
                await c.get(f"/v1/n/{i}")

    asyncio.run(send_all())
    assert [r.path for r in log.list()] == ["/v1/n/6", "/v1/n/5", "/v1/n/4"]
    # And the retention rule still holds across batches.
    asyncio.run(send_all())
    assert [r.path for r in log.list()] == ["/v1/n/6", "/v1/n/5", "/v1/n/4"]
    assert len(log.list(limit=1000)) == 3


def test_no_secret_reaches_the_table(
    tmp_path: Path, console_key: rsa.RSAPrivateKey
) -> None:
    path = tmp_path / "state.sqlite"
    with Sandbox(state=path) as sandbox:
        app = sandbox.create_application(
            name="svc",
            permissions=["CRYPTO_READ"],
            public_key_pem=keys.public_key_pem(console_key),
        )
        response = send_signed(sandbox, app, console_key)
        sandbox.request_log.flush()
        signature = response.request.headers["authorization"].rsplit(".", 1)[1]
        with closing(sqlite3.connect(path)) as other:
            dump = "\n".join(other.iterdump())
        assert "request_log" in dump
        assert app.api_key not in dump
        assert signature not in dump
        (row,) = sandbox.request_log.list()
        assert row.entry["token"]["signature_chars"] == len(signature)
        assert sandbox.request_log.kid_last_used(app.id, app.kid) == row.at


def test_a_log_of_the_old_layout_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Sandbox(state=path):
        pass
    with closing(sqlite3.connect(path)) as old:
        old.executescript(
            "DROP TABLE request_log;"
            "CREATE TABLE request_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " request_id TEXT, at REAL NOT NULL, application_id TEXT,"
            " method TEXT NOT NULL, target TEXT NOT NULL, path TEXT NOT NULL,"
            " status INTEGER NOT NULL, error_code TEXT, entry TEXT NOT NULL);"
            "INSERT INTO request_log (at, method, target, path, status, entry)"
            " VALUES (1, 'GET', '/old', '/old', 200, '{}');"
        )
    with Sandbox(state=path) as sandbox:
        assert sandbox.request_log.list() == []
        with httpx.Client(transport=sandbox.transport(), base_url="http://x") as c:
            c.get("/v1/new")
        assert [r.path for r in sandbox.request_log.list()] == ["/v1/new"]


@pytest.mark.anyio
async def test_an_in_memory_log_is_written_only_when_read(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No other process can read an in-memory store: no timer writes its queue.
    monkeypatch.setattr(requestlog, "FLUSH_DELAY", 0.01)

    def stored() -> int:
        with sandbox.store.transaction() as db:
            count: int = db.execute("SELECT count(*) FROM request_log").fetchone()[0]
        return count

    async with httpx.AsyncClient(
        transport=sandbox.async_transport(), base_url="http://x"
    ) as client:
        await client.get("/v1/a")
        await client.get("/v1/b")
        await asyncio.sleep(0.2)
        assert stored() == 0
        assert [r.path for r in sandbox.request_log.list()] == ["/v1/b", "/v1/a"]
        assert stored() == 2
