"""Credentials and the provider interface clients use to fetch and refresh them.

A provider is asked for [`Credentials`][nuvera_client.Credentials] once when a client
starts, and its ``refresh()`` is called when the server signals a rotation
(``api_key_revoked``, ``unknown_signing_key``, or ``invalid_api_key`` on a key that used
to work).

Providers shipped here:
[`EnvironmentCredentials`][nuvera_client.credentials.EnvironmentCredentials]
(``NUVERA_*`` variables), [`FileCredentials`][nuvera_client.credentials.FileCredentials]
(a key file and an API key file, owner-only),
[`AwsSecretsManagerCredentials`][nuvera_client.credentials.AwsSecretsManagerCredentials]
(the ``aws`` extra),
[`CallableCredentials`][nuvera_client.credentials.CallableCredentials] (wrap any
function: Vault, GCP Secret Manager, ...), and
[`ChainCredentials`][nuvera_client.credentials.ChainCredentials] (first configured
provider wins; [`default_chain()`][nuvera_client.credentials.default_chain] is the usual
one).

Every shipped provider caches what it fetched: the source is asked once, then only
when ``refresh_interval`` has passed or ``refresh()`` is called, and concurrent
callers (threads and asyncio tasks) share a single fetch. Private keys are parsed
once per distinct key.
"""

from __future__ import annotations

from nuvera_client._aws_credentials import AwsSecretsManagerCredentials
from nuvera_client._credential_base import (
    CachingCredentialProvider,
    CredentialProvider,
    Credentials,
    CredentialsNotConfiguredError,
    CredentialSourceError,
    InsecureCredentialsFileError,
)
from nuvera_client._credential_chain import ChainCredentials, default_chain
from nuvera_client._credential_providers import (
    CallableCredentials,
    EnvironmentCredentials,
    FileCredentials,
    ProfileCredentials,
)
from nuvera_client._environment import ENV_API_KEY_FILE

__all__ = [
    "ENV_API_KEY_FILE",
    "AwsSecretsManagerCredentials",
    "CachingCredentialProvider",
    "CallableCredentials",
    "ChainCredentials",
    "CredentialProvider",
    "CredentialSourceError",
    "Credentials",
    "CredentialsNotConfiguredError",
    "EnvironmentCredentials",
    "FileCredentials",
    "InsecureCredentialsFileError",
    "ProfileCredentials",
    "default_chain",
]
