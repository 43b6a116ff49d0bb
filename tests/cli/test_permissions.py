from __future__ import annotations

import json
import sys
import textwrap

import pytest

from .conftest import REPO, run_subprocess


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v1/payments", "PAYMENTS_WRITE"),
        ("get", "/v1/documents/doc_1/content", "DOCUMENTS_READ"),
        ("DELETE", "/beneficiaries/ben_1", "BENEFICIARIES_WRITE"),
        ("GET", "/v1/crypto/networks?limit=3", "CRYPTO_READ"),
    ],
)
def test_for(cli, method, path, expected):
    result = cli("permissions", "for", method, path)
    assert result.code == 0
    assert result.out.strip() == expected


def test_for_json_and_unknown_endpoint(cli):
    data = json.loads(cli("permissions", "for", "POST", "/v1/customers", "--json").out)
    assert data == {
        "method": "POST",
        "path": "/v1/customers",
        "permission": "CUSTOMERS_WRITE",
    }
    unknown = cli("permissions", "for", "PUT", "/v1/customers")
    assert unknown.code == 2
    assert "not an endpoint" in unknown.err


def test_validate(cli):
    ok = cli("permissions", "validate", "CUSTOMERS_READ,CUSTOMERS_WRITE,CRYPTO_READ")
    assert ok.code == 0
    assert ok.out.strip() == "valid: CUSTOMERS_READ,CUSTOMERS_WRITE,CRYPTO_READ"
    bad = cli("permissions", "validate", "PAYMENTS_WRITE,CUSTOMERS_READ")
    assert bad.code == 1
    assert "PAYMENTS_WRITE needs PAYMENTS_READ" in bad.err
    assert "a valid set: CUSTOMERS_READ,PAYMENTS_READ,PAYMENTS_WRITE" in bad.err
    data = json.loads(cli("permissions", "validate", "SUPPORT_WRITE", "--json").out)
    assert data["valid"] is False
    assert data["suggestion"] == ["SUPPORT_READ", "SUPPORT_WRITE"]
    unknown = cli("permissions", "validate", "CUSTOMERS_READ,EVERYTHING")
    assert unknown.code == 1
    assert "unknown permission" in unknown.err


def test_record_a_real_client_run(cli, app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    script = tmp_path / "partner.py"
    script.write_text(
        textwrap.dedent(
            """
            try:
                from nuvera_client import NuveraClient
            except ImportError:  # before the lead re-exports it
                from nuvera_client._client import NuveraClient

            with NuveraClient() as client:
                customer = client.customers.create(
                    type="individual", name="Rec Order", email="rec@example.com"
                )
                client.customers.retrieve(customer.id)
                list(client.crypto.assets.list())
            """
        )
    )
    result = cli("permissions", "record", "--", sys.executable, str(script))
    assert result.code == 0, result.err
    assert (
        "used by this run: CUSTOMERS_READ, CUSTOMERS_WRITE, CRYPTO_READ" in result.out
    )
    assert result.out.splitlines()[-1] == "CUSTOMERS_READ,CUSTOMERS_WRITE,CRYPTO_READ"


def test_record_completes_writes_with_reads_and_reports_failure(cli, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(
        "import os, sys\n"
        "with open(os.environ['NUVERA_RECORD_PERMISSIONS_FILE'], 'a') as f:\n"
        "    f.write('PAYMENTS_WRITE\\nSUPPORT_READ\\nPAYMENTS_WRITE\\nBOGUS\\n')\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    ok = cli("permissions", "record", "--json", "--", sys.executable, str(script), "0")
    assert ok.code == 0, ok.err
    data = json.loads(ok.out)
    assert data["used"] == ["PAYMENTS_WRITE", "SUPPORT_READ"]
    assert data["permissions"] == ["PAYMENTS_READ", "PAYMENTS_WRITE", "SUPPORT_READ"]
    assert "BOGUS" in ok.err
    failed = cli("permissions", "record", "--", sys.executable, str(script), "3")
    assert failed.code == 1
    assert "exited with status 3" in failed.err


def test_record_nothing_recorded_and_missing_command(cli):
    nothing = cli("permissions", "record", "--", sys.executable, "-c", "pass")
    assert nothing.code == 0
    assert "no permission was recorded" in nothing.err
    missing = cli("permissions", "record", "--", "/nonexistent/program")
    assert missing.code == 2
    assert "command not found" in missing.err


def test_permissions_as_subprocess():
    result = run_subprocess(["permissions", "validate", "DOCUMENTS_WRITE"])
    assert result.code == 1
    assert "DOCUMENTS_WRITE needs DOCUMENTS_READ" in result.err


def test_record_json_keeps_stdout_for_the_report(capfd, tmp_path):
    from nuvera_client._cli import main

    script = tmp_path / "chatty.py"
    script.write_text(
        "import os\n"
        "print('hello from the program')\n"
        "with open(os.environ['NUVERA_RECORD_PERMISSIONS_FILE'], 'a') as f:\n"
        "    f.write('CRYPTO_READ\\n')\n"
    )
    code = main(["permissions", "record", "--json", "--", sys.executable, str(script)])
    captured = capfd.readouterr()
    assert code == 0
    assert json.loads(captured.out)["permissions"] == ["CRYPTO_READ"]
    assert "hello from the program" in captured.err
