from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from nuvera_client import _profile
from nuvera_client.errors import ConfigurationError

from .conftest import run_subprocess


def config_file(xdg: Path) -> Path:
    return xdg / "nuvera" / "config.toml"


def test_simple_parser_reads_what_dumps_writes_like_tomllib():
    profiles = {
        "default": {"base_url": "http://127.0.0.1:8787", "kid": "abc-_"},
        "odd-1": {
            "private_key_file": 'C:\\keys\\"q"\t#x é',
            "api_key_prefix": "nvk_test_Q7sU",
        },
    }
    text = _profile.dumps(profiles)
    assert _profile.parse_simple(text) == profiles
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+: the reference parser
    assert tomllib.loads(text) == profiles
    assert _profile.loads(text) == profiles


def test_simple_parser_comments_and_errors():
    text = '# top\n[a]  \nkey = "v # not a comment" # a comment\n\n[b]\n'
    assert _profile.parse_simple(text) == {"a": {"key": "v # not a comment"}, "b": {}}
    for bad in (
        'key = "orphan"\n',
        "[a]\nkey = 3\n",
        '[a]\nkey = "x\\q"\n',
        '[a]\nk = "a"b"\n',
    ):
        with pytest.raises(ConfigurationError, match="line"):
            _profile.parse_simple(bad)


def test_config_set_stores_prefix_not_key(cli, isolated, app_env, tmp_path):
    result = cli(
        "config",
        "set",
        "--profile",
        "dev",
        "--base-url",
        app_env.base_url,
        "--private-key-file",
        str(app_env.private_key_file),
    )
    assert result.code == 0, result.err
    path = config_file(isolated)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert app_env.api_key not in text
    assert f'api_key_prefix = "{app_env.api_key[:13]}"' in text
    shown = json.loads(cli("config", "show", "--profile", "dev", "--json").out)
    assert shown["profile"] == "dev"
    assert shown["private_key_file"] == str(app_env.private_key_file.resolve())


def test_profile_supplies_settings_and_flags_and_env_win(
    cli, app_env, monkeypatch, tmp_path
):
    assert (
        cli(
            "config",
            "set",
            "--profile",
            "dev",
            "--base-url",
            app_env.base_url,
            "--private-key-file",
            str(app_env.private_key_file),
            "--store-api-key",
        ).code
        == 0
    )
    for name in ("NUVERA_API_KEY", "NUVERA_PRIVATE_KEY_FILE", "NUVERA_BASE_URL"):
        monkeypatch.delenv(name)
    from_profile = cli("doctor", "--profile", "dev", "--json")
    assert from_profile.code == 0, from_profile.out
    checks = {c["name"]: c for c in json.loads(from_profile.out)["checks"]}
    assert "profile 'dev'" in checks["api key"]["detail"]
    assert "profile 'dev'" in checks["private key"]["detail"]
    assert app_env.api_key not in from_profile.out

    monkeypatch.setenv("NUVERA_BASE_URL", "http://127.0.0.1:9")
    env_wins = cli(
        "sign", "GET", "/v1/customers", "--profile", "dev", "--format", "json"
    )
    assert json.loads(env_wins.out)["url"] == "http://127.0.0.1:9/v1/customers"
    flag_wins = cli(
        "sign",
        "GET",
        "/v1/customers",
        "--profile",
        "dev",
        "--format",
        "json",
        "--base-url",
        "http://localhost:7",
    )
    assert json.loads(flag_wins.out)["url"] == "http://localhost:7/v1/customers"


def test_stored_api_key_needs_mode_0600(cli, isolated, app_env):
    assert cli("config", "set", "--store-api-key").code == 0
    path = config_file(isolated)
    assert app_env.api_key in path.read_text()
    shown = cli("config", "show")
    assert app_env.api_key not in shown.out
    assert app_env.api_key[:13] in shown.out
    path.chmod(0o644)
    refused = cli("doctor")
    assert refused.code == 2
    assert "chmod 600" in refused.err


def test_store_api_key_without_a_key_is_a_usage_error(cli):
    result = cli("config", "set", "--store-api-key")
    assert result.code == 2
    assert "--store-api-key needs" in result.err


def test_unknown_profile_is_a_configuration_error(cli):
    result = cli("doctor", "--profile", "nope")
    assert result.code == 2
    assert "no profile 'nope'" in result.err


def test_keys_generate_remembers_files_in_a_profile(
    cli, isolated, tmp_path, monkeypatch
):
    out = tmp_path / "k"
    assert (
        cli(
            "keys", "generate", "--bits", "2048", "--out", str(out), "--profile", "k"
        ).code
        == 0
    )
    profile = _profile.parse_simple(config_file(isolated).read_text())["k"]
    assert profile["private_key_file"] == str((out / "nuvera_private.pem").resolve())
    monkeypatch.setenv("NUVERA_PROFILE", "k")
    doctor = cli("doctor", "--offline", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.out)["checks"]}
    assert checks["private key"]["status"] == "ok"
    assert checks["key pair"]["status"] == "ok"  # public_key_file from the profile


def test_profile_prefix_mismatch_is_flagged(cli, app_env, monkeypatch):
    assert cli("config", "set").code == 0  # records the current key's prefix
    from nuvera_client import ApiKey

    monkeypatch.setenv("NUVERA_API_KEY", ApiKey.generate("test").reveal())
    result = cli("doctor", "--offline")
    assert result.code == 1
    assert "does not start with the profile's" in result.out


def test_xdg_config_home_is_honoured_by_subprocess(isolated, tmp_path):
    env = {"XDG_CONFIG_HOME": str(isolated), "PATH": "/usr/bin:/bin"}
    result = run_subprocess(
        ["config", "set", "--base-url", "http://127.0.0.1:8787"], env=env
    )
    assert result.code == 0, result.err
    assert config_file(isolated).exists()


def test_settings_repr_holds_no_secret(cli, app_env, monkeypatch):
    import argparse

    from nuvera_client._cli._settings import resolve_settings

    assert cli("config", "set", "--store-api-key").code == 0
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", app_env.private_pem)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_PASSPHRASE", "pass-phrase-xyz")
    settings = resolve_settings(argparse.Namespace())
    text = repr(settings)
    assert app_env.api_key not in text
    assert "pass-phrase-xyz" not in text
    assert "PRIVATE KEY" not in text
    assert settings.api_key().reveal() == app_env.api_key
