"""Beneficiary objects (``ben_``): bank accounts and crypto wallets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = [
    "BankAccount",
    "Beneficiary",
    "BeneficiaryStatus",
    "BeneficiaryType",
    "CryptoWallet",
    "DeletedBeneficiary",
]


class BeneficiaryType(OpenEnum):
    """Where a beneficiary receives funds."""

    BANK_ACCOUNT = "bank_account"
    CRYPTO_WALLET = "crypto_wallet"


class BeneficiaryStatus(OpenEnum):
    """Whether payments to the beneficiary are allowed."""

    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class BankAccount(NuveraModel):
    """A bank account (IBAN stored without spaces, uppercase)."""

    iban: str
    bic: str | None
    bank_name: str | None
    country: str | None


@dataclass(frozen=True)
class CryptoWallet(NuveraModel):
    """A crypto wallet address on one network."""

    asset: str
    network: str
    address: str
    memo: str | None


@dataclass(frozen=True)
class Beneficiary(NuveraModel):
    """A payee of a customer: a bank account or a crypto wallet."""

    id: str
    object: str
    customer_id: str
    type: BeneficiaryType
    name: str
    currency: str
    bank_account: BankAccount | None
    crypto_wallet: CryptoWallet | None
    status: BeneficiaryStatus
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeletedBeneficiary(NuveraModel):
    """The answer to deleting a beneficiary."""

    id: str
    object: str
    deleted: bool
