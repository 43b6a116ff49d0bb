"""Credentials and the provider interface clients use to fetch and refresh them.

A provider is asked for :class:`Credentials` once when a client starts, and its
``refresh()`` is called when the server signals a rotation (``api_key_revoked``,
``unknown_signing_key``, or ``invalid_api_key`` on a key that used to work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._signer import SigningKey

__all__ = ["CredentialProvider", "Credentials"]


@dataclass(frozen=True)
class Credentials:
    """An API key and the private key that signs for it; never printed.

    Args:
        api_key: the API key text (or a parsed :class:`~nuvera_client.ApiKey`).
        private_key: any form :class:`~nuvera_client.RequestSigner` accepts.
        passphrase: for an encrypted private key.
    """

    api_key: str | ApiKey = field(repr=False)
    private_key: keys.PrivateKeySource | SigningKey = field(repr=False)
    passphrase: str | bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        try:
            shown = ApiKey.parse(self.api_key).redacted
        except ValueError:
            shown = "<invalid>"
        return f"Credentials(api_key='{shown}', private_key=<redacted>)"


@runtime_checkable
class CredentialProvider(Protocol):
    """Where a client gets its credentials.

    ``get()`` may return cached credentials; ``refresh()`` must fetch them anew
    from the source (called after the server signals a rotation).
    """

    def get(self) -> Credentials:
        """Return the current credentials."""
        ...

    def refresh(self) -> Credentials:
        """Fetch the credentials again from their source and return them."""
        ...
