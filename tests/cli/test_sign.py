from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest

from nuvera_client import keys

from .conftest import private_key_lines, run_subprocess

CURL = "/usr/bin/curl"


def run_curl(
    script: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """Run the printed script with ``sh``, as a user would; return status and JSON."""
    assert script.startswith("#!/bin/sh\n")
    line = curl_line(script)
    measured = script.replace(
        line, f"{CURL} --write-out '\\n%{{http_code}}' {line[5:]}"
    )
    done = subprocess.run(
        ["/bin/sh", "-c", measured],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def curl_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("curl "))


def script_files(line: str) -> Path:
    """The private directory named by a curl line (token and body files)."""
    argv = shlex.split(line.split(" <<", 1)[0])
    return Path(argv[argv.index("--header") + 1][1:]).parent


def test_sign_masks_the_token_and_shows_claims(cli, app_env):
    body = '{"type":"individual","name":"Ada","email":"ada@example.com"}'
    result = cli("sign", "POST", "/v1/customers", "--json", body)
    assert result.code == 0, result.err
    assert "Authorization: Bearer eyJ" in result.out
    assert "redacted" in result.out
    assert app_env.api_key not in result.out
    assert "x-api-key: " + app_env.api_key[:13] in result.out
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert f"body_hash: {digest}" in result.out
    assert "uri: /v1/customers" in result.out
    assert "method: POST" in result.out
    assert app_env.kid in result.out


def test_show_token_prints_a_token_that_verifies(cli, app_env, rsa_key):
    result = cli(
        "sign",
        "get",
        f"{app_env.base_url}/v1/customers?email=a%40b.com&limit=10",
        "--show-token",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    token = data["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(
        token,
        keys.public_key_pem(rsa_key),
        algorithms=["RS256"],
        audience="nuvera-rest-api",
    )
    assert claims["uri"] == "/v1/customers?email=a%40b.com&limit=10"
    assert claims["method"] == "GET"
    assert claims["body_hash"] == hashlib.sha256(b"").hexdigest()
    assert claims == data["claims"]
    assert jwt.get_unverified_header(token)["kid"] == app_env.kid


def test_sign_data_file_hashes_the_exact_bytes(cli, app_env, tmp_path):
    raw = b'{"a": 1}\n\x00\xff'
    path = tmp_path / "body.bin"
    path.write_bytes(raw)
    result = cli(
        "sign", "POST", "/v1/customers", "--data", f"@{path}", "--format", "json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["claims"]["body_hash"] == hashlib.sha256(raw).hexdigest()
    assert data["body_length"] == len(raw)


def test_sign_rejects_two_bodies_and_bad_json(cli, app_env):
    both = cli("sign", "POST", "/v1/customers", "--json", "{}", "--data", "x")
    assert both.code == 2
    assert "only one of" in both.err
    bad = cli("sign", "POST", "/v1/customers", "--json", "{nope")
    assert bad.code == 2
    assert "not valid JSON" in bad.err
    assert "Traceback" not in bad.err


def test_sign_without_private_key_is_a_configuration_error(cli, monkeypatch):
    result = cli("sign", "GET", "http://127.0.0.1:9/v1/customers")
    assert result.code == 2
    assert "no private key" in result.err


def test_curl_json_body_is_accepted(cli, app_env):
    body = '{"type": "individual", "name": "Curl Person", "email": "curl@example.com"}'
    result = cli("sign", "POST", "/v1/customers", "--json", body, "--curl")
    assert result.code == 0, result.err
    line = curl_line(result.out)
    assert app_env.api_key not in result.out
    assert "--data-binary @" in line
    directory = script_files(line)
    assert stat.S_IMODE((directory / "token").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    status, payload = run_curl(result.out)
    assert status == 201, payload
    assert payload["email"] == "curl@example.com"
    assert payload["id"].startswith("cus_")


def test_curl_get_with_encoded_query_is_accepted(cli, app_env):
    result = cli(
        "sign",
        "GET",
        f"{app_env.base_url}/v1/customers?email=nobody%40example.com&limit=5",
        "--curl",
    )
    assert result.code == 0, result.err
    status, payload = run_curl(result.out)
    assert status == 200, payload
    assert payload["data"] == []


def test_curl_multipart_upload_is_accepted(cli, app_env, tmp_path):
    created = cli(
        "request",
        "POST",
        "/customers",
        "--format",
        "json",
        "--json",
        '{"type": "individual", "name": "Doc Owner", "email": "doc@example.com"}',
    )
    assert created.code == 0, created.err
    customer_id = json.loads(created.out)["body"]["id"]
    document = tmp_path / "passport.pdf"
    document.write_bytes(b"%PDF-1.4 fake passport\n" * 100)
    result = cli(
        "sign",
        "POST",
        "/v1/documents",
        "--form",
        f"customer_id={customer_id}",
        "--form",
        "type=passport",
        "--file",
        f"file=@{document}",
        "--curl",
    )
    assert result.code == 0, result.err
    line = curl_line(result.out)
    assert "multipart/form-data; boundary=" in line
    status, payload = run_curl(result.out)
    assert status == 201, payload
    assert payload["size"] == document.stat().st_size
    assert payload["sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()


def test_curl_needs_an_api_key(cli, app_env, monkeypatch):
    monkeypatch.delenv("NUVERA_API_KEY")
    result = cli("sign", "GET", "/v1/customers", "--curl")
    assert result.code == 2
    assert "no API key" in result.err


def test_sign_as_subprocess_never_prints_secrets(app_env):
    result = run_subprocess(["sign", "POST", "/v1/customers", "--json", "{}", "--curl"])
    assert result.code == 0, result.err
    everything = result.out + result.err
    assert app_env.api_key not in everything
    for line in private_key_lines(app_env.private_pem):
        assert line not in everything
    token_file = (script_files(curl_line(result.out)) / "token").read_text()
    token = token_file.split("Bearer ", 1)[1].strip()
    assert token not in everything


@pytest.mark.parametrize("header", ["Authorization: x", "x-api-key: y", "nocolon"])
def test_sign_rejects_bad_extra_headers(cli, app_env, header):
    assert cli("sign", "GET", "/v1/customers", "--header", header).code == 2


def test_full_url_gets_the_base_url_checks(cli, app_env):
    plain_remote = cli("sign", "GET", "http://api.example.com/v1/customers")
    assert plain_remote.code == 2
    assert "plain http" in plain_remote.err
    live = cli("sign", "GET", "https://api.nuvera.com/v1/customers")
    assert live.code == 2  # a test key against production
    assert "test API key" in live.err


def test_curl_writes_only_the_script_on_stdout(cli, app_env):
    result = cli("sign", "POST", "/v1/customers", "--json", "{}", "--curl")
    assert result.code == 0, result.err
    assert result.out.startswith("#!/bin/sh\n")
    assert "claims:" not in result.out
    assert "claims:" in result.err  # the summary went to stderr
    assert "jti:" in result.err
    lines = result.out.splitlines()
    assert all(x.startswith(("#", "curl ", "x-api-key: $", "NUVERA_")) for x in lines)


def test_curl_leaves_no_api_key_on_disk(cli, app_env):
    result = cli("sign", "POST", "/v1/customers", "--json", "{}", "--curl")
    directory = script_files(curl_line(result.out))
    files = list(directory.iterdir())
    assert {f.name for f in files} == {"token", "body"}
    for file in files:
        assert app_env.api_key.encode() not in file.read_bytes()
    assert "x-api-key: ${NUVERA_API_KEY:?" in result.out


def test_curl_reads_an_api_key_file_when_it_runs(cli, app_env, monkeypatch, tmp_path):
    key_file = tmp_path / "api key.txt"
    key_file.write_text(app_env.api_key)
    key_file.chmod(0o600)  # group/other-readable key files are refused
    monkeypatch.delenv("NUVERA_API_KEY")
    result = cli(
        "sign", "GET", "/v1/customers", "--api-key-file", str(key_file), "--curl"
    )
    assert result.code == 0, result.err
    assert app_env.api_key not in result.out
    assert "$(cat " in result.out
    status, payload = run_curl(result.out, env={"NUVERA_API_KEY": ""})
    assert status == 200, payload


def test_curl_script_without_the_variable_stops_before_sending(cli, app_env):
    result = cli("sign", "GET", "/v1/customers", "--curl")
    env = {k: v for k, v in os.environ.items() if k != "NUVERA_API_KEY"}
    done = subprocess.run(
        ["/bin/sh", "-c", result.out],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "export NUVERA_API_KEY first" in done.stderr


def test_sign_token_lifetime_defaults_to_30_seconds(cli, app_env):
    result = cli("sign", "GET", "/v1/customers", "--format", "json")
    claims = json.loads(result.out)["claims"]
    assert claims["exp"] - claims["iat"] == 30
