"""``nuvera sandbox logs`` and ``nuvera sandbox console`` (without a browser)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from console_support import send_signed
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._cli import main
from nuvera_client._cli.sandbox_console import _running, note_path, server_note
from nuvera_client.sandbox import Sandbox


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sandbox", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def state(tmp_path: Path, console_key: rsa.RSAPrivateKey) -> tuple[str, str]:
    """A state file holding one good request and one body_hash_mismatch."""
    path = tmp_path / "state.sqlite"
    with Sandbox(state=path) as sandbox:
        app = sandbox.create_application(
            name="svc",
            permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE", "CRYPTO_READ"],
            public_key_pem=keys.public_key_pem(console_key),
        )
        send_signed(sandbox, app, console_key)
        send_signed(
            sandbox,
            app,
            console_key,
            method="POST",
            target="/v1/customers",
            body=b'{"a":1}',
            signed_body=b'{"a":2}',
        )
    return str(path), app.api_key


def test_logs_json(capsys: pytest.CaptureFixture[str], state: tuple[str, str]) -> None:
    path, api_key = state
    code, out, _ = run(capsys, "logs", "--state", path, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == [200, 401]  # oldest first, like a log
    refused = rows[1]
    assert refused["error_code"] == "body_hash_mismatch"
    assert refused["check"] == 18
    assert refused["derived"]["body_hash"] != refused["claimed"]["body_hash"]
    assert api_key not in out


def test_logs_text_and_status_filter(
    capsys: pytest.CaptureFixture[str], state: tuple[str, str]
) -> None:
    path, _ = state
    code, out, _ = run(capsys, "logs", "--state", path, "--status", "4xx")
    assert code == 0
    (line,) = out.splitlines()
    assert "401  POST /v1/customers  body_hash_mismatch (check 18)" in line
    code, out, _ = run(capsys, "logs", "--state", path, "--code", "nothing_like_it")
    assert (code, out) == (0, "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--status", "41"), "use a status such as 401"),
        (("--limit", "0"), "--limit must be 1-1000"),
    ],
)
def test_logs_usage_errors(
    capsys: pytest.CaptureFixture[str],
    state: tuple[str, str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    code, _, err = run(capsys, "logs", "--state", state[0], *argv)
    assert code == 2
    assert message in err


def test_logs_without_a_state_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "logs", "--state", str(tmp_path / "none.sqlite"))
    assert code == 2
    assert "no state file" in err


def test_console_reuses_the_server_running_on_the_state(
    capsys: pytest.CaptureFixture[str], state: tuple[str, str], tmp_path: Path
) -> None:
    path = state[0]
    with (
        Sandbox(state=path) as sandbox,
        sandbox.serve(port=0) as server,
        server_note(path, server.base_url),
    ):
        assert note_path(path).is_file()
        code, out, _ = run(
            capsys, "console", "--state", path, "--port", "1", "--no-browser"
        )
        assert code == 0
        assert out.strip() == (
            f"Sandbox console (running server): {server.base_url}/console"
        )
        # A server on another state is not this state's console.
        other = str(tmp_path / "other.sqlite")
        assert _running(other, "127.0.0.1", server.port) is None
    assert not note_path(path).exists()


def test_console_refuses_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "console", "--host", "192.0.2.1", "--no-browser")
    assert code == 2
    assert "loopback only" in err


def _spawn(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nuvera_client", "sandbox", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=10)  # also closes the pipes
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=10)


def test_logs_follow_prints_new_requests(
    state: tuple[str, str], console_key: rsa.RSAPrivateKey
) -> None:
    path = state[0]
    process = _spawn("logs", "--state", path, "--follow", "--json", "--status", "404")
    try:
        with Sandbox(state=path) as sandbox:
            (app,) = sandbox.list_applications()
            created = sandbox.create_application(
                name="late", permissions=["CRYPTO_READ"], public_key_pem=None
            )
            send_signed(
                sandbox,
                created,
                keys.load_private_key(created.private_key_pem or ""),
                target="/v1/no-such-endpoint",
            )
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until --follow prints it
        row = json.loads(line)
        assert row["status"] == 404
        assert row["target"] == "/v1/no-such-endpoint"
        assert row["application_id"] == created.id != app.id
    finally:
        _stop(process)


def test_console_starts_a_server_when_none_runs(tmp_path: Path) -> None:
    path = str(tmp_path / "fresh.sqlite")
    process = _spawn("console", "--state", path, "--port", "0", "--no-browser")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.match(r"Sandbox console: (http://127\.0\.0\.1:\d+)/console ", line)
        assert match, line
        base_url = match.group(1)
        health = httpx.get(base_url + "/console/health").json()
        assert health == {"console": True, "state": str(Path(path).resolve())}
        assert json.loads(note_path(path).read_text())["url"] == base_url
        assert httpx.get(base_url + "/console/signin").status_code == 200
    finally:
        _stop(process)
