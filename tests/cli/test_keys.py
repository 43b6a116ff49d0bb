from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from nuvera_client import keys

from .conftest import private_key_lines, run_subprocess, write_pair


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_writes_a_0600_private_key_and_prints_the_public_key(cli, tmp_path):
    out = tmp_path / "k"
    result = cli("keys", "generate", "--bits", "2048", "--out", str(out))
    assert result.code == 0, result.err
    private, public = out / "nuvera_private.pem", out / "nuvera_public.pem"
    assert mode(private) == 0o600
    key = keys.load_private_key(private)
    assert key.key_size == 2048
    assert public.read_text() == keys.public_key_pem(key)
    assert f"kid: {keys.kid_of(key)}" in result.out
    assert public.read_text().strip() in result.out
    assert "Next steps" in result.out
    assert "nuvera doctor" in result.out
    # The local-sandbox path names the base URL (a test key defaults to hosted).
    assert "export NUVERA_BASE_URL=http://127.0.0.1:8787" in result.out
    steps = result.out.split("Next steps", 1)[1]
    assert steps.index("NUVERA_BASE_URL") < steps.index("nuvera doctor")
    for line in private_key_lines(private.read_text()):
        assert line not in result.out + result.err


def test_generate_refuses_to_overwrite_without_force(cli, tmp_path):
    assert cli("keys", "generate", "--bits", "2048", "--out", str(tmp_path)).code == 0
    before = (tmp_path / "nuvera_private.pem").read_bytes()
    again = cli("keys", "generate", "--bits", "2048", "--out", str(tmp_path))
    assert again.code == 2
    assert "refusing to overwrite" in again.err
    assert "--force" in again.err
    assert "Traceback" not in again.err
    assert (tmp_path / "nuvera_private.pem").read_bytes() == before
    forced = cli(
        "keys", "generate", "--bits", "2048", "--out", str(tmp_path), "--force"
    )
    assert forced.code == 0
    assert (tmp_path / "nuvera_private.pem").read_bytes() != before
    assert mode(tmp_path / "nuvera_private.pem") == 0o600


def test_generate_force_resets_a_loose_mode_to_0600(cli, tmp_path):
    loose = tmp_path / "nuvera_private.pem"
    loose.write_text("old")
    loose.chmod(0o644)
    assert (
        cli(
            "keys", "generate", "--bits", "2048", "--out", str(tmp_path), "--force"
        ).code
        == 0
    )
    assert mode(loose) == 0o600


def test_generate_with_passphrase_env_encrypts(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_PASS", "correct horse")
    result = cli(
        "keys",
        "generate",
        "--bits",
        "2048",
        "--out",
        str(tmp_path),
        "--passphrase-env",
        "MY_PASS",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["encrypted"] is True
    assert "correct horse" not in result.out
    pem = (tmp_path / "nuvera_private.pem").read_bytes()
    assert b"ENCRYPTED" in pem
    key = keys.load_private_key(pem, "correct horse")
    assert data["kid"] == keys.kid_of(key)
    inspect = cli("keys", "inspect", str(tmp_path / "nuvera_private.pem"), "--json")
    assert inspect.code == 1  # cannot read the kid without the passphrase
    assert json.loads(inspect.out)["encrypted"] is True
    assert "--passphrase-env" in inspect.err
    with_pass = cli(
        "keys",
        "inspect",
        str(tmp_path / "nuvera_private.pem"),
        "--passphrase-env",
        "MY_PASS",
        "--json",
    )
    assert with_pass.code == 0
    assert json.loads(with_pass.out)["kid"] == data["kid"]


def test_generate_empty_passphrase_variable_is_a_usage_error(cli, tmp_path):
    result = cli("keys", "generate", "--out", str(tmp_path), "--passphrase-env", "NOPE")
    assert result.code == 2
    assert "NOPE" in result.err
    assert not (tmp_path / "nuvera_private.pem").exists()


def test_generate_rejects_other_sizes(cli, tmp_path):
    assert cli("keys", "generate", "--bits", "1024", "--out", str(tmp_path)).code == 2


def test_inspect_private_and_public_and_pairing(cli, tmp_path, rsa_key, other_key):
    private, public = write_pair(tmp_path, rsa_key, "a")
    _, other_public = write_pair(tmp_path, other_key, "b")
    result = cli("keys", "inspect", str(private), "--public", str(public), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["kind"] == "private"
    assert info["type"] == "RSA"
    assert info["bits"] == 2048
    assert info["encrypted"] is False
    assert info["kid"] == keys.kid_of(rsa_key)
    assert info["pair"]["matches"] is True
    for line in private_key_lines(private.read_text()):
        assert line not in result.out

    mismatch = cli("keys", "inspect", str(private), "--public", str(other_public))
    assert mismatch.code == 1
    assert "pair with" in mismatch.out
    assert "NO" in mismatch.out
    assert "not a key pair" in mismatch.err

    pub = cli("keys", "inspect", str(public))
    assert pub.code == 0
    assert "public key" in pub.out
    assert keys.kid_of(rsa_key) in pub.out


def test_inspect_flags_keys_nuvera_cannot_use(cli, tmp_path):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    path = tmp_path / "small.pem"
    path.write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = cli("keys", "inspect", str(path), "--json")
    assert result.code == 1
    info = json.loads(result.out)
    assert info["bits"] == 1024
    assert "2048" in info["problem"]

    ec_path = tmp_path / "ec.pem"
    ec_path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ec_result = cli("keys", "inspect", str(ec_path))
    assert ec_result.code == 1
    assert "RSA" in ec_result.err


@pytest.mark.parametrize(
    "content", [b"", b"garbage", b"-----BEGIN PRIVATE KEY-----\nxx\n"]
)
def test_inspect_garbage_fails_without_traceback(cli, tmp_path, content):
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    result = cli("keys", "inspect", str(path))
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "usable:     no" in result.out


def test_inspect_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("keys", "inspect", str(tmp_path / "absent.pem"))
    assert result.code == 2
    assert "absent.pem" in result.err


def test_keys_generate_as_a_subprocess(tmp_path):
    result = run_subprocess(
        ["keys", "generate", "--bits", "2048", "--out", "out"], cwd=tmp_path
    )
    assert result.code == 0, result.err
    assert mode(tmp_path / "out" / "nuvera_private.pem") == 0o600
    inspect = run_subprocess(
        [
            "keys",
            "inspect",
            "out/nuvera_private.pem",
            "--public",
            "out/nuvera_public.pem",
        ],
        cwd=tmp_path,
    )
    assert inspect.code == 0, inspect.err
    assert "pair with out/nuvera_public.pem: yes" in inspect.out


def test_help_everywhere(cli):
    for argv in (
        ["--help"],
        ["keys", "--help"],
        ["keys", "generate", "--help"],
        ["keys", "inspect", "--help"],
        ["sign", "--help"],
        ["request", "--help"],
        ["doctor", "--help"],
        ["permissions", "--help"],
        ["permissions", "for", "--help"],
        ["permissions", "validate", "--help"],
        ["permissions", "record", "--help"],
        ["rotate", "--help"],
        ["rotate", "plan", "--help"],
        ["config", "--help"],
        ["config", "set", "--help"],
        ["config", "show", "--help"],
    ):
        result = cli(*argv)
        assert result.code == 0, argv
        assert "usage: nuvera" in result.out, argv


def test_no_command_and_unknown_option_exit_2(cli):
    assert cli().code == 2
    assert cli("keys", "generate", "--nope").code == 2


def test_inspect_a_jwk_private_key(cli, tmp_path, rsa_key):
    numbers = rsa_key.private_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwk = {
        "kty": "RSA",
        "n": b64(numbers.public_numbers.n),
        "e": b64(numbers.public_numbers.e),
        "d": b64(numbers.d),
    }
    path = tmp_path / "key.jwk"
    path.write_text(json.dumps(jwk))
    result = cli("keys", "inspect", str(path), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["kid"] == keys.kid_of(rsa_key)
    public_jwk = tmp_path / "public.jwk"
    public_jwk.write_text(json.dumps({k: jwk[k] for k in ("kty", "n", "e")}))
    refused = cli("keys", "inspect", str(public_jwk))
    assert refused.code == 1
    assert "public key" in refused.err
