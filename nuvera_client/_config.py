"""Owns ClientConfig: environment variables, base URL and key environment checks."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._credential_cache import KEY_CACHE
from nuvera_client._credential_chain import default_chain
from nuvera_client._credential_providers import ProfileCredentials
from nuvera_client._environment import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PASSPHRASE,
    read_environment,
    read_key_file,
)
from nuvera_client._secret_holder import FrozenSecretHolder
from nuvera_client.errors import (
    ConfigurationError,
    CredentialsNotConfiguredError,
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
    """Resolved client settings: explicit arguments, else the credential chain.

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
        r"""Fill unset arguments from the environment and check their consistency.

        Without ``api_key`` and ``private_key``, the credentials come from
        [`default_chain()`][nuvera_client.credentials.default_chain]: ``NUVERA_*``
        variables, then the files they name, then the CLI's profile, with the same rules
        as every provider and the CLI (escaped ``\n`` in PEM text accepted, key files
        readable by group/others refused). With only one of them, the other comes from
        the same variables, read by the same reader.

        Args:
            api_key: the API key, else ``NUVERA_API_KEY``.
            private_key: the signing key, else ``NUVERA_PRIVATE_KEY`` (PEM text) or
                the file named by ``NUVERA_PRIVATE_KEY_FILE`` (owner-only).
            passphrase: else ``NUVERA_PRIVATE_KEY_PASSPHRASE``.
            base_url: else ``NUVERA_BASE_URL``, else the profile's ``base_url`` (when
                the credentials came from it), else the URL of ``environment``,
                else of the key's environment.
            environment: ``"live"`` or ``"test"``; must agree with the key.
            env: the variables to read (default ``os.environ``).
            require_credentials: raise when no API key / private key is found.

        Raises:
            ConfigurationError: missing or inconsistent settings (subclasses say which).
        """
        found = read_environment(env)
        profile_url: str | None = None
        if api_key is None and private_key is None:
            chain_env = env
            if passphrase is not None:
                # passphrase= given in code beats NUVERA_PRIVATE_KEY_PASSPHRASE, as an
                # argument beats its variable everywhere else.
                chain_env = {
                    name: value
                    for name, value in (os.environ if env is None else env).items()
                    if name != ENV_PRIVATE_KEY_PASSPHRASE
                }
            chain = default_chain(passphrase=passphrase, env=chain_env)
            try:
                creds = chain.get()
            except CredentialsNotConfiguredError as exc:
                if require_credentials:
                    raise CredentialsNotConfiguredError(
                        f"no API key: pass api_key=, credentials=, or set "
                        f"{ENV_API_KEY}; {exc}",
                        reasons=exc.reasons,
                    ) from None
            else:
                api_key, passphrase = creds.api_key, creds.passphrase
                # The chain parsed (and cached) the key: hand over the parsed one.
                private_key = KEY_CACHE.load(creds.private_key, creds.passphrase)
                if isinstance(chain.chosen, ProfileCredentials):
                    profile_url = chain.chosen.base_url
        else:
            if api_key is None:
                api_key = found.api_key
            if private_key is None and found.private_key is not None:
                private_key = found.private_key.encode("utf-8")
            elif private_key is None and found.private_key_file is not None:
                private_key = read_key_file(
                    found.private_key_file,
                    f"the private key file ({ENV_PRIVATE_KEY_FILE})",
                )
            if passphrase is None:
                passphrase = found.passphrase
        key = None if api_key is None else ApiKey.parse(api_key)
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
        if base_url is None:
            base_url = found.base_url or profile_url
        if base_url is None:
            chosen = environment or (key.env if key is not None else "test")
            base_url = base_url_for(chosen)
        url = check_base_url(base_url, key.env if key is not None else environment)
        return cls(
            api_key=key, private_key=private_key, passphrase=passphrase, base_url=url
        )
