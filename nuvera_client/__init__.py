"""Official Python SDK for the Nuvera REST API."""

from nuvera_client._version import __version__

__all__ = ["__version__"]
