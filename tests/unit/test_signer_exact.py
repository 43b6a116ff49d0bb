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


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1.5}, "canonical_json supports integers only, not floats"),
        ({"a": [1, 2.5]}, "canonical_json supports integers only, not floats"),
        ({"a": {1: 2}}, "object keys must be strings"),
        ({"a": 2**53 + 1}, "canonical_json supports integers up to 2**53 only"),
        ({"a": [-(2**53) - 1]}, "canonical_json supports integers up to 2**53 only"),
        ({"a": {1, 2}}, "cannot serialise set canonically"),
        ({"a": b"x"}, "cannot serialise bytes canonically"),
    ],
)
def test_canonical_json_refusals(value: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError) as caught:
        canonical_json(value)
    assert str(caught.value) == message


def test_canonical_json_integer_bounds() -> None:
    assert canonical_json({"a": 2**53, "b": -(2**53)}) == (
        b'{"a":9007199254740992,"b":-9007199254740992}'
    )


class _Remote:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        raise AssertionError("not called")


class _NotRsa:
    def public_key(self) -> object:
        return object()

    def sign(self, data: bytes) -> bytes:
        return b""


def _key_refusal(source: object) -> str:
    from nuvera_client.errors import InvalidPrivateKeyError

    with pytest.raises(InvalidPrivateKeyError) as caught:
        RequestSigner(source)  # type: ignore[arg-type]
    return str(caught.value)


def test_key_refusal_messages(rsa_key: rsa.RSAPrivateKey) -> None:
    assert _key_refusal(rsa_key.public_key()) == (
        "this is a public key; signing needs the private key "
        "(the public key is what you upload to Nuvera)"
    )
    assert _key_refusal(_NotRsa()) == "the SigningKey's public_key() must be RSA"
    assert _key_refusal(42) == (
        "unsupported private key of type int: pass PEM text, DER bytes, a JWK "
        "dict, a pathlib.Path, an RSAPrivateKey or a SigningKey"
    )


def test_local_tells_in_memory_keys_from_signing_keys(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    assert RequestSigner(rsa_key).local is True
    assert RequestSigner(_Remote(rsa_key)).local is False


@pytest.mark.parametrize("name", ["issuer", "audience"])
@pytest.mark.parametrize("value", ["", None])
def test_issuer_and_audience_must_be_named(
    rsa_key: rsa.RSAPrivateKey, name: str, value: object
) -> None:
    from nuvera_client.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        RequestSigner(rsa_key, **{name: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"{name} must be a non-empty string"
