"""``nuvera sandbox …``: the bootstrap contract, exit codes, and acting on a state
file while a server runs on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import claims, kid_of, mint, public_pem

from nuvera_client._cli import main
from nuvera_client.sandbox._app import USAGE_FLUSH_DELAY


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sandbox", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def pem_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> str:
    path = tmp_path / "public.pem"
    path.write_text(public_pem(rsa_key))
    return str(path)


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite")


def create(
    capsys: pytest.CaptureFixture[str], state: str, pem: str, *extra: str
) -> dict[str, str]:
    code, out, err = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "svc",
        "--permissions",
        "CUSTOMERS_READ,PAYMENTS_READ",
        "--public-key",
        pem,
        "--json",
        *extra,
    )
    assert code == 0, err
    created: dict[str, str] = json.loads(out)
    return created


def test_app_create_json_prints_exactly_the_contract(
    capsys: pytest.CaptureFixture[str],
    state: str,
    pem_file: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    code, out, _ = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "svc",
        "--permissions",
        "CUSTOMERS_READ,PAYMENTS_READ",
        "--public-key",
        pem_file,
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["application_id", "api_key", "kid", "base_url"]
    assert data["base_url"] == "http://127.0.0.1:8787"
    assert out.count("\n") == 1
    assert data["kid"] == kid_of(rsa_key.public_key())
    assert data["api_key"].encode() not in Path(state).read_bytes()


def test_exit_codes(
    capsys: pytest.CaptureFixture[str], state: str, pem_file: str, tmp_path: Path
) -> None:
    created = create(capsys, state, pem_file)
    app_id = created["application_id"]
    # 1: refused by the platform.
    code, _, err = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "x",
        "--permissions",
        "CUSTOMERS_READ",
        "--public-key",
        pem_file,
        "--as",
        "customer@sandbox.local",
    )
    assert code == 1
    assert "forbidden" in err
    code, _, err = run(
        capsys,
        "app",
        "permissions",
        app_id,
        "--state",
        state,
        "--set",
        "PAYMENTS_WRITE",
    )
    assert code == 1
    assert "PAYMENTS_READ" in err
    code, _, _ = run(capsys, "app", "show", "app_nope", "--state", state)
    assert code == 1
    # 2: usage and configuration.
    code, _, err = run(
        capsys, "app", "list", "--state", str(tmp_path / "missing.sqlite")
    )
    assert code == 2
    code, _, err = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "g",
        "--permissions",
        "CRYPTO_READ",
        "--generate-key",
        "--json",
    )
    assert code == 2
    assert "--private-key-out" in err
    code, _, err = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "g",
        "--permissions",
        "CRYPTO_READ",
        "--public-key",
        str(tmp_path / "none.pem"),
    )
    assert code == 2
    not_db = tmp_path / "not.sqlite"
    not_db.write_text("hello, not a database" * 100)
    code, _, err = run(capsys, "app", "list", "--state", str(not_db))
    assert code == 2
    assert main(["sandbox", "serve", "--host", "192.0.2.1"]) == 2
    assert main(["sandbox", "serve", "--rate-limit", "fast"]) == 2
    capsys.readouterr()


def test_generate_key_writes_private_key_0600(
    capsys: pytest.CaptureFixture[str], state: str, tmp_path: Path
) -> None:
    out_file = tmp_path / "private.pem"
    code, out, _ = run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "g",
        "--permissions",
        "CRYPTO_READ",
        "--generate-key",
        "--private-key-out",
        str(out_file),
        "--json",
    )
    assert code == 0
    assert "PRIVATE" not in out
    assert out_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (out_file.stat().st_mode & 0o777) == 0o600


def test_management_commands(
    capsys: pytest.CaptureFixture[str],
    state: str,
    pem_file: str,
    tmp_path: Path,
    rsa_key_2: rsa.RSAPrivateKey,
) -> None:
    app_id = create(capsys, state, pem_file)["application_id"]
    code, out, _ = run(
        capsys,
        "users",
        "create",
        "--state",
        state,
        "--email",
        "eve@x.example",
        "--role",
        "partner",
        "--organisation",
        "X Ltd",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["role"] == "partner"
    assert (
        run(capsys, "app", "show", app_id, "--state", state, "--as", "eve@x.example")[0]
        == 1
    )
    assert (
        run(
            capsys,
            "app",
            "disable",
            app_id,
            "--state",
            state,
            "--as",
            "admin@nuvera.local",
        )[0]
        == 0
    )
    assert run(capsys, "app", "enable", app_id, "--state", state)[0] == 0
    code, out, _ = run(
        capsys,
        "app",
        "permissions",
        app_id,
        "--state",
        state,
        "--set",
        "CRYPTO_READ",
        "--json",
    )
    assert json.loads(out)["permissions"] == ["CRYPTO_READ"]
    code, out, _ = run(
        capsys,
        "keys",
        "rotate-api-key",
        app_id,
        "--state",
        state,
        "--grace-period",
        "60",
        "--json",
    )
    rotated = json.loads(out)
    assert rotated["api_key"].startswith("nvk_test_")
    assert run(capsys, "keys", "rotate-api-key", app_id, "--state", state)[0] == 1
    old_prefix = rotated["previous_prefixes"][0]
    assert (
        run(capsys, "keys", "revoke-api-key", app_id, old_prefix, "--state", state)[0]
        == 0
    )
    pem2 = tmp_path / "two.pem"
    pem2.write_text(public_pem(rsa_key_2))
    code, out, _ = run(
        capsys,
        "keys",
        "add-signing-key",
        app_id,
        "--public-key",
        str(pem2),
        "--state",
        state,
        "--json",
    )
    kid2 = json.loads(out)["kid"]
    assert (
        run(capsys, "keys", "remove-signing-key", app_id, kid2, "--state", state)[0]
        == 0
    )
    code, out, _ = run(capsys, "app", "show", app_id, "--state", state, "--json")
    view = json.loads(out)
    assert [k["status"] for k in view["api_keys"]] == ["revoked", "active"]
    assert rotated["api_key"] not in out
    code, out, _ = run(capsys, "app", "list", "--state", state)
    assert app_id in out
    code, out, _ = run(
        capsys, "audit", "--state", state, "--application", app_id, "--json"
    )
    actions = [e["action"] for e in json.loads(out)]
    assert actions == [
        "application.create",
        "application.disable",
        "application.enable",
        "application.set_permissions",
        "api_key.rotate",
        "api_key.revoke",
        "signing_key.add",
        "signing_key.remove",
    ]
    code, out, _ = run(capsys, "audit", "--state", state)
    assert "admin@nuvera.local" in out


@contextmanager
def serving(state: str, *, sigkill: bool = False) -> Iterator[str]:
    """``nuvera sandbox serve --state FILE --port 0`` as a real subprocess.

    With ``sigkill`` the server is killed outright at the end (no clean shutdown).
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = ["sandbox", "serve", "--state", state, "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuvera_client", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "Nuvera sandbox on http://127.0.0.1:" in line, line
        yield line.split(" on ", 1)[1].split(" ", 1)[0]
    finally:
        if sigkill:
            proc.kill()
        else:
            proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture
def served_state(
    state: str, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, str]]:
    """A state file with a server running on it."""
    argv = ["users", "create", "--state", state, "--email", "seed@x.example"]
    assert main(["sandbox", *argv, "--role", "partner"]) == 0
    capsys.readouterr()
    with serving(state) as base_url:
        yield state, base_url


def _get(
    base_url: str, api_key: str, key: rsa.RSAPrivateKey, target: str
) -> httpx.Response:
    import time

    token = mint(
        key,
        kid=kid_of(key.public_key()),
        payload=claims("GET", target, now=int(time.time())),
    )
    return httpx.get(
        base_url + target,
        headers={"x-api-key": api_key, "authorization": f"Bearer {token}"},
    )


def test_cli_acts_on_the_state_file_while_the_server_runs(
    capsys: pytest.CaptureFixture[str],
    served_state: tuple[str, str],
    pem_file: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    state, base_url = served_state
    created = create(capsys, state, pem_file)
    app_id, api_key = created["application_id"], created["api_key"]
    # Created while the server runs: works at once (no route => 404 after 1-18 pass).
    first = _get(base_url, api_key, rsa_key, "/v1/nothing")
    assert first.status_code == 404, first.text
    assert run(capsys, "app", "disable", app_id, "--state", state)[0] == 0
    refused = _get(base_url, api_key, rsa_key, "/v1/nothing")
    assert refused.json()["error"]["code"] == "application_disabled"
    assert run(capsys, "app", "enable", app_id, "--state", state)[0] == 0
    _code, out, _ = run(
        capsys,
        "keys",
        "rotate-api-key",
        app_id,
        "--state",
        state,
        "--grace-period",
        "0",
        "--json",
    )
    new_key = json.loads(out)["api_key"]
    assert (
        _get(base_url, api_key, rsa_key, "/v1/nothing").json()["error"]["code"]
        == "api_key_revoked"
    )
    assert _get(base_url, new_key, rsa_key, "/v1/nothing").status_code == 404
    # Usage is batched: it reaches the file within USAGE_FLUSH_DELAY, not at once.
    deadline = time.monotonic() + 5
    while True:
        _, out, _ = run(capsys, "app", "show", app_id, "--state", state, "--json")
        keys = json.loads(out)["api_keys"]
        counts = [key["request_count"] for key in keys]
        if counts == [1, 1] or time.monotonic() > deadline:
            break
        time.sleep(USAGE_FLUSH_DELAY)
    assert counts == [1, 1]


def test_restarting_the_server_loses_nothing(
    capsys: pytest.CaptureFixture[str],
    state: str,
    pem_file: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    created = create(capsys, state, pem_file)
    api_key = created["api_key"]
    with serving(state) as base_url:
        assert _get(base_url, api_key, rsa_key, "/v1/nothing").status_code == 404
    with serving(state) as base_url:
        assert _get(base_url, api_key, rsa_key, "/v1/nothing").status_code == 404
    _, out, _ = run(
        capsys, "app", "show", created["application_id"], "--state", state, "--json"
    )
    assert json.loads(out)["api_keys"][0]["request_count"] == 2


def test_sigterm_writes_the_batched_usage_and_request_log(
    capsys: pytest.CaptureFixture[str],
    state: str,
    pem_file: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    # Usage counts and the request log are batched in memory; a SIGTERM (what
    # `serving` sends) still ends `serve` by closing the sandbox, which writes both.
    created = create(capsys, state, pem_file)
    with serving(state) as base_url:
        assert (
            _get(base_url, created["api_key"], rsa_key, "/v1/nothing").status_code
            == 404
        )
    _, out, _ = run(capsys, "logs", "--state", state, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["target"], r["status"]) for r in rows] == [("/v1/nothing", 404)]
    _, out, _ = run(
        capsys, "app", "show", created["application_id"], "--state", state, "--json"
    )
    assert json.loads(out)["api_keys"][0]["request_count"] == 1


def test_a_token_seen_before_a_sigkill_is_refused_after_the_restart(
    capsys: pytest.CaptureFixture[str],
    state: str,
    pem_file: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    # The replay store is written before the answer (WAL, synchronous=NORMAL): a
    # server killed outright right after answering still remembers the jti.
    created = create(capsys, state, pem_file)
    token = mint(
        rsa_key,
        kid=kid_of(rsa_key.public_key()),
        payload=claims("GET", "/v1/nothing", now=int(time.time())),
    )
    headers = {"x-api-key": created["api_key"], "authorization": f"Bearer {token}"}
    with serving(state, sigkill=True) as base_url:
        assert httpx.get(base_url + "/v1/nothing", headers=headers).status_code == 404
    with serving(state) as base_url:
        again = httpx.get(base_url + "/v1/nothing", headers=headers)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "replayed_jti"


def test_a_kid_starting_with_a_dash_is_a_positional() -> None:
    # 1 kid in 64 starts with "-": argparse must not take it for an option.
    from nuvera_client._cli import build_parser

    kid = "-" + "Ab9_" * 10 + "xy"  # 43 characters, like every kid
    args = build_parser().parse_args(
        ["sandbox", "keys", "remove-signing-key", "app_1", kid, "--state", "s.db"]
    )
    assert args.kid == kid
    assert args.state == "s.db"
