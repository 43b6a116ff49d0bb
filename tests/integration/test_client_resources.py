"""Every resource method against the sandbox: sync, async, in-process, loopback."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._permissions import Permission
from nuvera_client.errors import APIError, NotFoundError, ValidationError
from nuvera_client.models import (
    BeneficiaryStatus,
    CustomerStatus,
    DocumentType,
    KycStatus,
    MessageAuthor,
    PaymentStatus,
    ScreeningStatus,
    TicketStatus,
)

IBAN = "DE89370400440532013000"
WALLET = "0x" + "ab" * 20


def test_every_sync_method(client: NuveraClient, tmp_path: Path) -> None:
    # customers
    ada = client.customers.create(
        type="individual",
        name="Ada Lovelace",
        email="ada@example.com",
        country="GB",
        metadata={"tier": "gold"},
    )
    assert ada.id.startswith("cus_")
    assert ada.kyc_status is KycStatus.NOT_STARTED
    assert client.customers.retrieve(ada.id) == ada
    updated = client.customers.update(ada.id, name="Ada King", status="suspended")
    assert updated.name == "Ada King"
    assert updated.status is CustomerStatus.SUSPENDED
    client.customers.update(ada.id, status=CustomerStatus.ACTIVE)
    for i in range(3):
        client.customers.create(type="business", name=f"Co {i}", email=f"c{i}@x.com")
    page = client.customers.list(limit=2).first_page()
    assert len(page.data) == 2
    assert page.has_more
    assert len(list(client.customers.list(limit=2))) == 4  # lazily across pages
    assert [c.id for c in client.customers.list(email="ada@example.com")] == [ada.id]
    with pytest.raises(ValidationError) as dup:
        client.customers.create(type="individual", name="X", email="ada@example.com")
    assert "email" in dup.value.fields

    # crypto reference data
    usdc = client.crypto.assets.retrieve("USDC")
    assert usdc.decimals == 6
    assert "ethereum" in usdc.networks
    assert {a.code for a in client.crypto.assets.list()} >= {"BTC", "ETH", "USDC"}
    assert "ethereum" in {n.code for n in client.crypto.networks.list()}
    with pytest.raises(NotFoundError):
        client.crypto.assets.retrieve("usdc")

    # beneficiaries
    bank = client.beneficiaries.create(
        customer_id=ada.id,
        type="bank_account",
        name="Ada EUR",
        currency="EUR",
        bank_account={"iban": IBAN, "bic": None, "bank_name": "Bank"},
    )
    assert bank.bank_account is not None
    assert bank.bank_account.country == "DE"
    wallet = client.beneficiaries.create(
        customer_id=ada.id,
        type="crypto_wallet",
        name="Ada USDC",
        currency="USDC",
        crypto_wallet={"asset": "USDC", "network": "ethereum", "address": WALLET},
    )
    assert client.beneficiaries.retrieve(wallet.id) == wallet
    renamed = client.beneficiaries.update(wallet.id, name="Cold wallet")
    assert renamed.name == "Cold wallet"
    ids = [b.id for b in client.beneficiaries.list(customer_id=ada.id)]
    assert set(ids) == {bank.id, wallet.id}
    deleted = client.beneficiaries.delete(wallet.id)
    assert deleted.deleted
    with pytest.raises(NotFoundError):
        client.beneficiaries.retrieve(wallet.id)

    # payments
    payment = client.payments.create(
        customer_id=ada.id,
        beneficiary_id=bank.id,
        amount=Decimal("1250.00"),
        currency="EUR",
        reference="INV-1",
    )
    assert payment.amount == Decimal("1250.00")
    assert payment.status is PaymentStatus.CREATED
    assert client.payments.retrieve(payment.id).id == payment.id
    canceled = client.payments.cancel(payment.id)
    assert canceled.status is PaymentStatus.CANCELED
    other = client.payments.create(
        customer_id=ada.id, beneficiary_id=bank.id, amount="5", currency="EUR"
    )
    listed = [p.id for p in client.payments.list(customer_id=ada.id)]
    assert listed == [other.id, payment.id]
    assert [p.id for p in client.payments.list(status="canceled")] == [payment.id]
    with pytest.raises(APIError) as state:
        client.payments.cancel(payment.id)
    assert state.value.code == "invalid_state"

    # documents
    scan = tmp_path / "passport.png"
    content = b"\x89PNG" + bytes(range(256)) * 40
    scan.write_bytes(content)
    doc = client.documents.upload(customer_id=ada.id, type="passport", file=scan)
    assert doc.filename == "passport.png"
    assert doc.content_type == "image/png"
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.type is DocumentType.PASSPORT
    raw = client.documents.upload(
        customer_id=ada.id, type="other", file=b"plain bytes", filename="n.txt"
    )
    fileobj = client.documents.upload(
        customer_id=ada.id,
        type="bank_statement",
        file=io.BytesIO(b"stmt"),
        filename="s.pdf",
    )
    assert fileobj.content_type == "application/pdf"
    assert client.documents.retrieve(doc.id) == doc
    assert client.documents.download(raw.id) == b"plain bytes"
    with client.documents.stream(doc.id) as chunks:
        assert b"".join(chunks) == content
    target = client.documents.download_to(doc.id, tmp_path / "copy.png")
    assert target.read_bytes() == content
    assert {d.id for d in client.documents.list(customer_id=ada.id)} == {
        doc.id,
        raw.id,
        fileobj.id,
    }
    assert client.customers.retrieve(ada.id).kyc_status is KycStatus.VERIFIED

    # screening
    results = list(client.screening.results.list(subject_id=ada.id))
    assert len(results) == 1
    assert results[0].status is ScreeningStatus.CLEAR
    assert client.screening.results.retrieve(results[0].id) == results[0]

    # support
    ticket = client.support.tickets.create(
        subject="Payout question", body="Hello", priority="high", customer_id=ada.id
    )
    assert client.support.tickets.retrieve(ticket.id) == ticket
    msg = client.support.tickets.messages.create(
        ticket.id, body="see attached", attachments=[scan, b"notes"]
    )
    assert len(msg.attachments) == 2
    assert msg.attachments[0].sha256 == hashlib.sha256(content).hexdigest()
    thread = list(client.support.tickets.messages.list(ticket.id))
    assert thread[0].body == "Hello"
    assert MessageAuthor.NUVERA in {m.author for m in thread}
    assert [t.id for t in client.support.tickets.list()] == [ticket.id]
    closed = client.support.tickets.close(ticket.id)
    assert closed.status is TicketStatus.CLOSED
    assert closed.closed_at is not None

    assert client.permissions_used == frozenset(Permission)


@pytest.mark.anyio
async def test_every_async_method(
    async_client: AsyncNuveraClient, tmp_path: Path
) -> None:
    client = async_client
    ada = await client.customers.create(
        type="individual", name="Ada", email="ada@example.com"
    )
    assert (await client.customers.retrieve(ada.id)) == ada
    assert (await client.customers.update(ada.id, country="FR")).country == "FR"
    page = await client.customers.list(limit=1)
    assert [c.id for c in page.data] == [ada.id]
    assert [c.id async for c in client.customers.list()] == [ada.id]

    assert (await client.crypto.assets.retrieve("BTC")).decimals == 8
    assert "BTC" in {a.code async for a in client.crypto.assets.list()}
    assert "bitcoin" in {n.code async for n in client.crypto.networks.list()}

    bank = await client.beneficiaries.create(
        customer_id=ada.id,
        type="bank_account",
        name="EUR",
        currency="EUR",
        bank_account={"iban": IBAN},
    )
    assert (await client.beneficiaries.retrieve(bank.id)) == bank
    disabled = await client.beneficiaries.update(bank.id, status="disabled")
    assert disabled.status is BeneficiaryStatus.DISABLED
    await client.beneficiaries.update(bank.id, status="active")
    assert [b.id async for b in client.beneficiaries.list(customer_id=ada.id)] == [
        bank.id
    ]

    payment = await client.payments.create(
        customer_id=ada.id, beneficiary_id=bank.id, amount="13.13", currency="EUR"
    )
    assert (await client.payments.retrieve(payment.id)).amount == Decimal("13.13")
    assert [p.id async for p in client.payments.list()] == [payment.id]
    assert (await client.payments.cancel(payment.id)).status is PaymentStatus.CANCELED

    content = b"%PDF" + b"x" * 100_000
    path = tmp_path / "id.pdf"
    path.write_bytes(content)
    doc = await client.documents.upload(customer_id=ada.id, type="id_card", file=path)
    assert (await client.documents.retrieve(doc.id)).size == len(content)
    assert (await client.documents.download(doc.id)) == content
    async with client.documents.stream(doc.id) as chunks:
        assert b"".join([c async for c in chunks]) == content
    out = await client.documents.download_to(doc.id, tmp_path / "out.pdf")
    assert out.read_bytes() == content
    assert [d.id async for d in client.documents.list()] == [doc.id]

    results = [r async for r in client.screening.results.list(subject_id=bank.id)]
    assert len(results) == 1
    assert (await client.screening.results.retrieve(results[0].id)) == results[0]

    ticket = await client.support.tickets.create(subject="Hi", body="first")
    assert (await client.support.tickets.retrieve(ticket.id)) == ticket
    msg = await client.support.tickets.messages.create(
        ticket.id, body="file", attachments=[io.BytesIO(b"abc")]
    )
    assert msg.attachments[0].size == 3
    bodies = [m.body async for m in client.support.tickets.messages.list(ticket.id)]
    assert bodies[0] == "first"
    assert "file" in bodies
    assert [t.id async for t in client.support.tickets.list()] == [ticket.id]
    assert (await client.support.tickets.close(ticket.id)).status is TicketStatus.CLOSED

    assert client.permissions_used == frozenset(Permission)
