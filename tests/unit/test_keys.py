"""nuvera_client.keys: generation, loading in every accepted form, kid, refusals."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt_verifier import thumbprint

from nuvera_client import keys
from nuvera_client.errors import (
    ConfigurationError,
    InvalidPrivateKeyError,
    PassphraseError,
)

PASSPHRASE = "correct horse battery staple"


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk(key: rsa.RSAPrivateKey, *, full: bool = True) -> dict[str, str]:
    priv = key.private_numbers()
    jwk = {
        "kty": "RSA",
        "n": _b64(priv.public_numbers.n),
        "e": _b64(priv.public_numbers.e),
        "d": _b64(priv.d),
    }
    if full:
        jwk |= {
            "p": _b64(priv.p),
            "q": _b64(priv.q),
            "dp": _b64(priv.dmp1),
            "dq": _b64(priv.dmq1),
            "qi": _b64(priv.iqmp),
        }
    return jwk


def _same(a: rsa.RSAPrivateKey, b: rsa.RSAPrivateKey) -> bool:
    return a.private_numbers() == b.private_numbers()


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_kid_is_the_rfc7638_thumbprint(
    rsa_keys: dict[int, rsa.RSAPrivateKey], bits: int
) -> None:
    key = rsa_keys[bits]
    assert keys.kid_of(key) == thumbprint(key.public_key())
    assert keys.kid_of(key.public_key()) == keys.kid_of(key)
    assert len(keys.kid_of(key)) == 43  # 32 bytes, base64url without padding


def test_kid_matches_rfc7638_example() -> None:
    # RFC 7638 §3.1: the example key and its published thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR"
        "1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0"
        "h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
        "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44"
        "-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = rsa.RSAPublicNumbers(
        65537, int.from_bytes(base64.urlsafe_b64decode(n + "=="), "big")
    ).public_key()
    assert keys.kid_of(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_generate_and_round_trip_pem(tmp_path: Path) -> None:
    key = keys.generate_private_key(2048)
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537
    pem = keys.private_key_pem(key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert _same(keys.load_private_key(pem), key)
    assert _same(keys.load_private_key(pem.encode()), key)
    path = tmp_path / "key.pem"
    path.write_text(pem)
    assert _same(keys.load_private_key(path), key)
    encrypted = keys.private_key_pem(key, PASSPHRASE)
    assert "ENCRYPTED" in encrypted
    assert _same(keys.load_private_key(encrypted, PASSPHRASE), key)
    assert _same(keys.load_private_key(encrypted, PASSPHRASE.encode()), key)


def test_public_key_pem_is_spki(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = keys.public_key_pem(rsa_key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert keys.public_key_pem(rsa_key.public_key()) == pem
    loaded = keys.load_public_key(pem)
    assert loaded.public_numbers() == rsa_key.public_key().public_numbers()


_PEM, _DER = serialization.Encoding.PEM, serialization.Encoding.DER
_PKCS8 = serialization.PrivateFormat.PKCS8
_PKCS1 = serialization.PrivateFormat.TraditionalOpenSSL


@pytest.mark.parametrize(
    ("encoding", "fmt", "encrypted"),
    [
        (_PEM, _PKCS8, False),
        (_PEM, _PKCS8, True),
        (_PEM, _PKCS1, False),
        (_PEM, _PKCS1, True),
        (_DER, _PKCS8, False),
        (_DER, _PKCS8, True),
        (_DER, _PKCS1, False),  # PKCS#1 DER cannot be encrypted
    ],
)
def test_load_every_serialisation(
    rsa_key: rsa.RSAPrivateKey,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
    encrypted: bool,
) -> None:
    algorithm: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(PASSPHRASE.encode())
        if encrypted
        else serialization.NoEncryption()
    )
    data = rsa_key.private_bytes(encoding, fmt, algorithm)
    loaded = keys.load_private_key(data, PASSPHRASE if encrypted else None)
    assert _same(loaded, rsa_key)


@pytest.mark.parametrize("full", [True, False])
def test_load_jwk_dict_and_json_text(rsa_key: rsa.RSAPrivateKey, full: bool) -> None:
    jwk = _jwk(rsa_key, full=full)
    assert _same(keys.load_private_key(jwk), rsa_key)
    assert _same(keys.load_private_key(json.dumps(jwk)), rsa_key)


def test_load_key_object_is_checked(rsa_key: rsa.RSAPrivateKey) -> None:
    assert keys.load_private_key(rsa_key) is rsa_key


# --- refusals: class and an actionable message ------------------------------


def _pem(key: object, **kw: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        kw.get("encryption", serialization.NoEncryption()),
    )


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: _pem(ec.generate_private_key(ec.SECP256R1())), "this key is EC"),
        (lambda: _pem(ed25519.Ed25519PrivateKey.generate()), "this key is Ed25519"),
        (lambda: _pem(rsa.generate_private_key(65537, 1024)), "1024 bits"),  # noqa: S505
        (lambda: _pem(rsa.generate_private_key(3, 2048)), "exponent is 3"),
        (
            lambda: (
                b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"
            ),
            "could not be parsed",
        ),
        (lambda: b"\x30\x03\x02\x01\x00", "could not be parsed"),
        (lambda: "definitely not a key", "not PEM"),
        (lambda: {"kty": "EC", "crv": "P-256"}, "kty 'RSA'"),
        (lambda: {"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "public key"),
        (lambda: {"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": 5}, "incomplete"),
        (lambda: 12345, "unsupported private key source"),
    ],
    ids=[
        "ec",
        "ed25519",
        "rsa-1024",
        "exponent-3",
        "garbage-pem",
        "garbage-der",
        "not-pem-text",
        "jwk-ec",
        "jwk-public",
        "jwk-broken",
        "wrong-type",
    ],
)
def test_unusable_keys_are_refused(make: object, fragment: str) -> None:
    source = make()  # type: ignore[operator]
    with pytest.raises(InvalidPrivateKeyError) as caught:
        keys.load_private_key(source)
    assert isinstance(caught.value, ConfigurationError)
    assert fragment in str(caught.value)


def test_truncated_pem(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = keys.private_key_pem(rsa_key)
    with pytest.raises(InvalidPrivateKeyError, match="whole key was copied"):
        keys.load_private_key(pem[: len(pem) // 2] + "\n-----END PRIVATE KEY-----\n")


@pytest.mark.parametrize(
    "public_format",
    [serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1],
)
@pytest.mark.parametrize(
    "encoding", [serialization.Encoding.PEM, serialization.Encoding.DER]
)
def test_public_key_given_as_private(
    rsa_key: rsa.RSAPrivateKey,
    public_format: serialization.PublicFormat,
    encoding: serialization.Encoding,
) -> None:
    data = rsa_key.public_key().public_bytes(encoding, public_format)
    with pytest.raises(InvalidPrivateKeyError) as caught:
        keys.load_private_key(data)
    if not (
        encoding is serialization.Encoding.DER
        and public_format is (serialization.PublicFormat.PKCS1)
    ):
        assert "this is a public key" in str(caught.value)
    assert not isinstance(caught.value, PassphraseError)


@pytest.mark.parametrize(
    "encoding", [serialization.Encoding.PEM, serialization.Encoding.DER]
)
def test_encrypted_key_without_passphrase(
    rsa_key: rsa.RSAPrivateKey, encoding: serialization.Encoding
) -> None:
    data = rsa_key.private_bytes(
        encoding,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    with pytest.raises(PassphraseError, match="encrypted: pass passphrase="):
        keys.load_private_key(data)


@pytest.mark.parametrize("fmt", ["pkcs8", "pkcs1", "der"])
def test_wrong_passphrase(rsa_key: rsa.RSAPrivateKey, fmt: str) -> None:
    encoding = (
        serialization.Encoding.DER if fmt == "der" else serialization.Encoding.PEM
    )
    private_format = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if fmt == "pkcs1"
        else serialization.PrivateFormat.PKCS8
    )
    data = rsa_key.private_bytes(
        encoding,
        private_format,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    with pytest.raises(PassphraseError, match="wrong passphrase") as caught:
        keys.load_private_key(data, "not the passphrase")
    assert "not the passphrase" not in str(caught.value)


def test_passphrase_for_plain_key(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(PassphraseError, match="drop passphrase="):
        keys.load_private_key(keys.private_key_pem(rsa_key), PASSPHRASE)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidPrivateKeyError, match="cannot read the private key file"
    ):
        keys.load_private_key(tmp_path / "absent.pem")


def test_generate_refuses_other_sizes() -> None:
    with pytest.raises(InvalidPrivateKeyError, match="2048, 3072 or 4096"):
        keys.generate_private_key(1024)


def test_load_public_key_refuses_non_rsa() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    with pytest.raises(InvalidPrivateKeyError, match="RS256 needs an RSA key"):
        keys.load_public_key(pem)
    with pytest.raises(InvalidPrivateKeyError, match="not a valid RSA public key"):
        keys.load_public_key(b"junk")


@pytest.mark.parametrize("empty", [b"", "", "  \n", bytearray()])
def test_empty_key_says_so(empty: str | bytes) -> None:
    with pytest.raises(InvalidPrivateKeyError, match="the private key is empty"):
        keys.load_private_key(empty)


def test_public_key_object_given_as_signing_key(rsa_key: rsa.RSAPrivateKey) -> None:
    from nuvera_client import RequestSigner

    with pytest.raises(InvalidPrivateKeyError, match="this is a public key"):
        RequestSigner(rsa_key.public_key())  # type: ignore[arg-type]
