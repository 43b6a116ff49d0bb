"""The reference signer printed in the porting guide reproduces every test vector."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .openapi_support import ROOT, load_hook

GUIDE = ROOT / "docs" / "guides" / "other-languages.md"
BLOCK = re.compile(r'^```python title="reference_signer.py"\n(.*?)^```', re.M | re.S)
VECTORS: dict[str, Any] = load_hook().load_vectors()


def _reference_signer() -> dict[str, Any]:
    found = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(found) == 1, "the guide prints one reference signer"
    assert len(found[0].splitlines()) <= 70
    namespace: dict[str, Any] = {"__name__": "reference_signer"}
    exec(compile(found[0], str(GUIDE), "exec"), namespace)  # noqa: S102 - our own doc
    return namespace


SIGNER = _reference_signer()


def _key(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        VECTORS["keys"][name]["pem"].encode(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_there_are_vectors_of_every_key_size() -> None:
    assert {k["bits"] for k in VECTORS["keys"].values()} == {2048, 3072, 4096}
    assert len(VECTORS["vectors"]) >= 12


@pytest.mark.parametrize(
    "vector", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]]
)
def test_reference_signer_reproduces_the_vector(vector: dict[str, Any]) -> None:
    given, expected = vector["input"], vector["output"]
    key = _key(given["key"])
    assert SIGNER["kid_of"](key.public_key()) == expected["kid"]
    token = SIGNER["sign"](
        key,
        given["method"],
        given["uri"],
        base64.b64decode(given["body_base64"]),
        given["iat"],
        given["jti"],
        given["ttl"],
    )
    assert token == expected["token"]


def test_a_changed_input_changes_the_token() -> None:
    vector = VECTORS["vectors"][0]
    given = vector["input"]
    token = SIGNER["sign"](
        _key(given["key"]), given["method"], given["uri"] + "x", b"", given["iat"],
        given["jti"], given["ttl"],
    )  # fmt: skip
    assert token != vector["output"]["token"]
