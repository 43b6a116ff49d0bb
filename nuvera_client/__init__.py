"""Official Python SDK for the Nuvera REST API.

Typed clients (:class:`NuveraClient`, :class:`AsyncNuveraClient`), request signing
(:class:`RequestSigner`, :class:`NuveraAuth`), API keys (:class:`ApiKey`) and
permissions (:class:`Permission`). Key helpers live in :mod:`nuvera_client.keys`,
errors in :mod:`nuvera_client.errors`, models in :mod:`nuvera_client.models`, the
local sandbox in :mod:`nuvera_client.sandbox`.
"""

from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._pagination import AsyncPage, Page
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._signer import RequestSigner, SigningKey
from nuvera_client._stack import USER_AGENT
from nuvera_client._version import __version__
from nuvera_client.credentials import CredentialProvider, Credentials
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    CredentialsNotConfiguredError,
    CredentialSourceError,
    EnvironmentMismatchError,
    IdempotencyConflictError,
    InsecureCredentialsFileError,
    InsecureTransportError,
    InvalidApiKeyError,
    InvalidArgumentError,
    InvalidClockOffsetError,
    InvalidIdError,
    InvalidPermissionsError,
    InvalidPrivateKeyError,
    InvalidRequestError,
    InvalidResponseError,
    InvalidTTLError,
    LimitExceededError,
    NotFoundError,
    NuveraDeprecationWarning,
    NuveraError,
    OptionalDependencyError,
    PassphraseError,
    PermissionDeniedError,
    PermissionNotGrantedError,
    RateLimitError,
    SandboxBusyError,
    SandboxError,
    ServerError,
    SignatureMismatchError,
    ValidationError,
)

__all__ = [
    "USER_AGENT",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ApiKey",
    "AsyncNuveraClient",
    "AsyncPage",
    "AuthenticationError",
    "ConfigurationError",
    "CredentialProvider",
    "CredentialSourceError",
    "Credentials",
    "CredentialsNotConfiguredError",
    "EnvironmentMismatchError",
    "IdempotencyConflictError",
    "InsecureCredentialsFileError",
    "InsecureTransportError",
    "InvalidApiKeyError",
    "InvalidArgumentError",
    "InvalidClockOffsetError",
    "InvalidIdError",
    "InvalidPermissionsError",
    "InvalidPrivateKeyError",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidTTLError",
    "LimitExceededError",
    "NotFoundError",
    "NuveraAuth",
    "NuveraClient",
    "NuveraDeprecationWarning",
    "NuveraError",
    "OptionalDependencyError",
    "Page",
    "PassphraseError",
    "Permission",
    "PermissionDeniedError",
    "PermissionNotGrantedError",
    "RateLimitError",
    "RequestSigner",
    "SandboxBusyError",
    "SandboxError",
    "ServerError",
    "SignatureMismatchError",
    "SigningKey",
    "ValidationError",
    "__version__",
    "validate_permissions",
]
