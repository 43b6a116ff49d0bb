"""Credentials, EnvironmentCredentials, FileCredentials, chains (no sockets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import ApiKey, RequestSigner, keys
from nuvera_client._credential_cache import KEY_CACHE
from nuvera_client.credentials import (
    CallableCredentials,
    ChainCredentials,
    CredentialProvider,
    Credentials,
    CredentialsNotConfiguredError,
    CredentialSourceError,
    EnvironmentCredentials,
    FileCredentials,
    InsecureCredentialsFileError,
    default_chain,
)
from nuvera_client.errors import (
    ConfigurationError,
    InvalidApiKeyError,
    InvalidPrivateKeyError,
    PassphraseError,
)

ENV_VARS = (
    "NUVERA_API_KEY",
    "NUVERA_PRIVATE_KEY",
    "NUVERA_PRIVATE_KEY_FILE",
    "NUVERA_PRIVATE_KEY_PASSPHRASE",
    "NUVERA_API_KEY_FILE",
)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return keys.private_key_pem(rsa_key)


@pytest.fixture
def api_key() -> str:
    return ApiKey.generate("test").reveal()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def write(path: Path, data: str | bytes, mode: int = 0o600) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    path.chmod(mode)
    return path


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        # No recognisable piece of a PEM body either.
        for line in secret.splitlines()[1:3]:
            if len(line) > 20:
                assert line not in text


# -- Credentials ----------------------------------------------------------------


def test_credentials_repr_is_redacted(api_key: str, pem: str) -> None:
    creds = Credentials(api_key, pem, passphrase="hunter2-passphrase")
    text = repr(creds) + str(creds)
    assert api_key[:13] in text
    assert api_key[-4:] in text
    assert_no_secret(text, api_key, pem, "hunter2-passphrase")


def test_resolve_returns_api_key_and_signer_parsing_the_key_once(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    fresh_pem = keys.private_key_pem(keys.generate_private_key(2048))
    before = KEY_CACHE.parses
    first_key, first_signer = Credentials(api_key, fresh_pem).resolve(ttl=20)
    # Same material fetched again (a new str object, as after a refresh).
    again = Credentials(ApiKey.parse(api_key), "".join(fresh_pem)).resolve()
    assert KEY_CACHE.parses == before + 1
    assert isinstance(first_key, ApiKey)
    assert first_key.reveal() == api_key
    assert isinstance(first_signer, RequestSigner)
    assert first_signer.ttl == 20
    assert again[1].kid == first_signer.kid
    # Each resolve gives its own signer: clock offsets are per client.
    assert again[1] is not first_signer
    token = first_signer.sign("GET", "/v1/customers")
    assert token.count(".") == 2


def test_resolve_different_keys_parse_separately(api_key: str) -> None:
    one = keys.private_key_pem(keys.generate_private_key(2048))
    two = keys.private_key_pem(keys.generate_private_key(2048))
    before = KEY_CACHE.parses
    kid_one = Credentials(api_key, one).resolve()[1].kid
    kid_two = Credentials(api_key, two).resolve()[1].kid
    assert kid_one != kid_two
    assert KEY_CACHE.parses == before + 2


def test_resolve_encrypted_key_checks_passphrase_even_when_cached(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    encrypted = keys.private_key_pem(keys.generate_private_key(2048), "right-one")
    Credentials(api_key, encrypted, passphrase="right-one").resolve()
    with pytest.raises(PassphraseError) as info:
        Credentials(api_key, encrypted, passphrase="wrong-one").resolve()
    assert "wrong-one" not in str(info.value)
    with pytest.raises(PassphraseError):
        Credentials(api_key, encrypted).resolve()


def test_resolve_accepts_rsa_key_object_and_path(
    api_key: str, rsa_key: rsa.RSAPrivateKey, pem: str, tmp_path: Path
) -> None:
    kid = keys.kid_of(rsa_key)
    assert Credentials(api_key, rsa_key).resolve()[1].kid == kid
    path = write(tmp_path / "key.pem", pem)
    assert Credentials(api_key, path).resolve()[1].kid == kid
    with pytest.raises(InvalidPrivateKeyError, match="cannot read"):
        Credentials(api_key, tmp_path / "missing.pem").resolve()


def test_resolve_rejects_bad_api_key(pem: str) -> None:
    with pytest.raises(InvalidApiKeyError):
        Credentials("nvk_test_short", pem).resolve()


# -- EnvironmentCredentials -----------------------------------------------------


def test_environment_credentials_from_pem_variable(
    monkeypatch: pytest.MonkeyPatch, api_key: str, pem: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem)
    provider = EnvironmentCredentials()
    assert isinstance(provider, CredentialProvider)
    creds = provider.get()
    assert ApiKey.parse(creds.api_key).reveal() == api_key
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)
    assert provider.generation == 1


def test_environment_credentials_accepts_escaped_newlines(
    monkeypatch: pytest.MonkeyPatch, api_key: str, pem: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem.strip().replace("\n", "\\n"))
    creds = EnvironmentCredentials().get()
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)


def test_environment_credentials_from_key_file_with_passphrase(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    api_key: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    path = write(tmp_path / "key.pem", keys.private_key_pem(rsa_key, "s3cret-pass"))
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(path))
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_PASSPHRASE", "s3cret-pass")
    creds = EnvironmentCredentials().get()
    assert creds.passphrase == "s3cret-pass"
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)


def test_environment_credentials_not_configured_names_variable() -> None:
    with pytest.raises(
        CredentialsNotConfiguredError, match="NUVERA_API_KEY is not set"
    ):
        EnvironmentCredentials().get()


def test_environment_credentials_missing_private_key_names_variables(
    monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    with pytest.raises(ConfigurationError) as info:
        EnvironmentCredentials().get()
    assert not isinstance(info.value, CredentialsNotConfiguredError)
    assert "NUVERA_PRIVATE_KEY" in str(info.value)
    assert "NUVERA_PRIVATE_KEY_FILE" in str(info.value)
    assert_no_secret(str(info.value), api_key)


def test_environment_credentials_bad_values_name_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, api_key: str, pem: str
) -> None:
    broken = api_key[:-1] + ("A" if api_key[-1] != "A" else "B")
    monkeypatch.setenv("NUVERA_API_KEY", broken)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem)
    with pytest.raises(InvalidApiKeyError) as info:
        EnvironmentCredentials().get()
    assert "NUVERA_API_KEY" in str(info.value)
    assert info.value.reason == "checksum"
    assert_no_secret(str(info.value), broken)

    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", "not a key at all")
    with pytest.raises(InvalidPrivateKeyError, match="NUVERA_PRIVATE_KEY") as err:
        EnvironmentCredentials().get()
    assert "not a key at all" not in str(err.value)


def test_environment_credentials_refuses_shared_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api_key: str, pem: str
) -> None:
    path = write(tmp_path / "key.pem", pem, mode=0o644)
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(path))
    with pytest.raises(InsecureCredentialsFileError, match=f"chmod 600 {path}"):
        EnvironmentCredentials().get()
    assert EnvironmentCredentials(allow_insecure_permissions=True).get()


def test_environment_credentials_injected_mapping(api_key: str, pem: str) -> None:
    provider = EnvironmentCredentials(
        env={"NUVERA_API_KEY": api_key, "NUVERA_PRIVATE_KEY": pem}
    )
    assert ApiKey.parse(provider.get().api_key).reveal() == api_key
    assert repr(provider) == "EnvironmentCredentials()"


# -- FileCredentials ------------------------------------------------------------


def test_file_credentials_reads_both_files(
    tmp_path: Path, api_key: str, pem: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    key_file = write(tmp_path / "key.pem", pem)
    api_file = write(tmp_path / "api_key", api_key + "\n")
    provider = FileCredentials(key_file, api_file)
    creds = provider.get()
    assert ApiKey.parse(creds.api_key).reveal() == api_key
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)
    assert str(key_file) in repr(provider)
    assert_no_secret(repr(provider) + repr(creds), api_key, pem)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602])
def test_file_credentials_refuses_group_or_other_access(
    tmp_path: Path, api_key: str, pem: str, mode: int
) -> None:
    key_file = write(tmp_path / "key.pem", pem, mode=mode)
    api_file = write(tmp_path / "api_key", api_key)
    with pytest.raises(InsecureCredentialsFileError) as info:
        FileCredentials(key_file, api_file).get()
    message = str(info.value)
    assert f"chmod 600 {key_file}" in message
    assert f"{mode:04o}" in message
    assert_no_secret(message, api_key, pem)


def test_file_credentials_refuses_shared_api_key_file(
    tmp_path: Path, api_key: str, pem: str
) -> None:
    key_file = write(tmp_path / "key.pem", pem)
    api_file = write(tmp_path / "api_key", api_key, mode=0o644)
    with pytest.raises(InsecureCredentialsFileError, match=f"chmod 600 {api_file}"):
        FileCredentials(key_file, api_file).get()


def test_file_credentials_allows_insecure_when_told(
    tmp_path: Path, api_key: str, pem: str
) -> None:
    key_file = write(tmp_path / "key.pem", pem, mode=0o644)
    api_file = write(tmp_path / "api_key", api_key, mode=0o644)
    provider = FileCredentials(key_file, api_file, allow_insecure_permissions=True)
    assert provider.get()


def test_file_credentials_owner_read_only_is_fine(
    tmp_path: Path, api_key: str, pem: str
) -> None:
    key_file = write(tmp_path / "key.pem", pem, mode=0o400)
    api_file = write(tmp_path / "api_key", api_key, mode=0o400)
    assert FileCredentials(str(key_file), str(api_file)).get()


def test_file_credentials_missing_file_is_a_source_error(
    tmp_path: Path, api_key: str
) -> None:
    api_file = write(tmp_path / "api_key", api_key)
    with pytest.raises(CredentialSourceError, match=r"missing\.pem"):
        FileCredentials(tmp_path / "missing.pem", api_file).get()


def test_file_credentials_refresh_rereads_rotated_files(
    tmp_path: Path, pem: str
) -> None:
    first, second = ApiKey.generate().reveal(), ApiKey.generate().reveal()
    key_file = write(tmp_path / "key.pem", pem)
    api_file = write(tmp_path / "api_key", first)
    provider = FileCredentials(key_file, api_file)
    assert ApiKey.parse(provider.get().api_key).reveal() == first
    write(api_file, second)
    # Cached until a refresh.
    assert ApiKey.parse(provider.get().api_key).reveal() == first
    assert ApiKey.parse(provider.refresh().api_key).reveal() == second
    assert provider.generation == 2


def test_file_credentials_encrypted_key(
    tmp_path: Path, api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    key_file = write(tmp_path / "key.pem", keys.private_key_pem(rsa_key, "pw-123456"))
    api_file = write(tmp_path / "api_key", api_key)
    with pytest.raises(PassphraseError) as info:
        FileCredentials(key_file, api_file, passphrase="nope-nope").get()
    assert "nope-nope" not in str(info.value)
    creds = FileCredentials(key_file, api_file, passphrase="pw-123456").get()
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)


# -- CallableCredentials --------------------------------------------------------


def test_callable_credentials_caches_and_validates(api_key: str, pem: str) -> None:
    calls: list[int] = []

    def from_store() -> Credentials:
        calls.append(1)
        return Credentials(api_key, pem)

    provider = CallableCredentials(from_store)
    assert provider.get() is provider.get()
    assert len(calls) == 1
    provider.refresh()
    assert len(calls) == 2
    assert "from_store" in repr(provider)


def test_callable_credentials_rejects_wrong_return_type() -> None:
    provider = CallableCredentials(lambda: "nope")  # type: ignore[arg-type, return-value]
    with pytest.raises(CredentialSourceError, match="not Credentials"):
        provider.get()


# -- ChainCredentials / default_chain --------------------------------------------


class Unconfigured:
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.calls = 0

    def get(self) -> Credentials:
        self.calls += 1
        raise CredentialsNotConfiguredError(self.reason)

    def refresh(self) -> Credentials:
        return self.get()

    def __repr__(self) -> str:
        return f"Unconfigured({self.reason})"


def test_chain_skips_unconfigured_and_sticks_to_the_first_configured(
    api_key: str, pem: str
) -> None:
    skipped = Unconfigured("first not set")
    calls: list[int] = []

    def store() -> Credentials:
        calls.append(1)
        return Credentials(api_key, pem)

    later = Unconfigured("never asked")
    chain = ChainCredentials([skipped, store, later])
    assert ApiKey.parse(chain.get().api_key).reveal() == api_key
    chain.get()
    assert skipped.calls == 1  # not asked again once a provider is chosen
    assert later.calls == 0
    assert isinstance(chain.chosen, CallableCredentials)
    chain.refresh()
    assert len(calls) == 2
    assert chain.generation == 2


def test_chain_reports_every_reason_when_nothing_is_configured() -> None:
    chain = ChainCredentials([Unconfigured("A missing"), Unconfigured("B missing")])
    with pytest.raises(CredentialsNotConfiguredError) as info:
        chain.get()
    assert "A missing" in str(info.value)
    assert "B missing" in str(info.value)
    assert len(info.value.reasons) == 2


def test_chain_stops_at_a_misconfigured_provider(
    monkeypatch: pytest.MonkeyPatch, api_key: str, pem: str
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", api_key)  # but no private key
    fallback = CallableCredentials(lambda: Credentials(api_key, pem))
    chain = ChainCredentials([EnvironmentCredentials(), fallback])
    with pytest.raises(ConfigurationError, match="no private key"):
        chain.get()
    assert fallback.generation == 0


def test_chain_needs_providers() -> None:
    with pytest.raises(ConfigurationError):
        ChainCredentials([])


def test_default_chain_prefers_explicit_arguments(
    monkeypatch: pytest.MonkeyPatch, pem: str
) -> None:
    explicit, from_env = ApiKey.generate().reveal(), ApiKey.generate().reveal()
    monkeypatch.setenv("NUVERA_API_KEY", from_env)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem)
    creds = default_chain(api_key=explicit, private_key=pem).get()
    assert ApiKey.parse(creds.api_key).reveal() == explicit
    creds = default_chain().get()
    assert ApiKey.parse(creds.api_key).reveal() == from_env


def test_default_chain_partial_explicit_arguments_are_an_error(pem: str) -> None:
    with pytest.raises(ConfigurationError, match="without private_key"):
        default_chain(api_key=ApiKey.generate().reveal()).get()
    with pytest.raises(ConfigurationError, match="without api_key"):
        default_chain(private_key=pem).get()


def test_default_chain_falls_back_to_files_named_by_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    api_key: str,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    key_file = write(tmp_path / "key.pem", keys.private_key_pem(rsa_key, "pw-abcdef"))
    api_file = write(tmp_path / "api_key", api_key)
    monkeypatch.setenv("NUVERA_API_KEY_FILE", str(api_file))
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(key_file))
    chain = default_chain(passphrase="pw-abcdef")
    creds = chain.get()
    assert ApiKey.parse(creds.api_key).reveal() == api_key
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)
    assert "NUVERA_API_KEY_FILE" in repr(chain.chosen)


def test_default_chain_api_key_file_without_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api_key: str
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY_FILE", str(write(tmp_path / "k", api_key)))
    with pytest.raises(ConfigurationError, match="NUVERA_PRIVATE_KEY_FILE is not"):
        default_chain().get()


def test_default_chain_nothing_configured_lists_all_sources() -> None:
    with pytest.raises(CredentialsNotConfiguredError) as info:
        default_chain().get()
    message = str(info.value)
    assert "api_key=" in message
    assert "NUVERA_API_KEY is not set" in message
    assert "NUVERA_API_KEY_FILE is not set" in message
    assert len(info.value.reasons) == 4
    assert "stores no API key" in info.value.reasons[-1]  # the profile link


def test_default_chain_uses_real_environment(
    monkeypatch: pytest.MonkeyPatch, api_key: str, pem: str
) -> None:
    monkeypatch.setenv("NUVERA_API_KEY", api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY", pem)
    assert os.environ["NUVERA_API_KEY"] == api_key
    assert ApiKey.parse(default_chain().get().api_key).reveal() == api_key
