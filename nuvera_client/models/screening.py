"""Screening results (``scr_``) of customers and beneficiaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from nuvera_client.models._base import NuveraModel, OpenEnum

__all__ = ["ScreeningMatch", "ScreeningResult", "ScreeningStatus", "SubjectType"]


class SubjectType(OpenEnum):
    """What was screened."""

    CUSTOMER = "customer"
    BENEFICIARY = "beneficiary"


class ScreeningStatus(OpenEnum):
    """The screening outcome."""

    CLEAR = "clear"
    POTENTIAL_MATCH = "potential_match"
    CONFIRMED_MATCH = "confirmed_match"


@dataclass(frozen=True)
class ScreeningMatch(NuveraModel):
    """One sanctions-list entry that resembles the subject."""

    list: str
    name: str
    score: Decimal


@dataclass(frozen=True)
class ScreeningResult(NuveraModel):
    """The sanctions screening of a customer or beneficiary."""

    id: str
    object: str
    subject_type: SubjectType
    subject_id: str
    status: ScreeningStatus
    matches: tuple[ScreeningMatch, ...]
    created_at: datetime
