from __future__ import annotations

import json
import re

from nuvera_client._cli._common import explain
from nuvera_client._cli.request import request_target
from nuvera_client.errors import error_from_response

from .conftest import run_subprocess


def test_get_prints_status_request_id_and_json(cli, app_env):
    result = cli("request", "GET", "/v1/crypto/assets", "--query", "limit=2")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("HTTP 200 OK  request id req_")
    body = json.loads(result.out.split("\n", 1)[1])
    assert len(body["data"]) == 2


def test_json_output_and_query_encoding(cli, app_env):
    created = cli(
        "request",
        "POST",
        "/customers",
        "--format",
        "json",
        "--json",
        '{"type": "business", "name": "Q Co", "email": "q+1@example.com"}',
    )
    assert created.code == 0, created.err
    assert json.loads(created.out)["status"] == 201
    found = cli(
        "request",
        "GET",
        "/customers",
        "--query",
        "email=q+1@example.com",
        "--format",
        "json",
    )
    assert found.code == 0, found.err
    data = json.loads(found.out)
    assert data["request_id"].startswith("req_")
    assert [c["email"] for c in data["body"]["data"]] == ["q+1@example.com"]


def test_request_target_encoding():
    assert request_target("customers", ["email=a@b.com", "limit=10"]) == (
        "/v1/customers?email=a%40b.com&limit=10"
    )
    assert request_target("/v1/customers?x=1", ["y=a b"]) == "/v1/customers?x=1&y=a%20b"


def test_permission_denied_is_explained_with_exit_1(cli, make_app, monkeypatch):
    app = make_app(["CUSTOMERS_READ"])
    monkeypatch.setenv("NUVERA_API_KEY", app.api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(app.private_key_file))
    monkeypatch.setenv("NUVERA_BASE_URL", app.base_url)
    result = cli("request", "POST", "/payments", "--json", "{}")
    assert result.code == 1
    assert "HTTP 403" in result.out
    assert "Idempotency-Key: " in result.out  # generated for POST /v1/payments
    assert "lacks PAYMENTS_WRITE" in result.err
    assert "Settings > Platform > API Applications" in result.err


def test_idempotent_retry_is_reported_as_replayed(cli, app_env):
    body = '{"type": "individual", "name": "Once", "email": "once@example.com"}'
    argv = ("request", "POST", "/customers", "--json", body, "--format", "json")
    first = cli(*argv, "--idempotency-key", "cli-key-1")
    second = cli(*argv, "--idempotency-key", "cli-key-1")
    a, b = json.loads(first.out), json.loads(second.out)
    assert (a["status"], a["replayed"], a["idempotency_key"]) == (
        201,
        False,
        "cli-key-1",
    )
    assert (b["status"], b["replayed"]) == (201, True)
    assert a["body"]["id"] == b["body"]["id"]
    text = cli(
        "request",
        "POST",
        "/customers",
        "--json",
        body,
        "--idempotency-key",
        "cli-key-1",
    )
    assert "Idempotency-Key: cli-key-1  (replayed response)" in text.out


def test_body_hash_mismatch_is_explained_in_plain_words():
    body = json.dumps(
        {
            "error": {
                "type": "authentication_error",
                "code": "body_hash_mismatch",
                "message": "body_hash does not match",
                "request_id": "req_1",
                "details": {
                    "expected": "b" * 64,
                    "received": "a" * 64,
                    "body_length": 12,
                },
            }
        }
    ).encode()
    lines = explain(error_from_response(401, body), signed_length=10)
    assert (
        f"body_hash mismatch: you signed {'a' * 64} over 10 bytes, the server "
        f"received 12 bytes hashing to {'b' * 64}"
    ) in lines
    assert any(line.startswith("fix:") for line in lines)


def test_uri_mismatch_is_explained():
    body = json.dumps(
        {
            "error": {
                "type": "authentication_error",
                "code": "uri_mismatch",
                "message": "m",
                "details": {"expected": "/v1/a%40b", "received": "/v1/a@b"},
            }
        }
    ).encode()
    lines = explain(error_from_response(401, body))
    assert (
        "uri mismatch: you signed '/v1/a@b', the server received '/v1/a%40b'" in lines
    )


def test_unknown_kid_is_refused_with_exit_1(
    cli, make_app, other_key, monkeypatch, tmp_path
):
    app = make_app(["CRYPTO_READ"])
    from .conftest import write_pair

    wrong, _ = write_pair(tmp_path / "wrong", other_key, "wrong")
    monkeypatch.setenv("NUVERA_API_KEY", app.api_key)
    monkeypatch.setenv("NUVERA_BASE_URL", app.base_url)
    result = cli("request", "GET", "/crypto/assets", "--private-key", str(wrong))
    assert result.code == 1
    assert "unknown_signing_key" in result.err
    assert "Traceback" not in result.err


def test_configuration_errors_exit_2_without_traceback(cli, monkeypatch):
    result = cli("request", "GET", "/customers")
    assert result.code == 2
    assert "no API key" in result.err
    monkeypatch.setenv("NUVERA_API_KEY", "nvk_test_truncated")
    bad = cli("request", "GET", "/customers")
    assert bad.code == 2
    assert "truncated" in bad.err or "characters" in bad.err
    assert "Traceback" not in bad.err


def test_live_key_with_loopback_url_is_refused_locally(cli, app_env, monkeypatch):
    from nuvera_client import ApiKey

    monkeypatch.setenv("NUVERA_API_KEY", ApiKey.generate("live").reveal())
    result = cli("request", "GET", "/customers")
    assert result.code == 2
    assert "live" in result.err


def test_connection_refused_exits_1(cli, app_env, monkeypatch):
    monkeypatch.setenv("NUVERA_BASE_URL", "http://127.0.0.1:9")
    result = cli("request", "GET", "/customers")
    assert result.code == 1
    assert "cannot reach" in result.err


def test_download_to_file(cli, app_env, tmp_path):
    customer = cli(
        "request",
        "POST",
        "/customers",
        "--format",
        "json",
        "--json",
        '{"type": "individual", "name": "Dl", "email": "dl@example.com"}',
    )
    customer_id = json.loads(customer.out)["body"]["id"]
    source = tmp_path / "id.png"
    source.write_bytes(bytes(range(256)) * 10)
    upload = cli(
        "request",
        "POST",
        "/documents",
        "--form",
        f"customer_id={customer_id}",
        "--form",
        "type=id_card",
        "--file",
        f"file=@{source}",
        "--format",
        "json",
    )
    assert upload.code == 0, upload.err
    doc_id = json.loads(upload.out)["body"]["id"]
    target = tmp_path / "copy.png"
    result = cli("request", "GET", f"/documents/{doc_id}/content", "--out", str(target))
    assert result.code == 0, result.err
    assert target.read_bytes() == source.read_bytes()
    assert f"wrote {source.stat().st_size} bytes" in result.out


def test_request_as_subprocess(app_env):
    result = run_subprocess(["request", "GET", "/crypto/networks", "--format", "json"])
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == 200
    assert app_env.api_key not in result.out + result.err


def test_clock_skew_refusal_says_how_far_off(cli, app_env, sandbox_server):
    sandbox_server.sandbox.clock_offset = -600
    try:
        result = cli("request", "GET", "/crypto/assets")
    finally:
        sandbox_server.sandbox.clock_offset = 0
    assert result.code == 1
    assert "token_not_yet_valid" in result.err
    assert re.search(r"clock is about (599|600|601)s ahead of the server's", result.err)
