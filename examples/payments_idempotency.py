"""Pay exactly once: Idempotency-Key, replays, conflicts, and the payment lifecycle.

A payment request can succeed on the server while its response is lost. Repeating it
with the same ``Idempotency-Key`` returns the first payment instead of paying twice.

Run: ``python examples/payments_idempotency.py``
"""

from __future__ import annotations

from decimal import Decimal

import httpx

from nuvera_client import NuveraClient
from nuvera_client.errors import IdempotencyConflictError
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.models import Payment
from nuvera_client.sandbox import Sandbox

PERMISSIONS = [
    "CUSTOMERS_READ", "CUSTOMERS_WRITE", "BENEFICIARIES_READ", "BENEFICIARIES_WRITE",
    "PAYMENTS_READ", "PAYMENTS_WRITE",
]  # fmt: skip


def main() -> None:
    """Create a payment twice with one key, reuse the key wrongly, follow statuses."""
    key = generate_private_key(2048)
    with Sandbox() as sandbox:
        app = sandbox.create_application(
            name="payouts", permissions=PERMISSIONS, public_key_pem=public_key_pem(key)
        )
        with NuveraClient(
            app.api_key,
            private_key_pem(key),
            base_url="http://127.0.0.1",
            http_client=httpx.Client(transport=sandbox.transport()),
        ) as client:
            customer = client.customers.create(
                type="business", name="Acme Ltd", email="finance@acme.example"
            )
            landlord = client.beneficiaries.create(
                customer_id=customer.id,
                type="bank_account",
                name="Landlord",
                currency="EUR",
                bank_account={"iban": "DE89 3704 0044 0532 0130 00"},
            )

            def pay(amount: str, idempotency_key: str | None = None) -> Payment:
                return client.payments.create(
                    customer_id=customer.id,
                    beneficiary_id=landlord.id,
                    amount=Decimal(amount),  # money is Decimal, never float
                    currency="EUR",
                    reference="Rent November",
                    idempotency_key=idempotency_key,
                )

            # Your own stable key (e.g. the invoice id) survives a process restart.
            first = pay("1250.00", idempotency_key="invoice-2026-11")
            again = pay("1250.00", idempotency_key="invoice-2026-11")
            print(f"payment {first.id}: {first.amount} EUR, {first.status}")
            print(f"same key again -> {again.id} (same payment: {again == first})")

            try:
                pay("99.00", idempotency_key="invoice-2026-11")
            except IdempotencyConflictError as err:
                print(f"same key, other body -> {err.status_code} {err.code}")

            # Without idempotency_key= the SDK makes one per call (kept across retries).
            failing = pay("13.13")
            canceled = client.payments.cancel(pay("5.00").id)
            print(f"canceled {canceled.id}: {canceled.status}")

            sandbox.clock_offset += 6  # the sandbox settles payments after 5 s
            for payment in (first, failing):
                payment = client.payments.retrieve(payment.id)
                reason = (
                    f" ({payment.failure_reason})" if payment.failure_reason else ""
                )
                print(f"{payment.id}: {payment.amount} -> {payment.status}{reason}")
            count = sum(1 for _ in client.payments.list(customer_id=customer.id))
            print(f"payments held by the sandbox: {count}")


if __name__ == "__main__":
    main()
