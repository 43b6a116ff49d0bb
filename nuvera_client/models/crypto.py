"""Crypto reference data: assets and networks (identified by ``code``)."""

from __future__ import annotations

from dataclasses import dataclass

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = ["CryptoAsset", "CryptoNetwork", "CryptoStatus"]


class CryptoStatus(OpenEnum):
    """Whether an asset or network can be used."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class CryptoAsset(NuveraModel):
    """A crypto asset (``BTC``, ``USDC``...) and the networks that carry it."""

    object: str
    code: str
    name: str
    decimals: int
    networks: tuple[str, ...]
    status: CryptoStatus


@dataclass(frozen=True)
class CryptoNetwork(NuveraModel):
    """A blockchain network and how its addresses look."""

    object: str
    code: str
    name: str
    native_asset: str
    confirmations: int
    address_pattern: str
    status: CryptoStatus
