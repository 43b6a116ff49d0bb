"""The partner's first hour through subprocesses: the CLI against `nuvera sandbox`."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, run_subprocess

pytest.importorskip("nuvera_client._cli.sandbox")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    state = tmp_path / "sandbox.db"
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nuvera_client",
            "sandbox",
            "serve",
            "--state",
            str(state),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    err = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"sandbox serve did not start: {err}")
                time.sleep(0.05)
        yield state, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


def test_partner_story_through_the_cli(served, tmp_path):
    state, base_url = served
    generated = run_subprocess(
        ["keys", "generate", "--out", "keys", "--json"], cwd=tmp_path
    )
    assert generated.code == 0, generated.err
    kid = json.loads(generated.out)["kid"]

    created = run_subprocess(
        [
            "sandbox",
            "app",
            "create",
            "--state",
            str(state),
            "--name",
            "story",
            "--permissions",
            "CUSTOMERS_READ,CUSTOMERS_WRITE,CRYPTO_READ",
            "--public-key",
            str(tmp_path / "keys" / "nuvera_public.pem"),
            "--json",
        ],
    )
    assert created.code == 0, created.err
    app = json.loads(created.out)
    assert app["kid"] == kid

    env = dict(
        os.environ,
        NUVERA_API_KEY=app["api_key"],
        NUVERA_PRIVATE_KEY_FILE=str(tmp_path / "keys" / "nuvera_private.pem"),
        NUVERA_BASE_URL=base_url,
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )
    doctor = run_subprocess(["doctor", "--json"], env=env)
    assert doctor.code == 0, doctor.out + doctor.err
    checks = {c["name"]: c for c in json.loads(doctor.out)["checks"]}
    assert (
        checks["permissions"]["detail"]
        == "CUSTOMERS_READ, CUSTOMERS_WRITE, CRYPTO_READ"
    )

    customer = run_subprocess(
        [
            "request",
            "POST",
            "/customers",
            "--format",
            "json",
            "--json",
            '{"type": "individual", "name": "Story", "email": "story@example.com"}',
        ],
        env=env,
    )
    assert customer.code == 0, customer.err
    assert json.loads(customer.out)["status"] == 201

    denied = run_subprocess(["request", "GET", "/payments"], env=env)
    assert denied.code == 1
    assert "lacks PAYMENTS_READ" in denied.err

    signed = run_subprocess(
        ["sign", "GET", f"{base_url}/v1/customers?email=story%40example.com", "--curl"],
        env=env,
    )
    assert signed.code == 0, signed.err
    line = next(x for x in signed.out.splitlines() if x.startswith("curl "))
    argv = shlex.split(line)
    done = subprocess.run(
        ["/usr/bin/curl", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [c["email"] for c in json.loads(done.stdout)["data"]] == [
        "story@example.com"
    ]

    for text in (generated.out, doctor.out, customer.out, signed.out, denied.err):
        assert app["api_key"] not in text
