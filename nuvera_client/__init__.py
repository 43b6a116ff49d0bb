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
from nuvera_client._wire import NuveraDeprecationWarning
from nuvera_client.credentials import CredentialProvider, Credentials

__all__ = [
    "USER_AGENT",
    "ApiKey",
    "AsyncNuveraClient",
    "AsyncPage",
    "CredentialProvider",
    "Credentials",
    "NuveraAuth",
    "NuveraClient",
    "NuveraDeprecationWarning",
    "Page",
    "Permission",
    "RequestSigner",
    "SigningKey",
    "__version__",
    "validate_permissions",
]
