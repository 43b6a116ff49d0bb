from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from nuvera_client import models
from nuvera_client.models import (
    Beneficiary,
    CryptoAsset,
    CryptoNetwork,
    Customer,
    CustomerStatus,
    DeletedBeneficiary,
    Document,
    Payment,
    PaymentStatus,
    ScreeningResult,
    SupportMessage,
    SupportTicket,
)

TS = "2026-11-27T21:53:40Z"

SAMPLES: dict[type[Any], dict[str, Any]] = {
    Customer: {
        "id": "cus_1",
        "object": "customer",
        "type": "individual",
        "name": "Ada",
        "email": "ada@example.com",
        "phone": None,
        "country": "GB",
        "external_id": None,
        "status": "active",
        "kyc_status": "not_started",
        "metadata": {"k": "v"},
        "created_at": TS,
        "updated_at": TS,
    },
    Beneficiary: {
        "id": "ben_1",
        "object": "beneficiary",
        "customer_id": "cus_1",
        "type": "bank_account",
        "name": "Ada",
        "currency": "EUR",
        "bank_account": {
            "iban": "DE89370400440532013000",
            "bic": None,
            "bank_name": "B",
            "country": "DE",
        },
        "crypto_wallet": None,
        "status": "active",
        "metadata": {},
        "created_at": TS,
        "updated_at": TS,
    },
    DeletedBeneficiary: {"id": "ben_1", "object": "beneficiary", "deleted": True},
    Document: {
        "id": "doc_1",
        "object": "document",
        "customer_id": "cus_1",
        "type": "passport",
        "filename": "p.pdf",
        "content_type": "application/pdf",
        "size": 12,
        "sha256": "ab" * 32,
        "created_at": TS,
    },
    CryptoAsset: {
        "object": "crypto_asset",
        "code": "USDC",
        "name": "USD Coin",
        "decimals": 6,
        "networks": ["ethereum", "solana"],
        "status": "active",
    },
    CryptoNetwork: {
        "object": "crypto_network",
        "code": "ethereum",
        "name": "Ethereum",
        "native_asset": "ETH",
        "confirmations": 12,
        "address_pattern": "^0x[0-9a-fA-F]{40}$",
        "status": "active",
    },
    Payment: {
        "id": "pay_1",
        "object": "payment",
        "customer_id": "cus_1",
        "beneficiary_id": "ben_1",
        "amount": "1250.00",
        "currency": "EUR",
        "status": "created",
        "reference": "inv 1",
        "description": None,
        "failure_reason": None,
        "metadata": {},
        "created_at": TS,
        "updated_at": TS,
    },
    ScreeningResult: {
        "id": "scr_1",
        "object": "screening_result",
        "subject_type": "customer",
        "subject_id": "cus_1",
        "status": "potential_match",
        "matches": [{"list": "OFAC SDN", "name": "X", "score": "0.92"}],
        "created_at": TS,
    },
    SupportTicket: {
        "id": "tkt_1",
        "object": "support_ticket",
        "subject": "Hi",
        "status": "closed",
        "priority": "normal",
        "customer_id": None,
        "created_at": TS,
        "updated_at": TS,
        "closed_at": TS,
    },
    SupportMessage: {
        "id": "msg_1",
        "object": "support_message",
        "ticket_id": "tkt_1",
        "author": "partner",
        "body": "hello",
        "attachments": [
            {
                "object": "attachment",
                "id": "att_1",
                "filename": "a.txt",
                "content_type": "text/plain",
                "size": 3,
                "sha256": "cd" * 32,
            }
        ],
        "created_at": TS,
    },
}


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_round_trip(cls: type[Any]) -> None:
    sample = SAMPLES[cls]
    model = cls.from_dict(sample)
    assert model.to_dict() == sample
    assert cls.from_dict(model.to_dict()) == model


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_from_dict_equals_the_constructor(cls: type[Any]) -> None:
    # from_dict fills plain models without calling __init__: the result must be
    # the instance the dataclass constructor makes from the same fields.
    model = cls.from_dict(dict(SAMPLES[cls], unknown_field=[1]))
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    built = cls(**fields)
    assert model == built
    assert vars(model) == vars(built)


def test_from_dict_runs_post_init_when_a_model_has_one() -> None:
    seen: list[str] = []

    @dataclasses.dataclass(frozen=True)
    class Checked(models.NuveraModel):
        id: str

        def __post_init__(self) -> None:
            seen.append(self.id)
            if not self.id.startswith("chk_"):
                raise ValueError("not a chk_ id")

    assert Checked.from_dict({"id": "chk_1", "x": 1}).extra == {"x": 1}
    assert seen == ["chk_1"]
    with pytest.raises(ValueError, match="chk_"):
        Checked.from_dict({"id": "other"})


def test_enum_fields_reject_unusable_values() -> None:
    for bad in ([1], {"a": 1}, 3, True):
        with pytest.raises(ValueError, match=r"Customer\.status"):
            Customer.from_dict(dict(SAMPLES[Customer], status=bad))


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_frozen(cls: type[Any]) -> None:
    model = cls.from_dict(SAMPLES[cls])
    first = dataclasses.fields(model)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(model, first, "x")


def test_unknown_fields_kept_in_extra() -> None:
    data = dict(SAMPLES[Payment], settlement={"rail": "sepa"}, fx_rate="1.1")
    payment = Payment.from_dict(data)
    assert payment.extra == {"settlement": {"rail": "sepa"}, "fx_rate": "1.1"}
    assert payment.to_dict() == data
    assert "settlement" not in repr(payment)


def test_unknown_enum_values_accepted() -> None:
    data = dict(SAMPLES[Payment], status="settling")
    payment = Payment.from_dict(data)
    assert payment.status == "settling"
    assert not payment.status.is_known
    assert PaymentStatus("settling") is payment.status
    assert PaymentStatus.COMPLETED.is_known
    assert payment.to_dict()["status"] == "settling"
    assert CustomerStatus("active") is CustomerStatus.ACTIVE


def test_money_is_decimal_and_exact() -> None:
    payment = Payment.from_dict(dict(SAMPLES[Payment], amount="0.10000001"))
    assert payment.amount == Decimal("0.10000001")
    assert isinstance(payment.amount, Decimal)
    result = ScreeningResult.from_dict(SAMPLES[ScreeningResult])
    assert result.matches[0].score == Decimal("0.92")


def test_money_refuses_floats() -> None:
    with pytest.raises(ValueError, match="amount"):
        Payment.from_dict(dict(SAMPLES[Payment], amount=1250.0))


def test_datetimes_are_aware_utc() -> None:
    customer = Customer.from_dict(SAMPLES[Customer])
    assert customer.created_at == datetime(
        2026, 11, 27, 21, 53, 40, tzinfo=timezone.utc
    )
    assert customer.created_at.utcoffset() is not None
    shifted = Customer.from_dict(
        dict(SAMPLES[Customer], created_at="2026-11-27T22:53:40+01:00")
    )
    assert shifted.created_at == customer.created_at
    assert shifted.created_at.tzinfo == timezone.utc
    with pytest.raises(ValueError, match="time zone"):
        Customer.from_dict(dict(SAMPLES[Customer], created_at="2026-11-27T21:53:40"))


def test_nested_models() -> None:
    ben = Beneficiary.from_dict(SAMPLES[Beneficiary])
    assert ben.bank_account is not None
    assert ben.bank_account.iban == "DE89370400440532013000"
    assert ben.crypto_wallet is None
    message = SupportMessage.from_dict(SAMPLES[SupportMessage])
    assert message.attachments[0].size == 3


def test_type_errors_are_reported() -> None:
    with pytest.raises(ValueError, match=r"Document\.size"):
        Document.from_dict(dict(SAMPLES[Document], size="12"))
    with pytest.raises(ValueError, match="missing field 'email'"):
        Customer.from_dict({k: v for k, v in SAMPLES[Customer].items() if k != "email"})
    with pytest.raises(ValueError, match="null"):
        Customer.from_dict(dict(SAMPLES[Customer], name=None))


def test_public_names_exported() -> None:
    for name in models.__all__:
        assert getattr(models, name).__doc__
