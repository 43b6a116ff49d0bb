"""Sign requests made with the ``requests`` library: JSON and a multipart upload.

For code bases built on ``requests``: ``NuveraRequestsAuth`` signs each request
(``pip install "nuvera-client[requests]"``). Multipart bodies are built with
requests-toolbelt's ``MultipartEncoder`` so the SDK can hash their exact bytes.
This example talks to the sandbox over real HTTP on 127.0.0.1.

Run: ``python examples/requests_integration.py``
"""

from __future__ import annotations

import hashlib

import requests
from requests_toolbelt import MultipartEncoder

from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.requests_auth import NuveraRequestsAuth
from nuvera_client.sandbox import Sandbox

PERMISSIONS = ["CUSTOMERS_READ", "CUSTOMERS_WRITE", "DOCUMENTS_READ", "DOCUMENTS_WRITE"]


def main() -> None:
    """Serve a sandbox on a free loopback port and call it with requests."""
    key = generate_private_key(2048)
    with Sandbox() as sandbox, sandbox.serve(port=0) as server:
        app = sandbox.create_application(
            name="legacy-app",
            permissions=PERMISSIONS,
            public_key_pem=public_key_pem(key),
        )
        with requests.Session() as session:
            session.auth = NuveraRequestsAuth(app.api_key, private_key_pem(key))
            base = server.base_url

            response = session.post(
                f"{base}/v1/customers",
                json={
                    "type": "individual",
                    "name": "Zoë Ł.",
                    "email": "zoe@example.com",
                },
                timeout=10,
            )
            response.raise_for_status()
            customer = response.json()
            print(f"POST /v1/customers -> {response.status_code} {customer['id']}")

            response = session.get(
                f"{base}/v1/customers",
                params={"email": "zoe@example.com"},  # sent as zoe%40example.com
                timeout=10,
            )
            print(f"GET  {response.request.path_url} -> {response.status_code}")
            print(f"     found {len(response.json()['data'])} customer(s)")

            scan = b"%PDF-1.7 scanned utility bill"
            body = MultipartEncoder(
                fields={
                    "customer_id": customer["id"],
                    "type": "proof_of_address",
                    "file": ("bill.pdf", scan, "application/pdf"),
                }
            )
            response = session.post(
                f"{base}/v1/documents",
                data=body,
                headers={"Content-Type": body.content_type},
                timeout=10,
            )
            response.raise_for_status()
            document = response.json()
            same = document["sha256"] == hashlib.sha256(scan).hexdigest()
            print(f"POST /v1/documents (multipart) -> {response.status_code}")
            print(f"     {document['id']}: {document['size']} bytes, sha256 ok: {same}")
            print(f"     request id {response.headers['x-request-id']}")


if __name__ == "__main__":
    main()
