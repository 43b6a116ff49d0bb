"""Upload a KYC document as a stream, watch KYC move, and download it back.

The file is never held in memory: the SDK hashes the multipart body in one streaming
pass (the signature covers the exact bytes sent) and streams it again on send.

Run: ``python examples/upload_document.py``
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import httpx

from nuvera_client import NuveraClient
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.sandbox import Sandbox

PERMISSIONS = ["CUSTOMERS_READ", "CUSTOMERS_WRITE", "DOCUMENTS_READ", "DOCUMENTS_WRITE"]


def main() -> None:
    """Upload a 2 MiB scan from disk, then download it to disk and compare."""
    key = generate_private_key(2048)
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        app = sandbox.create_application(
            name="onboarding",
            permissions=PERMISSIONS,
            public_key_pem=public_key_pem(key),
        )
        scan = Path(tmp) / "passport.pdf"
        scan.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8192)  # about 2 MiB
        with NuveraClient(
            app.api_key,
            private_key_pem(key),
            base_url="http://127.0.0.1",
            http_client=httpx.Client(transport=sandbox.transport()),
        ) as client:
            customer = client.customers.create(
                type="individual", name="Grace Hopper", email="grace@example.com"
            )
            print(f"customer {customer.id}: KYC {customer.kyc_status}")

            # A path, bytes or an open binary file all work; a path streams.
            document = client.documents.upload(
                customer_id=customer.id, type="passport", file=scan
            )
            local_sha = hashlib.sha256(scan.read_bytes()).hexdigest()
            print(f"uploaded {document.id}: {document.filename}, {document.size} bytes")
            print(f"  content type {document.content_type}")
            print(f"  server sha256 matches local file: {document.sha256 == local_sha}")

            # The sandbox emulates KYC: an identity document verifies the customer.
            customer = client.customers.retrieve(customer.id)
            print(f"customer {customer.id}: KYC {customer.kyc_status}")

            copy = Path(tmp) / "copy.pdf"
            client.documents.download_to(document.id, copy)
            same = hashlib.sha256(copy.read_bytes()).hexdigest() == local_sha
            print(f"downloaded to disk, identical: {same}")

            with client.documents.stream(document.id) as chunks:
                total = sum(len(chunk) for chunk in chunks)
            print(f"streamed {total} bytes without holding the file")


if __name__ == "__main__":
    main()
