"""``RequestSigner`` and canonical JSON pinned in full (issue 17: mutation testing
of ``_signer.py``): refusal messages, the ``iat`` upper bound, nested lists in
canonical JSON, lone surrogates in keys, and unpadded base64url ending in ``X``.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import RequestSigner
from nuvera_client._signer import _b64, canonical_json
from nuvera_client.errors import InvalidArgumentError


@pytest.fixture
def signer(rsa_key: rsa.RSAPrivateKey) -> RequestSigner:
    return RequestSigner(rsa_key, clock=lambda: 1_767_225_600.0)


def _refusal(signer: RequestSigner, **kwargs: object) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        signer.claims("GET", "/v1/x", **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_refusal_messages(signer: RequestSigner) -> None:
    assert _refusal(signer, body_hash="A" * 64) == (
        "body_hash must be 64 lowercase hex characters"
    )
    assert _refusal(signer, iat=1.5) == "iat must be an integer number of seconds"
    assert _refusal(signer, iat=-1) == "iat must be Unix seconds, from 0 to 2**53 - 60"
    assert _refusal(signer, jti="short") == (
        "jti must be 16-128 characters of [A-Za-z0-9_-]"
    )


def test_iat_upper_bound(signer: RequestSigner) -> None:
    top = 2**53 - 60
    assert signer.claims("GET", "/v1/x", iat=top)["iat"] == top
    assert _refusal(signer, iat=top + 1) == (
        "iat must be Unix seconds, from 0 to 2**53 - 60"
    )


def test_canonical_json_orders_objects_inside_lists() -> None:
    value = {"b": [{"z": 1, "a": [2, {"y": None, "x": True}]}], "a": "é"}
    assert canonical_json(value) == (
        '{"a":"é","b":[{"a":[2,{"x":true,"y":null}],"z":1}]}'.encode()
    )


@pytest.mark.parametrize(
    "value",
    [{"\ud800": 1}, {"a": "\udfff"}, {"k": ["x\ud83d"]}, {"\ud800b": 1, "a": 2}],
)
def test_lone_surrogates_are_refused(value: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        canonical_json(value)
    assert str(caught.value) == "strings must not hold lone surrogates"


def test_unpadded_base64url_keeps_a_final_x() -> None:
    assert _b64(b"\x00\x00\x17") == "AAAX"
    assert _b64(b"\xff") == "_w"
    assert _b64(b"\xfb\xff") == "-_8"
