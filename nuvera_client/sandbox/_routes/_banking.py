"""Owns bank rules: IBAN (per-country length, mod 97), BIC, fiat currencies."""

from __future__ import annotations

import re

# IBAN length per country (SWIFT IBAN registry): SEPA countries, GB and a few others.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24,
    "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
    "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TR": 26, "VA": 22,
}  # fmt: skip

# ISO 4217 fiat currencies the sandbox pays out in, with their minor units.
FIAT_MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BGN": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "ILS": 2, "INR": 2, "ISK": 0,
    "JPY": 0, "KRW": 0, "MXN": 2, "NOK": 2, "NZD": 2, "PLN": 2, "RON": 2, "SAR": 2,
    "SEK": 2, "SGD": 2, "TRY": 2, "USD": 2, "ZAR": 2,
}  # fmt: skip

BIC_RE = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_IBAN_SHAPE_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def normalise_iban(raw: str) -> str:
    """Remove whitespace and upper-case, as IBANs are printed in groups of four."""
    return "".join(raw.split()).upper()


def iban_checksum_ok(iban: str) -> bool:
    """Return whether ``iban`` (normalised) passes the ISO 13616 mod-97 check."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def iban_problem(iban: str) -> str | None:
    """Return why a normalised IBAN is invalid, or None if it is valid."""
    if not _IBAN_SHAPE_RE.fullmatch(iban):
        return (
            "must be an IBAN: country code, 2 check digits, then 11 to 30 letters"
            " or digits"
        )
    country = iban[:2]
    expected = IBAN_LENGTHS.get(country)
    if expected is None:
        return f"IBANs from {country} are not supported"
    if len(iban) != expected:
        return f"a {country} IBAN has {expected} characters, this one has {len(iban)}"
    if not iban_checksum_ok(iban):
        return "invalid IBAN checksum"
    return None
