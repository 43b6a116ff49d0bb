"""Owns the end-to-end demo that ``scripts/demo`` runs against an embedded sandbox.

The partner story, over real HTTP on 127.0.0.1: generate a key pair, create an API
application, receive the one-time key, use every permission area, show a refusal
outside the granted permissions, and rotate both keys under load with zero failures.
Run it with ``python -m nuvera_client._demo``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._client import NuveraClient
from nuvera_client.errors import APIError
from nuvera_client.sandbox import Sandbox

CONSOLE_PORT = 8787
ALL_PERMISSIONS = (
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
    "BENEFICIARIES_READ",
    "BENEFICIARIES_WRITE",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "CRYPTO_READ",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "SCREENING_READ",
    "SUPPORT_READ",
    "SUPPORT_WRITE",
)


@dataclass
class Story:
    """The steps shown in the summary table."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    failures: int = 0

    def step(self, name: str, action: Callable[[], str]) -> None:
        """Run one step, print it as it happens and keep it for the summary."""
        try:
            detail = action()
            status = "ok"
        except APIError as exc:
            detail = f"{exc.status_code} {exc.code}"
            status = "FAILED"
            self.failures += 1
        print(f"  {status:<7} {name:<34} {detail}")
        self.rows.append((name, status, detail))

    def expect_refusal(self, name: str, action: Callable[[], object]) -> None:
        """Run a call that must be refused and show the server's reason."""
        try:
            action()
        except APIError as exc:
            needed = exc.details.get("required_permission")
            detail = f"{exc.status_code} {exc.code}: needs {needed}"
            print(f"  {'refused':<7} {name:<34} {detail}")
            self.rows.append((name, "refused", detail))
            return
        self.failures += 1
        print(f"  {'FAILED':<7} {name:<34} was not refused")
        self.rows.append((name, "FAILED", "was not refused"))

    def table(self) -> str:
        """Render the summary as a plain-text table."""
        width = max(len(r[0]) for r in self.rows)
        lines = [f"{'step':<{width}}  result   detail", "-" * (width + 40)]
        lines += [f"{n:<{width}}  {s:<7}  {d}" for n, s, d in self.rows]
        return "\n".join(lines)


def _traffic(
    client: NuveraClient, customer_id: str, stop: threading.Event, counts: list[int]
) -> None:
    """Steady reads while keys rotate: counts[0] successes, counts[1] failures."""
    while not stop.is_set():
        try:
            client.customers.retrieve(customer_id)
            counts[0] += 1
        except APIError:
            counts[1] += 1
        time.sleep(0.005)


def run() -> int:
    """Run the demo; return 0 when every step behaved as the platform promises."""
    story = Story()
    print(
        "Nuvera sandbox demo: everything below runs locally, over HTTP on 127.0.0.1\n"
    )
    with Sandbox() as sandbox, sandbox.serve(port=0) as server:
        print(f"sandbox listening on {server.base_url}\n")
        key = keys.generate_private_key(3072)
        print(f"1. generated an RSA-3072 key pair, kid {keys.kid_of(key)}")
        app = sandbox.create_application(
            name="payouts-service",
            permissions=list(ALL_PERMISSIONS),
            public_key_pem=keys.public_key_pem(key),
        )
        shown = ApiKey.parse(app.api_key)
        print(f"2. created application {app.id}; one-time API key {shown.redacted}")
        print(
            "   (the full key is shown once by the settings screen; store it safely)\n"
        )

        client = NuveraClient(app.api_key, key, base_url=server.base_url)
        state: dict[str, str] = {}

        def customer() -> str:
            c = client.customers.create(
                type="individual", name="Ada Lovelace", email="ada@example.com"
            )
            state["customer"] = c.id
            return f"{c.id} kyc={c.kyc_status}"

        def document() -> str:
            d = client.documents.upload(
                customer_id=state["customer"],
                type="passport",
                file=b"%PDF-1.7 demo passport scan\n" * 100,
                filename="passport.pdf",
            )
            kyc = client.customers.retrieve(state["customer"]).kyc_status
            return f"{d.id} {d.size} bytes sha256 {d.sha256[:12]}… kyc={kyc}"

        def beneficiary() -> str:
            b = client.beneficiaries.create(
                customer_id=state["customer"],
                type="bank_account",
                name="Ada Lovelace",
                currency="EUR",
                bank_account={"iban": "DE89 3704 0044 0532 0130 00", "bic": None},
            )
            state["beneficiary"] = b.id
            return f"{b.id} IBAN checked"

        def crypto() -> str:
            assets = client.crypto.assets.list(limit=100).first_page()
            usdc = client.crypto.assets.retrieve("USDC")
            return f"{len(assets.data)} assets; USDC on {', '.join(usdc.networks)}"

        def payment() -> str:
            args = {
                "customer_id": state["customer"],
                "beneficiary_id": state["beneficiary"],
                "amount": Decimal("1250.00"),
                "currency": "EUR",
                "idempotency_key": "demo-payout-0001",
            }
            first = client.payments.create(**args)  # type: ignore[arg-type]
            again = client.payments.create(**args)  # type: ignore[arg-type]
            held = list(client.payments.list(customer_id=state["customer"]))
            same = "same payment" if first.id == again.id else "DIFFERENT payment"
            return (
                f"{first.id} {first.amount} {first.currency}; "
                f"retry → {same}, {len(held)} held"
            )

        def screening() -> str:
            results = list(client.screening.results.list(subject_id=state["customer"]))
            return (
                f"{len(results)} result(s): {results[0].status}" if results else "none"
            )

        def support() -> str:
            t = client.support.tickets.create(
                subject="Payout timing", body="When does a EUR payout settle?"
            )
            client.support.tickets.messages.create(
                t.id, body="Statement attached.", attachments=[b"date,amount\n"]
            )
            n = len(list(client.support.tickets.messages.list(t.id)))
            return f"{t.id} with {n} messages"

        print("3. the partner's calls (each request signed afresh, RS256):")
        story.step("create customer", customer)
        story.step("upload document (multipart)", document)
        story.step("add beneficiary", beneficiary)
        story.step("read crypto reference data", crypto)
        story.step("create payment, retried", payment)
        story.step("read screening", screening)
        story.step("open support ticket", support)

        print("\n4. least privilege: a reporting app with CRYPTO_READ only")
        report_key = keys.generate_private_key(2048)
        reporting = sandbox.create_application(
            name="reporting",
            permissions=["CRYPTO_READ"],
            public_key_pem=keys.public_key_pem(report_key),
        )
        with NuveraClient(
            reporting.api_key, report_key, base_url=server.base_url
        ) as narrow:
            story.expect_refusal(
                "list payments (not granted)",
                lambda: narrow.payments.list().first_page(),
            )

        print("\n5. rotate the signing key, then the API key, under steady traffic")
        stop, counts = threading.Event(), [0, 0]
        workers = [
            threading.Thread(
                target=_traffic, args=(client, state["customer"], stop, counts)
            )
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()

        def rotate() -> str:
            time.sleep(0.3)
            new_key = keys.generate_private_key(3072)
            new_kid = sandbox.add_signing_key(app.id, keys.public_key_pem(new_key))
            time.sleep(0.3)
            client.rotate_credentials(private_key=new_key)
            time.sleep(0.3)
            sandbox.remove_signing_key(app.id, app.kid)
            time.sleep(0.3)
            rotated = sandbox.rotate_api_key(app.id)
            time.sleep(0.3)
            client.rotate_credentials(api_key=rotated.api_key)
            time.sleep(0.3)
            sandbox.revoke_api_key(app.id, shown.prefix)
            time.sleep(0.3)
            return f"kid → {new_kid[:12]}…, key → {rotated.prefix}…"

        try:
            story.step("rotate both keys", rotate)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        ok, failed = counts
        story.rows.append(
            (
                "requests during rotation",
                "ok" if not failed else "FAILED",
                f"{ok} succeeded, {failed} failed",
            )
        )
        print(
            f"  {'ok' if not failed else 'FAILED':<7} {'requests during rotation':<34} "
            f"{ok} succeeded, {failed} failed"
        )
        story.failures += failed
        client.close()

        print("\nSummary\n")
        print(story.table())
        used = ", ".join(sorted(p.value for p in client.permissions_used))
        print(f"\npermissions this run needed (least privilege): {used}")
    if story.failures:
        print(f"\n{story.failures} step(s) failed", file=sys.stderr)
        return 1
    print("\nAll steps behaved as the platform promises.")
    # The console shows the platform's screens and every request with its verdict.
    print(
        f"\nSandbox console: http://127.0.0.1:{CONSOLE_PORT}/console"
        " (start it with: nuvera sandbox console)"
    )
    return 0


def main() -> None:
    """Entry point of ``python -m nuvera_client._demo``."""
    raise SystemExit(run())


if __name__ == "__main__":
    main()
