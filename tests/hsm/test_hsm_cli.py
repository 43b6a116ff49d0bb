"""`nuvera keys inspect --pkcs11` and `nuvera doctor` with a key in SoftHSM2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from softhsm_setup import AVAILABLE, SKIP_REASON, SoftHsm

from nuvera_client import keys
from nuvera_client._cli import main
from nuvera_client.hsm import Pkcs11SigningKey
from nuvera_client.sandbox import Sandbox

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)
Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("NUVERA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def hsm_env(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    monkeypatch.setenv("NUVERA_PKCS11_LIBRARY", softhsm.library)
    monkeypatch.setenv("NUVERA_PKCS11_TOKEN_LABEL", softhsm.token)
    monkeypatch.setenv("NUVERA_PKCS11_KEY_LABEL", "signing")
    monkeypatch.setenv("NUVERA_PKCS11_PIN", softhsm.pin)
    return softhsm


def _kid(softhsm: SoftHsm, label: str) -> str:
    with Pkcs11SigningKey(
        softhsm.library, token_label=softhsm.token, key_label=label, pin=softhsm.pin
    ) as key:
        return keys.kid_of(key.public_key())


def test_inspect_pkcs11_shows_the_kid(
    softhsm: SoftHsm, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PIN", softhsm.pin)
    code, out, err = run(
        capsys,
        "keys",
        "inspect",
        "--pkcs11",
        softhsm.library,
        "--token-label",
        softhsm.token,
        "--key-label",
        "signing-3072",
        "--pin-env",
        "MY_PIN",
        "--json",
    )
    assert code == 0, err
    info = json.loads(out)
    assert info["kid"] == _kid(softhsm, "signing-3072")
    assert info["bits"] == 3072
    assert info["problem"] is None
    assert softhsm.pin not in out + err


def test_inspect_pkcs11_text_and_pair_check(
    hsm_env: SoftHsm, capsys: Capture, tmp_path: Path
) -> None:
    with Pkcs11SigningKey.from_env() as key:
        public = tmp_path / "public.pem"
        public.write_text(keys.public_key_pem(key.public_key()))
    code, out, err = run(
        capsys, "keys", "inspect", "--pkcs11", hsm_env.library, "--public", str(public)
    )
    assert code == 0, err
    assert f"in token:   {hsm_env.token}" in out
    assert f"pair with {public}: yes" in out


def test_inspect_pkcs11_reports_a_wrong_pin_without_it(
    softhsm: SoftHsm, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVERA_PKCS11_PIN", "8642-wrong")
    code, out, err = run(
        capsys,
        "keys",
        "inspect",
        "--pkcs11",
        softhsm.library,
        "--token-label",
        softhsm.pin_token,
        "--key-label",
        "signing",
    )
    assert code != 0
    assert "refused the PIN" in out + err
    assert "8642" not in out + err


def test_inspect_needs_a_file_or_pkcs11(capsys: Capture) -> None:
    code, _, err = run(capsys, "keys", "inspect")
    assert code != 0
    assert "--pkcs11" in err


def test_doctor_signs_with_the_token(
    hsm_env: SoftHsm, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox() as sandbox, sandbox.serve() as server:
        with Pkcs11SigningKey.from_env() as key:
            created = sandbox.create_application(
                name="doctor-hsm",
                permissions=["CUSTOMERS_READ"],
                public_key_pem=keys.public_key_pem(key.public_key()),
            )
        monkeypatch.setenv("NUVERA_API_KEY", created.api_key)
        monkeypatch.setenv("NUVERA_BASE_URL", server.base_url)
        code, out, err = run(capsys, "doctor", "--json")
    assert code == 0, out + err
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["private key"]["status"] == "ok"
    assert "PKCS#11 token" in checks["private key"]["detail"]
    assert created.kid in checks["private key"]["detail"]
    assert checks["round trip"]["status"] == "ok"
    assert hsm_env.pin not in out + err


def test_doctor_explains_a_bad_token(
    hsm_env: SoftHsm, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVERA_PKCS11_TOKEN_LABEL", "absent")
    code, out, _ = run(capsys, "doctor", "--offline", "--json")
    assert code != 0
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["private key"]["status"] == "fail"
    assert "no PKCS#11 token 'absent'" in checks["private key"]["detail"]
    assert "NUVERA_PKCS11_TOKEN_LABEL" in checks["private key"]["fix"]
