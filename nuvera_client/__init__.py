"""Official Python SDK for the Nuvera REST API.

Signing (:class:`RequestSigner`, :class:`NuveraAuth`), API keys (:class:`ApiKey`)
and the typed clients. Key helpers live in :mod:`nuvera_client.keys`, errors in
:mod:`nuvera_client.errors`, the local sandbox in :mod:`nuvera_client.sandbox`.
"""

from nuvera_client._api_key import ApiKey
from nuvera_client._auth import USER_AGENT, NuveraAuth
from nuvera_client._signer import RequestSigner, SigningKey
from nuvera_client._version import __version__
from nuvera_client.credentials import CredentialProvider, Credentials

__all__ = [
    "USER_AGENT",
    "ApiKey",
    "CredentialProvider",
    "Credentials",
    "NuveraAuth",
    "RequestSigner",
    "SigningKey",
    "__version__",
]
