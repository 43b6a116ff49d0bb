"""Create many customers concurrently with AsyncNuveraClient, bounded by a semaphore.

Every request gets its own token (a fresh ``jti``); RSA signing runs in a bounded
worker-thread pool so the event loop never blocks.

Run: ``python examples/async_bulk.py``
"""

from __future__ import annotations

import asyncio
import time

import httpx

from nuvera_client import AsyncNuveraClient
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.models import Customer
from nuvera_client.sandbox import Sandbox

COUNT = 40
CONCURRENCY = 8


async def create_all(client: AsyncNuveraClient) -> list[Customer]:
    """Create COUNT customers, at most CONCURRENCY requests in flight."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def create(number: int) -> Customer:
        async with limit:
            return await client.customers.create(
                type="individual",
                name=f"Customer {number:03d}",
                email=f"customer{number:03d}@example.com",
                external_id=f"crm-{number:03d}",
            )

    return await asyncio.gather(*(create(n) for n in range(COUNT)))


async def run() -> None:
    """Set up a sandbox application, create customers concurrently, list them."""
    key = generate_private_key(2048)
    with Sandbox() as sandbox:
        app = sandbox.create_application(
            name="bulk-import",
            permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
            public_key_pem=public_key_pem(key),
        )
        async with (
            httpx.AsyncClient(transport=sandbox.async_transport()) as http,
            AsyncNuveraClient(
                app.api_key,
                private_key_pem(key),
                base_url="http://127.0.0.1",
                http_client=http,
            ) as client,
        ):
            started = time.perf_counter()
            created = await create_all(client)
            elapsed = time.perf_counter() - started
            print(f"created {len(created)} customers in {elapsed:.2f} s")

            listed = [c.external_id async for c in client.customers.list(limit=100)]
            print(f"listed {len(listed)} customers, newest first: {listed[:3]}")
            first = await client.customers.list(limit=5).first_page()
            print(f"first page: {len(first.data)} customers, has_more={first.has_more}")


def main() -> None:
    """Run the async example."""
    asyncio.run(run())


if __name__ == "__main__":
    main()
