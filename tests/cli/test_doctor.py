from __future__ import annotations

import json
from typing import Any

import pytest

from nuvera_client import ApiKey

from .conftest import ALL_PERMISSIONS, run_subprocess, write_pair


def checks_of(out: str) -> dict[str, dict[str, Any]]:
    data = json.loads(out)
    return {c["name"]: c for c in data["checks"]}


def use(monkeypatch, app, private_key_file=None) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", app.api_key)
    monkeypatch.setenv(
        "NUVERA_PRIVATE_KEY_FILE", str(private_key_file or app.private_key_file)
    )
    monkeypatch.setenv("NUVERA_BASE_URL", app.base_url)


def test_all_checks_pass_and_permissions_are_listed(cli, app_env):
    result = cli("doctor", "--public-key", str(app_env.public_key_file))
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    for name in (
        "api key",
        "base url",
        "private key",
        "key pair",
        "server kid",
        "clock",
        "round trip",
        "permissions",
    ):
        assert any(name in line and "[  OK]" in line for line in lines), name
    assert result.out.rstrip().endswith("all checks passed")
    assert app_env.api_key not in result.out


@pytest.mark.parametrize(
    "granted",
    [
        ("CUSTOMERS_READ",),
        ("CRYPTO_READ", "PAYMENTS_READ", "PAYMENTS_WRITE"),
        ("DOCUMENTS_READ", "DOCUMENTS_WRITE", "SUPPORT_READ", "SUPPORT_WRITE"),
        ("BENEFICIARIES_READ", "BENEFICIARIES_WRITE", "SCREENING_READ"),
        ALL_PERMISSIONS,
    ],
)
def test_permission_probes_find_exactly_the_granted_set(
    cli, make_app, monkeypatch, granted
):
    app = make_app(granted)
    use(monkeypatch, app)
    result = cli("doctor", "--json")
    assert result.code == 0, result.out
    found = checks_of(result.out)["permissions"]
    assert found["status"] == "ok", found
    assert set(found["detail"].split(", ")) == set(granted)


def test_probes_create_nothing(cli, app_env, sandbox_server):
    assert cli("doctor").code == 0
    listed = cli("request", "GET", "/customers", "--format", "json")
    assert json.loads(listed.out)["body"]["data"] == []


def test_unknown_kid_fails_with_a_fix(cli, make_app, monkeypatch, other_key, tmp_path):
    app = make_app(["CRYPTO_READ"])
    wrong, _ = write_pair(tmp_path / "wrong", other_key, "wrong")
    use(monkeypatch, app, wrong)
    result = cli("doctor", "--json")
    assert result.code == 1
    checks = checks_of(result.out)
    assert checks["server kid"]["status"] == "fail"
    assert "does not know kid" in checks["server kid"]["detail"]
    assert "upload" in checks["server kid"]["fix"]
    assert checks["round trip"]["status"] == "fail"
    assert "permissions" not in checks


def test_public_key_mismatch(cli, app_env, other_key, tmp_path):
    _, other_public = write_pair(tmp_path / "o", other_key, "o")
    result = cli("doctor", "--public-key", str(other_public), "--offline")
    assert result.code == 1
    assert "[FAIL] key pair" in result.out
    assert "fix: " in result.out


def test_bad_api_key_fails_locally_with_a_fix(cli, app_env, monkeypatch):
    broken = app_env.api_key[:-1] + ("A" if app_env.api_key[-1] != "A" else "B")
    monkeypatch.setenv("NUVERA_API_KEY", broken)
    result = cli("doctor", "--json")
    assert result.code == 1
    checks = checks_of(result.out)
    assert checks["api key"]["status"] == "fail"
    assert "checksum" in checks["api key"]["detail"]
    assert checks["api key"]["fix"]
    assert checks["server"]["status"] == "skip"
    assert broken not in result.out


def test_missing_everything(cli):
    result = cli("doctor")
    assert result.code == 1
    assert "[FAIL] api key" in result.out
    assert "[FAIL] private key" in result.out
    assert result.out.count("fix:") >= 2


def test_clock_skew_is_measured(cli, app_env, sandbox_server):
    sandbox = sandbox_server.sandbox
    sandbox.clock_offset = 300
    try:
        result = cli("doctor", "--json")
    finally:
        sandbox.clock_offset = 0
    assert result.code == 1
    clock = checks_of(result.out)["clock"]
    assert clock["status"] == "fail"
    assert "offset +300s" in clock["detail"] or "offset +299s" in clock["detail"]
    assert "NTP" in clock["fix"]


def test_revoked_or_disabled_application(cli, make_app, monkeypatch, sandbox_server):
    app = make_app(["CRYPTO_READ"])
    use(monkeypatch, app)
    sandbox_server.sandbox.disable_application(app.id)
    result = cli("doctor", "--json")
    assert result.code == 1
    round_trip = checks_of(result.out)["round trip"]
    assert "application_disabled" in round_trip["detail"]


def test_expect_reports_missing_permissions(cli, make_app, monkeypatch):
    app = make_app(["CUSTOMERS_READ"])
    use(monkeypatch, app)
    result = cli("doctor", "--expect", "CUSTOMERS_READ,PAYMENTS_READ")
    assert result.code == 1
    assert "missing PAYMENTS_READ" in result.out


def test_live_key_against_loopback_fails_base_url(cli, app_env, monkeypatch):
    monkeypatch.setenv("NUVERA_API_KEY", ApiKey.generate("live").reveal())
    result = cli("doctor", "--json")
    assert result.code == 1
    assert checks_of(result.out)["base url"]["status"] == "fail"


def test_doctor_as_subprocess(app_env):
    result = run_subprocess(["doctor"])
    assert result.code == 0, result.out + result.err
    assert "all checks passed" in result.out


def test_unreadable_key_file_is_one_failed_check(cli, app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(tmp_path / "gone.pem"))
    result = cli("doctor", "--json")
    assert result.code == 1
    checks = checks_of(result.out)
    assert checks["api key"]["status"] == "ok"
    assert checks["private key"]["status"] == "fail"
    assert "gone.pem" in checks["private key"]["detail"]


def test_server_down_is_a_failed_check(cli, app_env, monkeypatch):
    monkeypatch.setenv("NUVERA_BASE_URL", "http://127.0.0.1:9")
    result = cli("doctor", "--json")
    assert result.code == 1
    server = checks_of(result.out)["server"]
    assert server["status"] == "fail"
    assert "cannot reach" in server["detail"]
    assert server["fix"]


def test_encrypted_key_via_passphrase_env(cli, app_env, monkeypatch, tmp_path, rsa_key):
    from nuvera_client import keys

    encrypted = tmp_path / "enc.pem"
    encrypted.write_text(keys.private_key_pem(rsa_key, "s3cret"))
    encrypted.chmod(0o600)  # key files are owner-only everywhere
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(encrypted))
    missing = cli("doctor", "--offline", "--json")
    assert checks_of(missing.out)["private key"]["status"] == "fail"
    assert "encrypted" in checks_of(missing.out)["private key"]["detail"]
    monkeypatch.setenv("MY_PASS", "s3cret")
    ok = cli("doctor", "--passphrase-env", "MY_PASS")
    assert ok.code == 0, ok.out
    assert "s3cret" not in ok.out
    unset = cli("doctor", "--passphrase-env", "NOT_SET", "--json")
    assert "NOT_SET" in checks_of(unset.out)["private key"]["detail"]


def test_bad_expect_is_a_usage_error(cli, app_env):
    result = cli("doctor", "--expect", "EVERYTHING")
    assert result.code == 2
    assert "unknown permission" in result.err


def test_notices_a_local_sandbox_when_a_test_key_has_no_base_url(
    cli, make_app, monkeypatch, sandbox_server
):
    from nuvera_client._cli import doctor

    app = make_app(["CRYPTO_READ"])
    use(monkeypatch, app)
    monkeypatch.delenv("NUVERA_BASE_URL")
    # The probe's address stands in for 127.0.0.1:8787 (another test may hold it).
    monkeypatch.setattr(doctor, "LOCAL_SANDBOX_URL", app.base_url)
    result = cli("doctor", "--json")
    assert result.code == 1
    checks = checks_of(result.out)
    base = checks["base url"]
    assert base["status"] == "fail"
    assert f"a local Nuvera sandbox answers on {app.base_url}" in base["detail"]
    assert f"export NUVERA_BASE_URL={app.base_url}" in base["fix"]
    # Nothing was sent to the hosted sandbox: the server checks wait for the fix.
    assert checks["server"]["status"] == "skip"
    # With the base URL set, the local sandbox is simply used.
    monkeypatch.setenv("NUVERA_BASE_URL", app.base_url)
    assert cli("doctor", "--json").code == 0


def test_local_probe_ignores_servers_that_are_not_a_sandbox(monkeypatch):
    import httpx

    from nuvera_client._cli import doctor

    def answer(status: int, body: bytes, headers: dict[str, str]):
        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.host == "127.0.0.1"
            return httpx.Response(status, content=body, headers=headers)

        return handler

    sandbox_body = b'{"error": {"code": "missing_api_key", "type": "x", "message": ""}}'
    for status, body, headers, expected in (
        (401, sandbox_body, {"x-request-id": "req_1"}, True),
        (401, sandbox_body, {}, False),
        (200, b"<html>", {"x-request-id": "r"}, False),
        (401, b"{}", {"x-request-id": "r"}, False),
    ):
        transport = httpx.MockTransport(answer(status, body, headers))

        def fake_get(url, *, timeout, transport=transport):
            with httpx.Client(transport=transport) as client:
                return client.get(url, timeout=timeout)

        monkeypatch.setattr(httpx, "get", fake_get)
        assert doctor.local_sandbox_answers("http://127.0.0.1:8787") is expected
