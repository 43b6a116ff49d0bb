from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._config import (
    LIVE_BASE_URL,
    TEST_BASE_URL,
    ClientConfig,
    check_base_url,
    is_loopback_host,
)
from nuvera_client.errors import (
    ConfigurationError,
    CredentialSourceError,
    EnvironmentMismatchError,
    InsecureTransportError,
    InvalidApiKeyError,
)

LIVE = ApiKey.generate("live").reveal()
TEST = ApiKey.generate("test").reveal()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::1", True),
        ("api.nuvera.com", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("128.0.0.1", False),
    ],
)
def test_loopback(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected


def test_environment_follows_key() -> None:
    live = ClientConfig.resolve(api_key=LIVE, private_key=b"x", env={})
    test = ClientConfig.resolve(api_key=TEST, private_key=b"x", env={})
    assert str(live.base_url) == LIVE_BASE_URL
    assert str(test.base_url) == TEST_BASE_URL


@pytest.mark.parametrize(
    ("key", "url"),
    [
        (LIVE, TEST_BASE_URL),
        (LIVE, "http://127.0.0.1:8787"),
        (LIVE, "http://localhost:9000/"),
        (TEST, LIVE_BASE_URL),
        (TEST, "https://API.nuvera.com/"),
    ],
)
def test_mixing_refused(key: str, url: str) -> None:
    with pytest.raises(EnvironmentMismatchError):
        ClientConfig.resolve(api_key=key, private_key=b"x", base_url=url, env={})


@pytest.mark.parametrize("key", [LIVE, TEST])
def test_proxy_url_accepted_with_either_key(key: str) -> None:
    config = ClientConfig.resolve(
        api_key=key,
        private_key=b"x",
        base_url="https://egress.partner.example/nv",
        env={},
    )
    assert config.base_url.host == "egress.partner.example"


def test_test_key_with_loopback() -> None:
    config = ClientConfig.resolve(
        api_key=TEST, private_key=b"x", base_url="http://127.0.0.1:8787", env={}
    )
    assert config.base_url.port == 8787


@pytest.mark.parametrize(
    "url", ["http://api.sandbox.nuvera.com", "http://10.1.2.3", "http://localhost.evil"]
)
def test_plain_http_only_loopback(url: str) -> None:
    with pytest.raises(InsecureTransportError):
        check_base_url(url, "test")


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "https://a/?q=1"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url, None)


def test_environment_argument() -> None:
    with pytest.raises(EnvironmentMismatchError):
        ClientConfig.resolve(api_key=TEST, private_key=b"x", environment="live", env={})
    with pytest.raises(ConfigurationError):
        ClientConfig.resolve(api_key=TEST, private_key=b"x", environment="prod", env={})
    config = ClientConfig.resolve(
        api_key=TEST, private_key=b"x", environment="test", env={}
    )
    assert str(config.base_url) == TEST_BASE_URL


def test_from_environment_variables(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = keys.private_key_pem(rsa_key)
    encrypted = keys.private_key_pem(rsa_key, "pw")
    env = {
        "NUVERA_API_KEY": TEST,
        "NUVERA_PRIVATE_KEY": encrypted,
        "NUVERA_PRIVATE_KEY_PASSPHRASE": "pw",
        "NUVERA_BASE_URL": "http://127.0.0.1:9999",
    }
    config = ClientConfig.resolve(env=env)
    assert config.api_key == ApiKey.parse(TEST)
    # Resolved through the credential chain, which parsed (and cached) the key.
    assert keys.kid_of(config.private_key) == keys.kid_of(rsa_key)  # type: ignore[arg-type]
    assert config.passphrase == "pw"
    assert config.base_url.port == 9999
    # The secrets never show in repr.
    assert TEST not in repr(config)
    assert "PRIVATE" not in repr(config)

    key_file = tmp_path / "k.pem"
    key_file.write_text(pem)
    key_file.chmod(0o600)
    config = ClientConfig.resolve(
        env={"NUVERA_API_KEY": TEST, "NUVERA_PRIVATE_KEY_FILE": str(key_file)}
    )
    assert keys.kid_of(config.private_key) == keys.kid_of(rsa_key)  # type: ignore[arg-type]
    # With the API key given, the key file is read by the same reader, same rule.
    config = ClientConfig.resolve(
        api_key=TEST, env={"NUVERA_PRIVATE_KEY_FILE": str(key_file)}
    )
    assert config.private_key == pem.encode()


def test_explicit_beats_environment() -> None:
    config = ClientConfig.resolve(
        api_key=LIVE,
        private_key=b"explicit",
        env={"NUVERA_API_KEY": TEST, "NUVERA_PRIVATE_KEY": "env"},
    )
    assert config.api_key is not None
    assert config.api_key.env == "live"
    assert config.private_key == b"explicit"


def test_missing_pieces() -> None:
    with pytest.raises(ConfigurationError, match="NUVERA_API_KEY"):
        ClientConfig.resolve(env={})
    with pytest.raises(ConfigurationError, match="NUVERA_PRIVATE_KEY"):
        ClientConfig.resolve(api_key=TEST, env={})
    with pytest.raises(CredentialSourceError, match="cannot read"):
        ClientConfig.resolve(
            api_key=TEST, env={"NUVERA_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}
        )
    with pytest.raises(InvalidApiKeyError):
        ClientConfig.resolve(api_key=TEST[:-1], private_key=b"x", env={})
