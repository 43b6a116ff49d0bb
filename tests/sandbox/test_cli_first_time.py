"""``nuvera sandbox``: the first-time path (export line, state typos, one spelling of
permissions, ``nuvera:`` messages) and ``serve --verbose``'s request log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import claims, kid_of, mint, public_pem

from nuvera_client._cli import main
from nuvera_client._cli._request_log import RequestLog, redacted_target
from nuvera_client.sandbox import Sandbox


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


def _create(capsys: pytest.CaptureFixture[str], state: str, pem: str, *extra: str):
    return run(
        capsys,
        "app",
        "create",
        "--state",
        state,
        "--name",
        "svc",
        "--public-key",
        pem,
        *extra,
    )


def test_app_create_prints_the_export_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pem_file: str
) -> None:
    state = str(tmp_path / "s.sqlite")
    code, out, err = _create(capsys, state, pem_file, "--permissions", "CRYPTO_READ")
    assert code == 0, err
    assert "export NUVERA_BASE_URL=http://127.0.0.1:8787" in out
    assert f"nuvera sandbox serve --state {state}" in out
    assert f"nuvera: creating a new state file {state}" in err


def test_state_typo_is_refused_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pem_file: str
) -> None:
    state = tmp_path / "sandbox.sqlite"
    assert _create(capsys, str(state), pem_file, "--permissions", "CRYPTO_READ")[0] == 0
    typo = tmp_path / "sandbx.sqlite"
    for argv in (
        ["app", "list", "--state", str(typo)],
        ["serve", "--port", "0", "--state", str(typo)],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert err.startswith("nuvera: error: no state file at"), err
        assert "--create" in err
        assert not typo.exists()


def test_serve_create_needs_an_existing_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope" / "s.sqlite"
    code, _, err = run(capsys, "serve", "--create", "--state", str(missing))
    assert code == 2
    assert "no directory" in err


def test_permissions_has_one_spelling_and_accepts_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pem_file: str
) -> None:
    state = str(tmp_path / "s.sqlite")
    code, out, err = _create(capsys, state, pem_file, "--set", "CRYPTO_READ", "--json")
    assert code == 0, err
    app_id = __import__("json").loads(out)["application_id"]
    for flag, value in (("--permissions", "CUSTOMERS_READ"), ("--set", "SUPPORT_READ")):
        argv = ["app", "permissions", app_id, "--state", state, flag, value]
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, err
        assert value in out


def test_refusals_and_errors_are_prefixed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pem_file: str
) -> None:
    state = str(tmp_path / "s.sqlite")
    code, _, err = _create(capsys, state, pem_file, "--permissions", "CUSTOMERS_WRITE")
    assert code == 1
    assert "nuvera: refused (invalid_permissions)" in err
    assert all(line.startswith("nuvera: ") for line in err.splitlines()), err
    code, _, err = run(capsys, "serve", "--host", "192.0.2.1")
    assert code == 2
    assert err.startswith("nuvera: error: refusing to serve"), err


def test_redacted_target_keeps_names_drops_values() -> None:
    assert redacted_target("/v1/customers", b"") == "/v1/customers"
    assert (
        redacted_target("/v1/customers", b"email=a%40b.com&limit=2")
        == "/v1/customers?email=…&limit=…"
    )
    assert redacted_target("/v1/x", b"secretvalue") == "/v1/x?secretvalue=…"


@pytest.mark.anyio
async def test_request_log_one_line_per_request(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    lines: list[str] = []
    with Sandbox() as sandbox:
        app = sandbox.create_application(
            name="log", permissions=["CRYPTO_READ"], public_key_pem=public_pem(rsa_key)
        )
        transport = httpx.ASGITransport(app=RequestLog(sandbox.app, lines.append))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as http:
            target = "/v1/customers?email=ada%40example.com"
            token = mint(
                rsa_key,
                kid=kid_of(rsa_key.public_key()),
                payload=claims("GET", target, now=int(time.time())),
            )
            refused = await http.get(
                target,
                headers={"x-api-key": app.api_key, "authorization": f"Bearer {token}"},
            )
            missing = await http.get("/v1/crypto/assets")
    assert refused.status_code == 403
    assert len(lines) == 2
    request_id = refused.headers["x-request-id"]
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d GET /v1/customers\?email=… 403 permission_denied "
        + re.escape(request_id),
        lines[0],
    ), lines[0]
    assert " 401 missing_api_key " in lines[1]
    assert missing.status_code == 401
    everything = "\n".join(lines)
    assert app.api_key not in everything
    assert "ada" not in everything
    assert "eyJ" not in everything


def test_serve_prints_export_line_and_verbose_log(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nuvera_client",
            "sandbox",
            "serve",
            "--port",
            "0",
            "-v",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        base_url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        export = proc.stdout.readline()
        assert export.startswith(f"export NUVERA_BASE_URL={base_url}"), export
        response = httpx.get(base_url + "/v1/customers?limit=1")
        assert response.status_code == 401
        line = proc.stderr.readline()
        assert "GET /v1/customers?limit=… 401 missing_api_key req_" in line, line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
