"""The partner's first hour through subprocesses: the CLI against `nuvera sandbox`."""

from __future__ import annotations

import json
import os
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
            "--create",
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
    # stdout is the script alone; it reads the API key from the environment.
    assert signed.out.startswith("#!/bin/sh\n")
    done = subprocess.run(
        ["/bin/sh", "-c", signed.out],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert [c["email"] for c in json.loads(done.stdout)["data"]] == [
        "story@example.com"
    ]

    for text in (generated.out, doctor.out, customer.out, signed.out, denied.err):
        assert app["api_key"] not in text


def test_rotation_and_recording_through_the_cli(served, tmp_path):
    state, base_url = served
    old = tmp_path / "old"
    new = tmp_path / "new"
    for directory in (old, new):
        result = run_subprocess(
            ["keys", "generate", "--bits", "2048", "--out", str(directory)]
        )
        assert result.code == 0, result.err
    created = run_subprocess(
        [
            "sandbox",
            "app",
            "create",
            "--state",
            str(state),
            "--name",
            "rot",
            "--permissions",
            "CUSTOMERS_READ,CUSTOMERS_WRITE,CRYPTO_READ",
            "--public-key",
            str(old / "nuvera_public.pem"),
            "--json",
        ],
    )
    assert created.code == 0, created.err
    app = json.loads(created.out)
    env = dict(
        os.environ,
        NUVERA_API_KEY=app["api_key"],
        NUVERA_PRIVATE_KEY_FILE=str(old / "nuvera_private.pem"),
        NUVERA_BASE_URL=base_url,
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )

    def sandbox(*argv: str) -> dict[str, object]:
        done = run_subprocess(
            ["sandbox", "keys", *argv, "--state", str(state), "--json"]
        )
        assert done.code == 0, done.err
        return json.loads(done.out) if done.out.strip() else {}

    def plan(*argv: str) -> tuple[int, dict[int, str]]:
        done = run_subprocess(["rotate", "plan", "--check", "--json", *argv], env=env)
        steps = json.loads(done.out)["steps"]
        return done.code, {s["number"]: s["status"] for s in steps}

    signing = (
        "--kind",
        "signing-key",
        "--new-private-key",
        str(new / "nuvera_private.pem"),
    )
    assert plan(*signing) == (
        1,
        {1: "ok", 2: "pending", 3: "fail", 4: "pending", 5: "pending"},
    )
    sandbox(
        "add-signing-key",
        app["application_id"],
        "--public-key",
        str(new / "nuvera_public.pem"),
    )
    assert plan(*signing) == (
        0,
        {1: "ok", 2: "ok", 3: "ok", 4: "pending", 5: "pending"},
    )
    sandbox("remove-signing-key", app["application_id"], app["kid"])
    env["NUVERA_PRIVATE_KEY_FILE"] = str(new / "nuvera_private.pem")
    old_key = ("--old-private-key", str(old / "nuvera_private.pem"))
    assert plan(*signing, *old_key) == (
        0,
        {1: "ok", 2: "ok", 3: "ok", 4: "ok", 5: "ok"},
    )

    rotated = sandbox("rotate-api-key", app["application_id"])
    new_key_file = tmp_path / "new.key"
    new_key_file.write_text(str(rotated["api_key"]))
    api = ("--kind", "api-key", "--new-api-key-file", str(new_key_file))
    assert plan(*api) == (0, {1: "ok", 2: "ok", 3: "pending", 4: "pending"})
    sandbox("revoke-api-key", app["application_id"], app["api_key"][:13])
    old_key_file = tmp_path / "old.key"
    old_key_file.write_text(app["api_key"])
    env["NUVERA_API_KEY"] = str(rotated["api_key"])
    assert plan(*api, "--old-api-key-file", str(old_key_file)) == (
        0,
        {1: "ok", 2: "ok", 3: "ok", 4: "ok"},
    )

    script = tmp_path / "service.py"
    script.write_text(
        "try:\n"
        "    from nuvera_client import NuveraClient\n"
        "except ImportError:\n"
        "    from nuvera_client._client import NuveraClient\n"
        "with NuveraClient() as client:\n"
        "    list(client.crypto.networks.list())\n"
        "    client.customers.list().first_page()\n"
    )
    env["PYTHONPATH"] = str(REPO)
    recorded = run_subprocess(
        ["permissions", "record", "--json", "--", sys.executable, str(script)], env=env
    )
    assert recorded.code == 0, recorded.err
    assert json.loads(recorded.out)["permissions"] == ["CUSTOMERS_READ", "CRYPTO_READ"]
    doctor = run_subprocess(["doctor"], env=env)
    assert doctor.code == 0, doctor.out
