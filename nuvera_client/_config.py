"""Owns ClientConfig: environment variables, base URL and key environment checks."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._secret_holder import FrozenSecretHolder
from nuvera_client.errors import (
    ConfigurationError,
    EnvironmentMismatchError,
    InsecureTransportError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_PRIVATE_KEY",
    "ENV_PRIVATE_KEY_FILE",
    "ENV_PRIVATE_KEY_PASSPHRASE",
    "LIVE_BASE_URL",
    "LOCAL_SANDBOX_BASE_URL",
    "TEST_BASE_URL",
    "ClientConfig",
    "base_url_for",
    "check_base_url",
    "is_loopback_host",
]

ENV_API_KEY = "NUVERA_API_KEY"
ENV_PRIVATE_KEY = "NUVERA_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "NUVERA_PRIVATE_KEY_FILE"
ENV_PRIVATE_KEY_PASSPHRASE = "NUVERA_PRIVATE_KEY_PASSPHRASE"  # noqa: S105
ENV_BASE_URL = "NUVERA_BASE_URL"

LIVE_BASE_URL = "https://api.nuvera.com"
TEST_BASE_URL = "https://api.sandbox.nuvera.com"
LOCAL_SANDBOX_BASE_URL = "http://127.0.0.1:8787"

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""30 s per read/write/pool wait, 10 s to connect."""


def is_loopback_host(host: str) -> bool:
    """Return whether ``host`` is ``localhost``, in ``127.0.0.0/8`` or ``::1``."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return name == "localhost"
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def base_url_for(environment: str) -> str:
    """Return the base URL of ``"live"`` or ``"test"`` (PROTOCOL §7)."""
    if environment == "live":
        return LIVE_BASE_URL
    if environment == "test":
        return TEST_BASE_URL
    raise ConfigurationError(
        f"environment must be 'live' or 'test', not {environment!r}"
    )


def check_base_url(base_url: str | httpx.URL, key_env: str | None) -> httpx.URL:
    """Validate a base URL, alone and against the API key's environment.

    Raises:
        InsecureTransportError: ``http://`` to a host that is not loopback.
        EnvironmentMismatchError: a live key with the test or a loopback URL, or a
            test key with the live URL.
        ConfigurationError: not an absolute http(s) URL.
    """
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"the base URL must be an absolute http(s) URL, got {str(base_url)!r}"
        )
    if url.query or url.fragment:
        raise ConfigurationError("the base URL must not carry a query or a fragment")
    loopback = is_loopback_host(url.host)
    if url.scheme == "http" and not loopback:
        raise InsecureTransportError(
            f"refusing plain http:// to {url.host!r}: only loopback hosts (localhost, "
            "127.0.0.0/8, [::1]) may use http; use https://"
        )
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}".rstrip("/").lower()
    # Compare hosts, not spellings: a port, case or a trailing dot (FQDN) is the
    # same Nuvera environment.
    host = url.host.lower().rstrip(".")
    is_test_host = host == httpx.URL(TEST_BASE_URL).host
    is_live_host = host == httpx.URL(LIVE_BASE_URL).host
    if key_env == "live" and (is_test_host or loopback):
        raise EnvironmentMismatchError(
            f"a live API key cannot be used with {origin} (a sandbox); use "
            f"{LIVE_BASE_URL} or a test key (nvk_test_...)"
        )
    if key_env == "test" and is_live_host:
        raise EnvironmentMismatchError(
            f"a test API key cannot be used with {LIVE_BASE_URL}; use a live key "
            f"(nvk_live_...) or {TEST_BASE_URL}"
        )
    return url.copy_with(raw_path=url.raw_path.rstrip(b"/"))


@dataclass(frozen=True)
class ClientConfig(FrozenSecretHolder):
    """Resolved client settings: explicit arguments first, then ``NUVERA_*`` vars.

    ``private_key`` is PEM text / key material and ``passphrase`` a secret: neither
    appears in ``repr`` or a pretty printer, and pickling is refused.
    """

    api_key: ApiKey | None
    private_key: object | None
    passphrase: str | bytes | None
    base_url: httpx.URL

    def __repr__(self) -> str:
        return (
            f"ClientConfig(api_key={self.api_key!r}, base_url={str(self.base_url)!r})"
        )

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | ApiKey | None = None,
        private_key: object | None = None,
        passphrase: str | bytes | None = None,
        base_url: str | httpx.URL | None = None,
        environment: str | None = None,
        env: Mapping[str, str] | None = None,
        require_credentials: bool = True,
    ) -> ClientConfig:
        """Fill unset arguments from the environment and check their consistency.

        Args:
            api_key: the API key, else ``NUVERA_API_KEY``.
            private_key: the signing key, else ``NUVERA_PRIVATE_KEY`` (PEM text) or
                the file named by ``NUVERA_PRIVATE_KEY_FILE``.
            passphrase: else ``NUVERA_PRIVATE_KEY_PASSPHRASE``.
            base_url: else ``NUVERA_BASE_URL``, else the URL of ``environment``,
                else of the key's environment.
            environment: ``"live"`` or ``"test"``; must agree with the key.
            env: the variables to read (default ``os.environ``).
            require_credentials: raise when no API key / private key is found.

        Raises:
            ConfigurationError: missing or inconsistent settings (subclasses say which).
        """
        source = os.environ if env is None else env
        if api_key is None and source.get(ENV_API_KEY):
            api_key = source[ENV_API_KEY]
        key = None if api_key is None else ApiKey.parse(api_key)
        if private_key is None:
            if source.get(ENV_PRIVATE_KEY):
                private_key = source[ENV_PRIVATE_KEY].encode("utf-8")
            elif source.get(ENV_PRIVATE_KEY_FILE):
                path = Path(source[ENV_PRIVATE_KEY_FILE]).expanduser()
                try:
                    private_key = path.read_bytes()
                except OSError as exc:
                    raise ConfigurationError(
                        f"cannot read {ENV_PRIVATE_KEY_FILE}={str(path)!r}: "
                        f"{exc.strerror}"
                    ) from None
        if passphrase is None and source.get(ENV_PRIVATE_KEY_PASSPHRASE):
            passphrase = source[ENV_PRIVATE_KEY_PASSPHRASE]
        if require_credentials and key is None:
            raise ConfigurationError(
                f"no API key: pass api_key=, credentials=, or set {ENV_API_KEY}"
            )
        if require_credentials and private_key is None:
            raise ConfigurationError(
                f"no private key: pass private_key=, credentials=, or set "
                f"{ENV_PRIVATE_KEY} (PEM text) or {ENV_PRIVATE_KEY_FILE}"
            )
        if environment is not None and environment not in ("live", "test"):
            raise ConfigurationError(
                f"environment must be 'live' or 'test', not {environment!r}"
            )
        if environment and key is not None and key.env != environment:
            raise EnvironmentMismatchError(
                f"environment={environment!r} but the API key is a {key.env} key"
            )
        if base_url is None and source.get(ENV_BASE_URL):
            base_url = source[ENV_BASE_URL]
        if base_url is None:
            chosen = environment or (key.env if key is not None else "test")
            base_url = base_url_for(chosen)
        url = check_base_url(base_url, key.env if key is not None else environment)
        return cls(
            api_key=key, private_key=private_key, passphrase=passphrase, base_url=url
        )
