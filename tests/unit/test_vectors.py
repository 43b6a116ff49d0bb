"""docs/spec/vectors.json: every vector reproduced byte for byte and verified."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import b64url_decode, verify

from nuvera_client import ApiKey, RequestSigner
from nuvera_client.errors import InvalidApiKeyError
from nuvera_client.keys import kid_of, load_private_key

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "spec" / "vectors.json").read_text("utf-8"))
CASES = VECTORS["vectors"]


def _body(inputs: dict[str, Any]) -> bytes:
    body = base64.b64decode(inputs["body_base64"])
    if inputs.get("body_utf8") is not None:
        assert body == inputs["body_utf8"].encode("utf-8")
    return body


def _pem(name: str) -> str:
    return str(VECTORS["keys"][name]["pem"])


@functools.cache
def _key(name: str) -> rsa.RSAPrivateKey:
    """The vector key, parsed once per process (a 4096-bit key takes a second)."""
    key = serialization.load_pem_private_key(_pem(name).encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_coverage_of_the_vector_set() -> None:
    assert len(CASES) >= 12
    methods = {case["input"]["method"] for case in CASES}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    assert {case["input"]["key"] for case in CASES} == {
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    }
    assert any(case["input"]["ttl"] == 60 for case in CASES)
    uris = [case["input"]["uri"] for case in CASES]
    for fragment in ("%40", "%2F", "+", "%20"):
        assert any(fragment in uri for uri in uris)
    assert any("?" not in uri for uri in uris)
    assert any(case["input"]["body_base64"] == "" for case in CASES)
    assert any(
        "multipart" in case["input"].get("headers", {}).get("content-type", "")
        for case in CASES
    )
    assert any(
        (case["input"]["body_utf8"] or "").encode("utf-8").isascii() is False
        for case in CASES
    )


def test_keys_are_marked_test_only_and_match_their_kid() -> None:
    assert "TEST-ONLY" in VECTORS["warning"]
    for name, entry in VECTORS["keys"].items():
        assert entry["test_only"] is True
        key = load_private_key(entry["pem"])
        assert key.key_size == entry["bits"]
        assert name == f"rsa-{entry['bits']}"
        assert kid_of(key) == entry["kid"]
        assert entry["pem"].startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_reproduced_byte_for_byte(case: dict[str, Any]) -> None:
    inputs, expected = case["input"], case["output"]
    signer = RequestSigner(_key(inputs["key"]), ttl=inputs["ttl"])
    body = _body(inputs)
    assert signer.kid == expected["kid"]
    claims = signer.claims(
        inputs["method"], inputs["uri"], body, iat=inputs["iat"], jti=inputs["jti"]
    )
    assert claims["body_hash"] == expected["body_hash"]
    assert claims["uri"] == expected["signed_uri"]
    token = signer.sign(
        inputs["method"], inputs["uri"], body, iat=inputs["iat"], jti=inputs["jti"]
    )
    assert token == expected["token"]
    header, payload, _ = token.split(".")
    assert b64url_decode(header).decode("utf-8") == expected["header_json"]
    assert b64url_decode(payload).decode("utf-8") == expected["payload_json"]
    assert token.startswith(expected["signing_input"] + ".")
    # Same result through a precomputed hash (what NuveraAuth does).
    assert token == signer.sign(
        inputs["method"],
        inputs["uri"],
        body_hash=expected["body_hash"],
        iat=inputs["iat"],
        jti=inputs["jti"],
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_verifies_independently(case: dict[str, Any]) -> None:
    inputs, expected = case["input"], case["output"]
    key = _key(inputs["key"])
    verified = verify(
        expected["token"],
        key.public_key(),
        method=inputs["method"],
        uri=expected["signed_uri"],
        body=_body(inputs),
        now=inputs["iat"],
    )
    assert verified.claims["exp"] - verified.claims["iat"] == inputs["ttl"]
    assert verified.claims["jti"] == inputs["jti"]


def test_vectors_file_is_what_the_generator_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_generator_does_not_import_the_sdk() -> None:
    source = (ROOT / "scripts" / "make_vectors.py").read_text("utf-8")
    imports = [
        line for line in source.splitlines() if line.startswith(("import ", "from "))
    ]
    assert imports
    assert not [line for line in imports if "nuvera" in line]


def test_signing_md_worked_example_matches_vector_one() -> None:
    text = (ROOT / "docs" / "spec" / "signing.md").read_text("utf-8")
    first = CASES[0]
    for value in (
        first["input"]["jti"],
        str(first["input"]["iat"]),
        first["output"]["kid"],
        first["output"]["header_json"],
        first["output"]["payload_json"],
        first["output"]["signing_input"],
        first["output"]["token"][-26:],
    ):
        assert value in text
    assert "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe" in text


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_accepted_by_pyjwt(case: dict[str, Any]) -> None:
    # A third implementation: a stock JWT library accepts every vector token.
    import jwt

    key = _key(case["input"]["key"])
    assert isinstance(key, rsa.RSAPrivateKey)
    claims = jwt.decode(
        case["output"]["token"],
        key.public_key(),
        algorithms=["RS256"],
        audience="nuvera-rest-api",
        issuer="nuvera-api",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == json.loads(case["output"]["payload_json"])
    header = jwt.get_unverified_header(case["output"]["token"])
    assert header == {"alg": "RS256", "kid": case["output"]["kid"], "typ": "JWT"}


STAGES = (
    "signed_uri",
    "body_hash",
    "kid",
    "header_json",
    "payload_json",
    "signing_input",
    "token",
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_every_vector_has_every_stage_and_a_signing_only_flag(
    case: dict[str, Any],
) -> None:
    assert set(STAGES) <= set(case["output"])
    assert isinstance(case["signing_only"], bool)
    assert ("signing_only_reason" in case) is case["signing_only"]
    inputs = case["input"]
    # body_base64 is padded standard base64 (unlike the token's base64url).
    assert len(inputs["body_base64"]) % 4 == 0
    assert base64.b64encode(_body(inputs)).decode() == inputs["body_base64"]


def test_signing_only_vectors_are_the_ones_the_api_refuses() -> None:
    marked = {case["name"] for case in CASES if case["signing_only"]}
    assert marked == {"put-json", "get-reserved-encodings", "get-unencoded-brackets"}
    payments = [c for c in CASES if c["input"]["uri"] == "/v1/payments"]
    for case in payments:  # POST /v1/payments needs an Idempotency-Key (§2)
        assert case["input"]["headers"]["idempotency-key"]


API_KEYS = VECTORS["api_keys"]


@pytest.mark.parametrize("vector", API_KEYS, ids=lambda v: v["key"] or "empty")
def test_api_key_vector(vector: dict[str, Any]) -> None:
    if not vector["valid"]:
        with pytest.raises(InvalidApiKeyError) as caught:
            ApiKey.parse(vector["key"])
        assert caught.value.reason == vector["reason"]
        return
    parsed = ApiKey.parse(vector["key"])
    assert parsed.env == vector["env"]
    assert parsed.reveal() == vector["key"]
    key = vector["key"]
    assert key == f"nvk_{vector['env']}_{vector['random']}{vector['check']}"
    assert (key[:13], key[-4:]) == (vector["prefix"], vector["last_four"])
    assert zlib.crc32(key[:-6].encode()) == vector["crc32"]
    assert hashlib.sha256(key.encode()).hexdigest() == vector["sha256"]


def test_api_key_vectors_cover_every_reason_and_padding() -> None:
    reasons = {v["reason"] for v in API_KEYS if not v["valid"]}
    assert reasons == {
        "empty",
        "prefix",
        "environment",
        "length",
        "charset",
        "checksum",
    }
    assert any(v["valid"] and v["check"].startswith("0") for v in API_KEYS)
    assert {v["env"] for v in API_KEYS if v["valid"]} == {"live", "test"}


@pytest.mark.parametrize("vector", VECTORS["kids"], ids=lambda v: v["key"])
def test_kid_vector(vector: dict[str, Any]) -> None:
    key = load_private_key(_pem(vector["key"]))
    assert kid_of(key) == vector["kid"] == VECTORS["keys"][vector["key"]]["kid"]
    assert vector["thumbprint_input"] == json.dumps(
        vector["public_jwk"], sort_keys=True, separators=(",", ":")
    )
    digest = hashlib.sha256(vector["thumbprint_input"].encode()).digest()
    assert digest.hex() == vector["thumbprint_sha256_hex"]
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == vector["kid"]
