"""The porting guide's conformance-checker recipe works as written.

``nuvera sandbox serve`` and ``nuvera sandbox app create … --json`` run as
subprocesses; the guide's reference signer then talks to the server over loopback,
and a tampered body comes back with the diagnostics the guide promises.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .test_reference_signer import SIGNER

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"http://127\.0\.0\.1:\d+")


def _nuvera(*args: str) -> list[str]:
    return [sys.executable, "-u", "-m", "nuvera_client", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NUVERA_")}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state = tmp_path_factory.mktemp("checker") / "conformance.sqlite"
    server = subprocess.Popen(
        _nuvera("sandbox", "serve", "--port", "0", "--create", "--state", str(state)),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        deadline, base_url = time.monotonic() + 30, None
        with selectors.DefaultSelector() as selector:
            selector.register(server.stdout, selectors.EVENT_READ)
            while base_url is None and time.monotonic() < deadline:
                if selector.select(timeout=1):
                    line = server.stdout.readline()
                    assert line, "the sandbox exited before serving"
                    found = URL.search(line)
                    base_url = found.group(0) if found else None
        assert base_url is not None, "the sandbox did not say where it listens"
        yield base_url, state
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


@pytest.fixture(scope="module")
def application(
    served: tuple[str, Path],
    key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    _, state = served
    public = tmp_path_factory.mktemp("keys") / "go_sdk_public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    result = subprocess.run(
        _nuvera(
            "sandbox", "app", "create", "--state", str(state), "--name", "go-sdk",
            "--permissions", "CUSTOMERS_READ,CUSTOMERS_WRITE",
            "--public-key", str(public), "--json",
        ),
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created: dict[str, str] = json.loads(result.stdout)
    assert set(created) == {"application_id", "api_key", "kid", "base_url"}
    assert created["base_url"] == "http://127.0.0.1:8787"
    return created


def _send(
    base_url: str,
    app: dict[str, str],
    key: rsa.RSAPrivateKey,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    sent_body: bytes | None = None,
) -> httpx.Response:
    token = SIGNER["sign"](
        key, method, target, body, int(time.time()), secrets.token_hex(16)
    )
    headers = {"x-api-key": app["api_key"], "Authorization": f"Bearer {token}"}
    if body:
        headers["Content-Type"] = "application/json"
    return httpx.request(
        method,
        base_url + target,
        content=body if sent_body is None else sent_body,
        headers=headers,
        timeout=10,
    )


def test_the_kid_printed_is_the_one_the_reference_signer_derives(
    application: dict[str, str], key: rsa.RSAPrivateKey
) -> None:
    assert SIGNER["kid_of"](key.public_key()) == application["kid"]


def test_reference_signer_is_accepted_over_loopback(
    served: tuple[str, Path], application: dict[str, str], key: rsa.RSAPrivateKey
) -> None:
    base_url, _ = served
    body = json.dumps(
        {"type": "individual", "name": "Zoë", "email": "zoe@example.com"},
        ensure_ascii=False,
    ).encode()
    created = _send(base_url, application, key, "POST", "/v1/customers", body)
    assert created.status_code == 201, created.text
    found = _send(
        base_url, application, key, "GET", "/v1/customers?email=zoe%40example.com"
    )
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["data"]] == [created.json()["id"]]


def test_a_tampered_body_is_explained(
    served: tuple[str, Path], application: dict[str, str], key: rsa.RSAPrivateKey
) -> None:
    base_url, _ = served
    signed = b'{"type":"individual","name":"A","email":"a@example.com"}'
    sent = signed.replace(b'"A"', b'"B"')
    refused = _send(
        base_url, application, key, "POST", "/v1/customers", signed, sent_body=sent
    )
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "body_hash_mismatch"
    assert error["details"]["body_length"] == len(sent)
    assert {error["details"]["expected"], error["details"]["received"]} == {
        hashlib.sha256(sent).hexdigest(),
        hashlib.sha256(signed).hexdigest(),
    }
