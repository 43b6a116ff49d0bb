"""Stateless "page 2": resume a list from a cursor stored by the previous request.

A web backend keeps no state between requests: it hands the caller
``page.next_cursor`` (e.g. in a ``?cursor=`` link), and the next request lists
from there with ``list(..., cursor=...)``.

Run: ``python examples/page_two.py``
"""

from __future__ import annotations

import httpx

from nuvera_client import NuveraClient
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.sandbox import Sandbox


def handle_request(client: NuveraClient, cursor: str | None) -> dict[str, object]:
    """One stateless request of a backend: a page of customers and the next link."""
    page = client.customers.list(limit=3, cursor=cursor).first_page()
    return {
        "customers": [c.name for c in page.data],
        "next": page.next_cursor,  # the caller sends it back for the next page
    }


def main() -> None:
    """Fill a sandbox with customers, then serve pages 1, 2, 3 without state."""
    with Sandbox() as sandbox:
        key = generate_private_key(2048)
        app = sandbox.create_application(
            name="page-two",
            permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
            public_key_pem=public_key_pem(key),
        )
        with NuveraClient(
            app.api_key,
            private_key_pem(key),
            base_url="http://127.0.0.1",
            http_client=httpx.Client(transport=sandbox.transport()),
        ) as client:
            for i in range(1, 8):
                client.customers.create(
                    type="individual", name=f"Customer {i}", email=f"c{i}@example.com"
                )
            cursor: str | None = None
            number = 1
            while True:
                answer = handle_request(client, cursor)
                customers = answer["customers"]
                shown = customers if isinstance(customers, list) else []
                print(f"page {number}: {', '.join(map(str, shown))}")
                next_cursor = answer["next"]
                if not isinstance(next_cursor, str):
                    break
                cursor, number = next_cursor, number + 1
            print(f"served {number} pages, each from a stored cursor alone")


if __name__ == "__main__":
    main()
