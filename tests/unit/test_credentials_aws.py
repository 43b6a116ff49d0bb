"""AwsSecretsManagerCredentials against moto's in-process Secrets Manager."""

from __future__ import annotations

import builtins
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from nuvera_client import ApiKey, keys
from nuvera_client.credentials import (
    AwsSecretsManagerCredentials,
    ChainCredentials,
    CredentialSourceError,
    EnvironmentCredentials,
)
from nuvera_client.errors import ConfigurationError, InvalidApiKeyError

SECRET = "prod/nuvera/credentials"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return keys.private_key_pem(rsa_key)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    # Fake credentials and no config files: moto intercepts every call in-process.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-creds"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def put(aws: Any, value: object, *, create: bool = False) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    if create:
        aws.create_secret(Name=SECRET, SecretString=text)
    else:
        aws.put_secret_value(SecretId=SECRET, SecretString=text)


class CountingClient:
    """Wraps the moto client, counting GetSecretValue calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()

    def get_secret_value(self, *, SecretId: str) -> Any:
        with self._lock:
            self.calls += 1
        return self.inner.get_secret_value(SecretId=SecretId)


def test_reads_the_json_secret(aws: Any, pem: str, rsa_key: rsa.RSAPrivateKey) -> None:
    api_key = ApiKey.generate().reveal()
    put(aws, {"api_key": api_key, "private_key": pem}, create=True)
    provider = AwsSecretsManagerCredentials(SECRET)  # builds its own boto3 client
    creds = provider.get()
    assert ApiKey.parse(creds.api_key).reveal() == api_key
    assert creds.passphrase is None
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)
    assert repr(provider) == f"AwsSecretsManagerCredentials({SECRET!r})"


def test_encrypted_key_with_passphrase(aws: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    api_key = ApiKey.generate().reveal()
    encrypted = keys.private_key_pem(rsa_key, "secret-pass-1")
    put(
        aws,
        {"api_key": api_key, "private_key": encrypted, "passphrase": "secret-pass-1"},
        create=True,
    )
    creds = AwsSecretsManagerCredentials(SECRET, client=aws).get()
    assert creds.passphrase == "secret-pass-1"
    assert creds.resolve()[1].kid == keys.kid_of(rsa_key)


def test_cached_until_refresh_then_picks_up_new_version(aws: Any, pem: str) -> None:
    first, second = ApiKey.generate().reveal(), ApiKey.generate().reveal()
    put(aws, {"api_key": first, "private_key": pem}, create=True)
    client = CountingClient(aws)
    provider = AwsSecretsManagerCredentials(SECRET, client=client)
    for _ in range(20):
        provider.get()
    assert client.calls == 1
    put(aws, {"api_key": second, "private_key": pem})
    assert ApiKey.parse(provider.get().api_key).reveal() == first
    assert ApiKey.parse(provider.refresh().api_key).reveal() == second
    assert client.calls == 2


def test_refresh_interval(aws: Any, pem: str) -> None:
    now = [0.0]
    put(aws, {"api_key": ApiKey.generate().reveal(), "private_key": pem}, create=True)
    client = CountingClient(aws)
    provider = AwsSecretsManagerCredentials(
        SECRET, client=client, refresh_interval=3600, clock=lambda: now[0]
    )
    provider.get()
    now[0] = 3599
    provider.get()
    assert client.calls == 1
    now[0] = 3601
    provider.get()
    assert client.calls == 2


def test_sixteen_threads_refresh_one_aws_call(aws: Any, pem: str) -> None:
    put(aws, {"api_key": ApiKey.generate().reveal(), "private_key": pem}, create=True)
    client = CountingClient(aws)
    provider = AwsSecretsManagerCredentials(SECRET, client=client)
    provider.get()
    seen = provider.generation
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait(timeout=10)
        provider.refresh(seen)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert client.calls == 2


@pytest.mark.parametrize("missing", ["api_key", "private_key"])
def test_missing_field_is_named_values_are_not(
    aws: Any, pem: str, missing: str
) -> None:
    api_key = ApiKey.generate().reveal()
    data = {"api_key": api_key, "private_key": pem, "passphrase": "pp-value-123"}
    del data[missing]
    put(aws, data, create=True)
    with pytest.raises(CredentialSourceError) as info:
        AwsSecretsManagerCredentials(SECRET, client=aws).get()
    message = str(info.value)
    assert repr(missing) in message
    assert SECRET in message
    for value in (api_key, "pp-value-123", pem.splitlines()[1]):
        assert value not in message


@pytest.mark.parametrize(
    "payload", ["not json at all nvk_test_x", "[1, 2]", '"a string"', "{bad json"]
)
def test_secret_that_is_not_a_json_object(aws: Any, payload: str) -> None:
    put(aws, payload, create=True)
    with pytest.raises(CredentialSourceError, match="not a JSON object") as info:
        AwsSecretsManagerCredentials(SECRET, client=aws).get()
    assert payload not in str(info.value)
    assert info.value.__cause__ is None


def test_wrong_types_are_refused(aws: Any, pem: str) -> None:
    put(aws, {"api_key": 123, "private_key": pem}, create=True)
    with pytest.raises(CredentialSourceError, match="'api_key'"):
        AwsSecretsManagerCredentials(SECRET, client=aws).get()
    put(
        aws,
        {"api_key": ApiKey.generate().reveal(), "private_key": pem, "passphrase": 5},
    )
    with pytest.raises(CredentialSourceError, match="'passphrase'"):
        AwsSecretsManagerCredentials(SECRET, client=aws).get()


def test_malformed_api_key_names_the_secret(aws: Any, pem: str) -> None:
    put(aws, {"api_key": "nvk_test_tooShort", "private_key": pem}, create=True)
    with pytest.raises(InvalidApiKeyError) as info:
        AwsSecretsManagerCredentials(SECRET, client=aws).get()
    assert SECRET in str(info.value)
    assert "nvk_test_tooShort" not in str(info.value)


def test_secret_binary_is_accepted(aws: Any, pem: str) -> None:
    api_key = ApiKey.generate().reveal()
    body = json.dumps({"api_key": api_key, "private_key": pem}).encode("utf-8")
    aws.create_secret(Name=SECRET, SecretBinary=body)
    creds = AwsSecretsManagerCredentials(SECRET, client=aws).get()
    assert ApiKey.parse(creds.api_key).reveal() == api_key


def test_unknown_secret_is_a_source_error(aws: Any) -> None:
    with pytest.raises(CredentialSourceError, match="ResourceNotFoundException"):
        AwsSecretsManagerCredentials("no/such/secret", client=aws).get()


def test_chain_with_aws_after_environment(
    aws: Any, pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUVERA_API_KEY", raising=False)
    api_key = ApiKey.generate().reveal()
    put(aws, {"api_key": api_key, "private_key": pem}, create=True)
    chain = ChainCredentials(
        [EnvironmentCredentials(), AwsSecretsManagerCredentials(SECRET, client=aws)]
    )
    assert ApiKey.parse(chain.get().api_key).reveal() == api_key


def test_missing_boto3_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_boto(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "boto3" or name.startswith("boto3."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto)
    with pytest.raises(ConfigurationError, match=r"nuvera-client\[aws\]"):
        AwsSecretsManagerCredentials(SECRET)


def test_missing_region_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigurationError, match="region"):
        AwsSecretsManagerCredentials(SECRET)


def test_secret_id_required() -> None:
    with pytest.raises(ConfigurationError):
        AwsSecretsManagerCredentials("", client=object())  # type: ignore[arg-type]


def test_botocore_debug_logs_never_carry_the_secret(
    aws: Any, pem: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the leak scan of issue 17: botocore logs response bodies at DEBUG.
    api_key = ApiKey.generate("test").reveal()
    put(aws, {"api_key": api_key, "private_key": pem}, create=True)
    with caplog.at_level(logging.DEBUG):
        provider = AwsSecretsManagerCredentials(SECRET, client=aws)
        fetched = provider.fetch().api_key
        assert isinstance(fetched, ApiKey)
        assert fetched.reveal() == api_key
        put(aws, {"api_key": api_key, "private_key": pem})
    assert any(r.name == "botocore.parsers" for r in caplog.records)
    assert "redacted by nuvera_client" in caplog.text
    assert api_key not in caplog.text
    assert "PRIVATE KEY" not in caplog.text
