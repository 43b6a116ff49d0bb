"""Official Python SDK for the Nuvera REST API.

Typed clients ([`NuveraClient`][nuvera_client.NuveraClient],
[`AsyncNuveraClient`][nuvera_client.AsyncNuveraClient]), request signing
([`RequestSigner`][nuvera_client.RequestSigner],
[`NuveraAuth`][nuvera_client.NuveraAuth]), API keys ([`ApiKey`][nuvera_client.ApiKey])
and permissions ([`Permission`][nuvera_client.Permission]). Key helpers live in
[`nuvera_client.keys`][nuvera_client.keys], errors in
[`nuvera_client.errors`][nuvera_client.errors], models in
[`nuvera_client.models`][nuvera_client.models], the local sandbox in
[`nuvera_client.sandbox`][nuvera_client.sandbox].
"""

from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._pagination import AsyncPage, Page
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._raw import RawResponse
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
    ContractViolation,
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
    Pkcs11Error,
    Pkcs11KeyNotFoundError,
    Pkcs11KeyUnsuitableError,
    Pkcs11LibraryNotFoundError,
    Pkcs11MechanismError,
    Pkcs11PinError,
    Pkcs11TokenNotFoundError,
    RateLimitError,
    SandboxBusyError,
    SandboxError,
    ServerError,
    SignatureMismatchError,
    ValidationError,
    WaitTimeoutError,
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
    "ContractViolation",
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
    "Pkcs11Error",
    "Pkcs11KeyNotFoundError",
    "Pkcs11KeyUnsuitableError",
    "Pkcs11LibraryNotFoundError",
    "Pkcs11MechanismError",
    "Pkcs11PinError",
    "Pkcs11TokenNotFoundError",
    "RateLimitError",
    "RawResponse",
    "RequestSigner",
    "SandboxBusyError",
    "SandboxError",
    "ServerError",
    "SignatureMismatchError",
    "SigningKey",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
    "validate_permissions",
]
