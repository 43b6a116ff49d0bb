"""A local Nuvera: the request verifier of PROTOCOL §3, the REST API and the platform.

Needs the ``sandbox`` extra (Starlette, uvicorn, python-multipart)::

    sandbox = Sandbox()
    app = sandbox.create_application(name="svc", permissions=["CUSTOMERS_READ"],
                                     public_key_pem=pem)
    client = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox")

``sandbox.app`` is the ASGI app; ``sandbox.serve()`` runs it on loopback.
"""

from __future__ import annotations

from nuvera_client.sandbox._platform import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    DEFAULT_PARTNER,
    PERMISSIONS,
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_PARTNER,
)
from nuvera_client.sandbox._problems import SandboxError
from nuvera_client.sandbox._sandbox import DEFAULT_MAX_BODY_BYTES, Sandbox
from nuvera_client.sandbox._server import SandboxServer
from nuvera_client.sandbox._views import (
    ApiKeyView,
    ApplicationView,
    AuditEntry,
    CreatedApplication,
    RotatedApiKey,
    SigningKeyView,
    User,
)

__all__ = [
    "DEFAULT_ADMIN",
    "DEFAULT_CUSTOMER",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PARTNER",
    "PERMISSIONS",
    "ROLE_ADMIN",
    "ROLE_CUSTOMER",
    "ROLE_PARTNER",
    "ApiKeyView",
    "ApplicationView",
    "AuditEntry",
    "CreatedApplication",
    "RotatedApiKey",
    "Sandbox",
    "SandboxError",
    "SandboxServer",
    "SigningKeyView",
    "User",
]
