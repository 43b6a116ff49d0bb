r"""One configuration chain: the client, the providers and the CLI agree.

Regression tests for the two inconsistencies of issue 15: a PEM with escaped ``\n``
in ``NUVERA_PRIVATE_KEY`` was accepted by ``EnvironmentCredentials`` but refused by
``NuveraClient()``; a ``NUVERA_PRIVATE_KEY_FILE`` of mode 0644 was accepted by
``NuveraClient()`` and the CLI but refused by ``EnvironmentCredentials``.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import nuvera_client
from nuvera_client import ApiKey, AsyncNuveraClient, NuveraClient, keys
from nuvera_client._cli._settings import resolve_settings
from nuvera_client._config import ClientConfig
from nuvera_client._environment import pem_text, read_environment
from nuvera_client.credentials import (
    EnvironmentCredentials,
    ProfileCredentials,
    default_chain,
)
from nuvera_client.errors import (
    ConfigurationError,
    CredentialsNotConfiguredError,
    InsecureCredentialsFileError,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")

API_KEY = ApiKey.generate("test").reveal()


def _kid_of_client(env: dict[str, str]) -> str:
    config = ClientConfig.resolve(env=env)
    assert config.api_key is not None
    assert config.api_key.reveal() == API_KEY
    return keys.kid_of(config.private_key)  # type: ignore[arg-type]


def _kid_of_provider(env: dict[str, str]) -> str:
    creds = EnvironmentCredentials(env=env).get()
    return creds.resolve()[1].kid


def _kid_of_cli(env: dict[str, str]) -> str:
    settings = resolve_settings(argparse.Namespace(), env)
    assert settings.api_key().reveal() == API_KEY
    return settings.signer().kid


READERS: list[Callable[[dict[str, str]], str]] = [
    _kid_of_client,
    _kid_of_provider,
    _kid_of_cli,
]


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """Variables with an empty profile directory (no user profile leaks in)."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


@pytest.mark.parametrize("reader", READERS)
def test_escaped_newlines_in_pem_accepted_everywhere(
    reader: Callable[[dict[str, str]], str],
    rsa_key: rsa.RSAPrivateKey,
    isolated: dict[str, str],
) -> None:
    one_line = keys.private_key_pem(rsa_key).strip().replace("\n", "\\n")
    assert "\n" not in one_line
    env = {**isolated, "NUVERA_API_KEY": API_KEY, "NUVERA_PRIVATE_KEY": one_line}
    assert reader(env) == keys.kid_of(rsa_key)


def test_escaped_newlines_accepted_by_a_client_built_without_arguments(
    rsa_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    isolated: dict[str, str],
) -> None:
    one_line = keys.private_key_pem(rsa_key).strip().replace("\n", "\\n")
    for name, value in {**isolated, "NUVERA_PRIVATE_KEY": one_line}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NUVERA_API_KEY", API_KEY)
    for cls in (NuveraClient, AsyncNuveraClient):
        client = cls()
        assert client.auth.signer.kid == keys.kid_of(rsa_key)
    # With the API key given in code, the variable is read by the same reader.
    monkeypatch.delenv("NUVERA_API_KEY")
    with NuveraClient(api_key=API_KEY) as client:
        assert client.auth.signer.kid == keys.kid_of(rsa_key)


@pytest.mark.parametrize("reader", READERS)
def test_group_readable_key_file_refused_everywhere(
    reader: Callable[[dict[str, str]], str],
    rsa_key: rsa.RSAPrivateKey,
    tmp_path: Path,
    isolated: dict[str, str],
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(keys.private_key_pem(rsa_key))
    key_file.chmod(0o644)
    env = {
        **isolated,
        "NUVERA_API_KEY": API_KEY,
        "NUVERA_PRIVATE_KEY_FILE": str(key_file),
    }
    with pytest.raises(ConfigurationError, match=r"chmod 600") as caught:
        reader(env)
    assert "0644" in str(caught.value)
    key_file.chmod(0o600)
    assert reader(env) == keys.kid_of(rsa_key)


def test_group_readable_key_file_refused_by_client_built_without_arguments(
    rsa_key: rsa.RSAPrivateKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolated: dict[str, str],
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(keys.private_key_pem(rsa_key))
    key_file.chmod(0o640)
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated["XDG_CONFIG_HOME"])
    monkeypatch.setenv("NUVERA_API_KEY", API_KEY)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(key_file))
    with pytest.raises(InsecureCredentialsFileError, match="chmod 600"):
        NuveraClient()
    # The API key given in code: the file still goes through the same rule.
    monkeypatch.delenv("NUVERA_API_KEY")
    with pytest.raises(InsecureCredentialsFileError, match="chmod 600"):
        NuveraClient(api_key=API_KEY)


def _write_profile(tmp_path: Path, key: rsa.RSAPrivateKey, mode: int) -> Path:
    key_file = tmp_path / "profile-key.pem"
    key_file.write_text(keys.private_key_pem(key))
    key_file.chmod(mode)
    config = tmp_path / "xdg" / "nuvera" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "[staging]\n"
        f'api_key = "{API_KEY}"\n'
        f'private_key_file = "{key_file}"\n'
        'base_url = "http://127.0.0.1:8787"\n'
    )
    config.chmod(0o600)
    return key_file


def test_client_without_arguments_falls_back_to_the_profile(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, isolated: dict[str, str]
) -> None:
    _write_profile(tmp_path, rsa_key, 0o600)
    env = {**isolated, "NUVERA_PROFILE": "staging"}
    config = ClientConfig.resolve(env=env)
    assert keys.kid_of(config.private_key) == keys.kid_of(rsa_key)  # type: ignore[arg-type]
    assert str(config.base_url) == "http://127.0.0.1:8787"
    chain = default_chain(env=env)
    chain.get()
    assert isinstance(chain.chosen, ProfileCredentials)
    # The environment comes first in the chain.
    other = keys.generate_private_key()
    first = {
        **env,
        "NUVERA_API_KEY": API_KEY,
        "NUVERA_PRIVATE_KEY": keys.private_key_pem(other),
    }
    config = ClientConfig.resolve(env=first)
    assert keys.kid_of(config.private_key) == keys.kid_of(other)  # type: ignore[arg-type]


def test_profile_key_file_follows_the_same_rule(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, isolated: dict[str, str]
) -> None:
    _write_profile(tmp_path, rsa_key, 0o644)
    env = {**isolated, "NUVERA_PROFILE": "staging"}
    with pytest.raises(InsecureCredentialsFileError, match="chmod 600"):
        ClientConfig.resolve(env=env)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        resolve_settings(argparse.Namespace(), env).signer()


def test_nothing_configured_lists_every_link(isolated: dict[str, str]) -> None:
    with pytest.raises(CredentialsNotConfiguredError, match="NUVERA_API_KEY") as e:
        ClientConfig.resolve(env=isolated)
    assert len(e.value.reasons) == 4
    assert "profile" in e.value.reasons[-1]


def test_blank_variables_count_as_unset() -> None:
    found = read_environment({"NUVERA_API_KEY": "  ", "NUVERA_PRIVATE_KEY_FILE": ""})
    assert found.api_key is None
    assert found.private_key_file is None
    assert pem_text("a\\nb") == "a\nb"
    assert pem_text("a\nb\\nc") == "a\nb\\nc"  # real lines: left alone


def test_only_the_environment_module_reads_nuvera_variables() -> None:
    # One reader: no other module looks up a NUVERA_* variable by itself.
    package = Path(nuvera_client.__file__).parent
    lookup = re.compile(r"""(?:\.get\(|\[)\s*(?:ENV_[A-Z_]+|["']NUVERA_)""")
    write = re.compile(r"\]\s*=[^=]")  # setting a variable for a child process
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.name != "_environment.py" and "sandbox" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if lookup.search(line) and not write.search(line)
    ]
    assert offenders == []


def test_encrypted_key_through_the_chain_builds_a_client(
    rsa_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    isolated: dict[str, str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated["XDG_CONFIG_HOME"])
    monkeypatch.setenv("NUVERA_API_KEY", API_KEY)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", keys.private_key_pem(rsa_key, "pw"))
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_PASSPHRASE", "pw")
    with NuveraClient() as client:
        assert client.auth.signer.kid == keys.kid_of(rsa_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_PASSPHRASE", "wrong")
    with NuveraClient(passphrase="pw") as client:  # the argument wins
        assert client.auth.signer.kid == keys.kid_of(rsa_key)


def test_passphrase_argument_beats_its_variable(
    rsa_key: rsa.RSAPrivateKey, isolated: dict[str, str]
) -> None:
    env = {
        **isolated,
        "NUVERA_API_KEY": API_KEY,
        "NUVERA_PRIVATE_KEY": keys.private_key_pem(rsa_key, "right"),
        "NUVERA_PRIVATE_KEY_PASSPHRASE": "wrong",
    }
    config = ClientConfig.resolve(passphrase="right", env=env)
    assert keys.kid_of(config.private_key) == keys.kid_of(rsa_key)  # type: ignore[arg-type]
    assert config.passphrase == "right"
