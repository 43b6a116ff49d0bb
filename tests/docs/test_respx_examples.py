"""The default bodies of ``NuveraMock`` are valid objects of docs/openapi.yaml."""

from __future__ import annotations

import pytest

from nuvera_client._respx_examples import EXAMPLES

from .openapi_support import component_validator

SCHEMAS = {
    "customer": "Customer",
    "beneficiary": "Beneficiary",
    "document": "Document",
    "payment": "Payment",
    "ticket": "SupportTicket",
    "message": "SupportMessage",
    "screening_result": "ScreeningResult",
    "asset": "CryptoAsset",
    "network": "CryptoNetwork",
}


def test_every_example_has_a_schema() -> None:
    assert set(EXAMPLES) == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_example_matches_the_openapi_schema(name: str) -> None:
    validator = component_validator(SCHEMAS[name], strict=True)
    errors = [e.message for e in validator.iter_errors(EXAMPLES[name])]
    assert errors == []
