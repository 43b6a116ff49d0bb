"""RequestSigner: claims, canonical tokens, key parsed once, refusals."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt_verifier import b64url_decode, verify

from nuvera_client import RequestSigner, SigningKey
from nuvera_client._signer import EMPTY_BODY_HASH, canonical_json, normalize_target
from nuvera_client.errors import (
    ConfigurationError,
    InvalidArgumentError,
    InvalidPrivateKeyError,
    InvalidTTLError,
)
from nuvera_client.keys import private_key_pem

FIXED_NOW = 1_767_225_600  # what the fixed_clock fixture reads


@pytest.fixture(autouse=True)
def _same_clock(fixed_now: int) -> None:
    assert fixed_now == FIXED_NOW


@pytest.fixture
def signer(
    rsa_key: rsa.RSAPrivateKey, fixed_clock: Callable[[], float]
) -> RequestSigner:
    return RequestSigner(rsa_key, clock=fixed_clock)


def _claims(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


def test_claims_are_exactly_protocol_2_1(signer: RequestSigner) -> None:
    claims = signer.claims("get", "/v1/customers?email=a%40b.com&limit=10")
    assert list(claims) == sorted(claims)
    assert claims == {
        "aud": "nuvera-rest-api",
        "body_hash": EMPTY_BODY_HASH,
        "exp": FIXED_NOW + 30,
        "iat": FIXED_NOW,
        "iss": "nuvera-api",
        "jti": claims["jti"],
        "method": "GET",
        "uri": "/v1/customers?email=a%40b.com&limit=10",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", str(claims["jti"]))
    assert EMPTY_BODY_HASH == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_token_verifies_and_is_canonical(
    signer: RequestSigner, rsa_key: rsa.RSAPrivateKey
) -> None:
    body = '{"name":"Zoë"}'
    token = signer.sign("POST", "/v1/customers", body)
    verified = verify(
        token,
        rsa_key.public_key(),
        method="POST",
        uri="/v1/customers",
        body=body.encode("utf-8"),
        now=FIXED_NOW,
    )
    assert verified.header_bytes == (
        b'{"alg":"RS256","kid":"' + signer.kid.encode() + b'","typ":"JWT"}'
    )
    assert b" " not in verified.payload_bytes
    assert verified.payload_bytes == canonical_json(verified.claims)
    assert verified.header_bytes == canonical_json(verified.header)


@pytest.mark.parametrize("issuer", ["nuvera-ä", "a/b+c&d", 'q"uote'])
def test_fast_payload_path_equals_canonical_json(
    rsa_key: rsa.RSAPrivateKey, issuer: str
) -> None:
    signer = RequestSigner(rsa_key, issuer=issuer, audience=issuer[::-1])
    token = signer.sign("PATCH", "/v1/x?a=[1]&b=%C3%A9", b"{}", iat=0, jti="j" * 16)
    payload = b64url_decode(token.split(".")[1])
    assert payload == canonical_json(json.loads(payload))
    assert json.loads(payload) == signer.claims(
        "PATCH", "/v1/x?a=[1]&b=%C3%A9", b"{}", iat=0, jti="j" * 16
    )


def test_issuer_audience_and_iat_range(rsa_key: rsa.RSAPrivateKey) -> None:
    for bad in ("", "\ud800"):
        with pytest.raises((ConfigurationError, ValueError)):
            RequestSigner(rsa_key, issuer=bad)
        with pytest.raises((ConfigurationError, ValueError)):
            RequestSigner(rsa_key, audience=bad)
    signer = RequestSigner(rsa_key)
    for bad_iat in (-1, 2**53):
        with pytest.raises(InvalidArgumentError, match="Unix seconds"):
            signer.claims("GET", "/", iat=bad_iat)


def test_same_inputs_same_token_and_fresh_jti_otherwise(signer: RequestSigner) -> None:
    fixed = {"iat": 1_700_000_000, "jti": "a" * 32}
    assert signer.sign("GET", "/v1/x", **fixed) == signer.sign("GET", "/v1/x", **fixed)  # type: ignore[arg-type]
    jtis = {_claims(signer.sign("GET", "/v1/x"))["jti"] for _ in range(50)}
    assert len(jtis) == 50


def test_signature_is_plain_pkcs1v15_sha256(
    signer: RequestSigner, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = signer.sign("GET", "/v1/x")
    head, payload, signature = token.split(".")
    expected = rsa_key.sign(
        f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert b64url_decode(signature) == expected


@pytest.mark.parametrize("ttl", [1, 30, 60])
def test_ttl_sets_exp(rsa_key: rsa.RSAPrivateKey, ttl: int) -> None:
    claims = RequestSigner(rsa_key, ttl=ttl).claims("GET", "/", iat=100)
    assert claims["exp"] == 100 + ttl


@pytest.mark.parametrize("ttl", [0, -5, 61, 3600, 1.5, True, "30", None])
def test_ttl_out_of_range_is_refused(rsa_key: rsa.RSAPrivateKey, ttl: object) -> None:
    with pytest.raises(InvalidTTLError, match="ttl must be whole seconds from 1 to 60"):
        RequestSigner(rsa_key, ttl=ttl)  # type: ignore[arg-type]


def test_clock_offset_moves_iat(
    rsa_key: rsa.RSAPrivateKey, fixed_clock: Callable[[], float]
) -> None:
    signer = RequestSigner(rsa_key, clock=fixed_clock)
    signer.clock_offset = -42.7
    assert signer.now() == int(FIXED_NOW - 42.7)
    assert signer.claims("GET", "/")["iat"] == int(FIXED_NOW - 42.7)


def test_method_is_uppercased_and_checked(signer: RequestSigner) -> None:
    assert signer.claims("patch", "/v1/x")["method"] == "PATCH"
    for bad in ("", "GE T", "GET\n", "/"):
        with pytest.raises(InvalidArgumentError, match="not an HTTP method"):
            signer.claims(bad, "/v1/x")


def test_body_str_is_utf8_and_bytes_hashed(signer: RequestSigner) -> None:
    text = "naïve €"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert signer.claims("POST", "/", text)["body_hash"] == digest
    assert signer.claims("POST", "/", text.encode())["body_hash"] == digest
    assert signer.claims("POST", "/", body_hash=digest)["body_hash"] == digest


@pytest.mark.parametrize("bad", ["A" * 64, "abc", "g" * 64, EMPTY_BODY_HASH + "0"])
def test_bad_body_hash(signer: RequestSigner, bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="64 lowercase hex"):
        signer.claims("POST", "/", body_hash=bad)


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space aaaaaaaaaa", "ü" * 20])
def test_bad_jti(signer: RequestSigner, bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="16-128"):
        signer.claims("GET", "/", jti=bad)


def test_bad_iat(signer: RequestSigner) -> None:
    for bad in (1.5, True, "1"):
        with pytest.raises(InvalidArgumentError, match="integer"):
            signer.claims("GET", "/", iat=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "signed"),
    [
        ("/v1/customers?", "/v1/customers"),
        ("/v1/customers?a=1", "/v1/customers?a=1"),
        ("/v1/customers?a=%40&b=+&c=%20", "/v1/customers?a=%40&b=+&c=%20"),
        ("/v1/x?filter[a]=b|c{d}^`\\", "/v1/x?filter[a]=b|c{d}^`\\"),
        ("/v1/x?a=1?", "/v1/x?a=1?"),
        ("/", "/"),
        ("//double//slash", "//double//slash"),
        ("/a%2fb%2Fc", "/a%2fb%2Fc"),
    ],
)
def test_uri_is_kept_byte_for_byte(given: str, signed: str) -> None:
    assert normalize_target(given) == signed


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "v1/customers",
        "https://api.nuvera.com/v1/customers",
        "/v1/customers#top",
        "/v1/a b",
        "/v1/zoë",
        "/v1/x\r\nHost: evil",
        "*",
    ],
)
def test_uri_not_on_the_request_line_is_refused(
    signer: RequestSigner, bad: str
) -> None:
    with pytest.raises(InvalidArgumentError, match="origin-form request target"):
        signer.claims("GET", bad)


def test_canonical_json_rfc8785_strings() -> None:
    value = {"b": "a/b+c&d'e\"f\\g\n\t\x01€", "a": 1, "c": {"z": True, "y": None}}
    assert (
        canonical_json(value)
        == (
            '{"a":1,"b":"a/b+c&d\'e\\"f\\\\g\\n\\t\\u0001€","c":{"y":null,"z":true}}'
        ).encode()
    )


def test_canonical_json_sorts_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, below U+E000: it sorts first (RFC 8785
    # §3.2.3) although its code point is larger.
    out = canonical_json({"\ue000": 1, "\U0001f600": 2, "\u00e9": 3, "z": 4})
    assert out.decode("utf-8") == '{"z":4,"é":3,"\U0001f600":2,"\ue000":1}'


@pytest.mark.parametrize("bad", [{"f": 1.5}, {"n": 2**53 + 1}, {"s": "\ud800"}, {1: 2}])
def test_canonical_json_refuses_what_jcs_cannot_keep(bad: dict[Any, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(bad)


def test_public_key_pem_and_repr(
    signer: RequestSigner, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = signer.public_key_pem()
    assert (
        pem
        == rsa_key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    assert repr(signer) == f"RequestSigner(kid={signer.kid!r}, ttl=30)"
    assert signer.key_size == 2048


def test_custom_issuer_and_audience(rsa_key: rsa.RSAPrivateKey) -> None:
    claims = RequestSigner(rsa_key, issuer="i", audience="a").claims("GET", "/")
    assert (claims["iss"], claims["aud"]) == ("i", "a")


class _CountingKey:
    """A SigningKey as a KMS would offer it: only public_key() and sign()."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        self.signed = 0

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        self.signed += 1
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_signing_key_protocol(rsa_key: rsa.RSAPrivateKey) -> None:
    remote = _CountingKey(rsa_key)
    assert isinstance(remote, SigningKey)
    signer = RequestSigner(remote)
    token = signer.sign("DELETE", "/v1/beneficiaries/ben_1")
    assert remote.signed == 1
    verify(
        token,
        rsa_key.public_key(),
        method="DELETE",
        uri="/v1/beneficiaries/ben_1",
        body=b"",
    )
    assert signer.kid == RequestSigner(rsa_key).kid


def test_signing_key_must_be_rsa_of_allowed_size() -> None:
    class Small(_CountingKey):
        pass

    small = Small(rsa.generate_private_key(65537, 1024))  # noqa: S505
    with pytest.raises(InvalidPrivateKeyError, match="1024 bits"):
        RequestSigner(small)

    class NotRsa:
        def public_key(self) -> object:
            return object()

        def sign(self, data: bytes) -> bytes:
            return b""

    with pytest.raises(InvalidPrivateKeyError, match="must be RSA"):
        RequestSigner(NotRsa())  # type: ignore[arg-type]


def test_key_is_parsed_once_per_signer(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"pem": 0, "der": 0}
    real_pem = serialization.load_pem_private_key
    real_der = serialization.load_der_private_key

    def counting_pem(*args: Any, **kwargs: Any) -> Any:
        calls["pem"] += 1
        return real_pem(*args, **kwargs)

    def counting_der(*args: Any, **kwargs: Any) -> Any:
        calls["der"] += 1
        return real_der(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting_pem)
    monkeypatch.setattr(serialization, "load_der_private_key", counting_der)
    pem = private_key_pem(rsa_key, "pw")
    signer = RequestSigner(pem, passphrase="pw")
    for index in range(200):
        signer.sign("POST", f"/v1/customers?i={index}", b"{}")
    assert calls == {"pem": 1, "der": 0}

    der = rsa_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = RequestSigner(der)
    threads = [
        threading.Thread(target=lambda: [signer.sign("GET", "/") for _ in range(20)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert calls == {"pem": 1, "der": 1}
