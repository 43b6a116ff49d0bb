"""The clients with the partner-facing pytest fixtures of ``nuvera_client.testing``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.testing import SandboxApplication


def test_client_with_plugin_fixture(nuvera_application: SandboxApplication) -> None:
    app = nuvera_application
    with NuveraClient(app.api_key, app.private_key_pem, base_url=app.base_url) as c:
        customer = c.customers.create(type="individual", name="P", email="p@x.com")
        bank = c.beneficiaries.create(
            customer_id=customer.id,
            type="bank_account",
            name="EUR",
            currency="EUR",
            bank_account={"iban": "DE89370400440532013000"},
        )
        payment = c.payments.create(
            customer_id=customer.id,
            beneficiary_id=bank.id,
            amount="1.50",
            currency="EUR",
        )
        assert payment.amount == Decimal("1.50")
        assert [p.id for p in c.payments.list()] == [payment.id]


@pytest.mark.anyio
async def test_async_client_with_plugin_fixture(
    nuvera_application: SandboxApplication,
) -> None:
    app = nuvera_application
    async with AsyncNuveraClient(
        app.api_key, app.private_key_pem, base_url=app.base_url
    ) as client:
        networks = [n.code async for n in client.crypto.networks.list(limit=2)]
    assert "ethereum" in networks
    assert len(networks) == 7
