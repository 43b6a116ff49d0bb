"""The request log: what it keeps, what it never keeps, filters, retention."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from console_support import send_signed, sha256_hex
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from nuvera_client.sandbox import CreatedApplication, Sandbox
from nuvera_client.sandbox._transport import SandboxTransport
from nuvera_client.sandbox.console._requestlog import (
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
