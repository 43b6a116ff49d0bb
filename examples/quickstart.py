"""Quickstart: a client, a customer and a list, against the embedded sandbox.

Needs only ``pip install "nuvera-client[sandbox]"``: no account, no network. Against
the real API you would pass your own API key and private key (or set
``NUVERA_API_KEY`` and ``NUVERA_PRIVATE_KEY_FILE``) and drop the sandbox lines.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import httpx

from nuvera_client import NuveraClient
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.sandbox import Sandbox


def main() -> None:
    """Create an application in a sandbox, then customers through the SDK."""
    with Sandbox() as sandbox:
        # 1. What the settings screen does: an application, its API key, your key.
        signing_key = generate_private_key(2048)
        app = sandbox.create_application(
            name="quickstart",
            permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
            public_key_pem=public_key_pem(signing_key),
        )
        print(f"application {app.id}, signing key {app.kid}")

        # 2. A client: every request it sends is signed (x-api-key + RS256 JWT).
        with NuveraClient(
            app.api_key,
            private_key_pem(signing_key),
            base_url="http://127.0.0.1",  # loopback: plain HTTP is allowed
            http_client=httpx.Client(transport=sandbox.transport()),
        ) as client:
            ada = client.customers.create(
                type="individual",
                name="Ada Lovelace",
                email="ada@example.com",
                country="GB",
                metadata={"crm_ref": "A-1042"},
            )
            client.customers.create(
                type="business", name="Analytical Engines Ltd", email="ops@ae.example"
            )
            print(f"created {ada.id}: {ada.name}, KYC {ada.kyc_status}")

            ada = client.customers.update(ada.id, phone="+447700900123")
            print(f"updated {ada.id}: phone {ada.phone}")

            # Lists are lazy and walk every page for you.
            for customer in client.customers.list(limit=1):
                print(f"  {customer.id}  {customer.type:<10}  {customer.email}")
            used = ", ".join(sorted(str(p) for p in client.permissions_used))
            print(f"permissions used: {used}")


if __name__ == "__main__":
    main()
