"""PROTOCOL §1.1, §1.2, §2, §2.1, §2.2: keys, kids and tokens byte for byte."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

import nuvera_client
from nuvera_client import ApiKey, NuveraAuth, RequestSigner, errors
from nuvera_client.keys import kid_of

from . import _ref
from ._capture import Captured, capture_server

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "spec" / "vectors.json"
IAT = 1_767_225_600
JTI = "0123456789abcdef0123456789abcdef"
WORKED_RANDOM = "Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae"
WORKED_KEY = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"


def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _sig = token.split(".")
    return json.loads(_ref.b64url_decode(head)), json.loads(_ref.b64url_decode(body))


def _verify(key: rsa.RSAPrivateKey, token: str) -> None:
    head, body, sig = token.split(".")
    key.public_key().verify(
        _ref.b64url_decode(sig),
        f"{head}.{body}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


# --- §1.1 API keys ----------------------------------------------------------------


def test_worked_example_from_first_principles() -> None:
    body = f"nvk_test_{WORKED_RANDOM}"
    assert zlib.crc32(body.encode()) == 2333300166 == 0x8B1355C6
    assert _ref.base62(2333300166) == "2XuHxe"
    assert _ref.api_key("test", WORKED_RANDOM) == WORKED_KEY
    assert len(WORKED_KEY) == 47
    assert hashlib.sha256(WORKED_KEY.encode()).hexdigest() == (
        "66e1c8e83feadc2bf20029f3b38c0bd31b32a76b901751866dc63f7d2290b042"
    )


def test_api_key_parse_worked_example() -> None:
    key = ApiKey.parse(WORKED_KEY)
    assert key.reveal() == WORKED_KEY
    assert key.env == "test"
    assert key.prefix == "nvk_test_Q7sU"
    assert key.last_four == "uHxe"
    assert (
        key.sha256 == "66e1c8e83feadc2bf20029f3b38c0bd31b32a76b901751866dc63f7d2290b042"
    )
    assert WORKED_KEY not in str(key)
    assert WORKED_KEY not in repr(key)
    assert WORKED_RANDOM not in repr(key)


def test_small_checksums_are_left_padded() -> None:
    # Find a random part whose CRC32 has fewer than 6 base62 digits.
    for n in range(2_000_000):
        rnd = f"{n:032d}"
        crc = zlib.crc32(f"nvk_live_{rnd}".encode())
        if crc < 62**5:
            break
    key = _ref.api_key("live", rnd)
    assert key[-6] == "0"
    assert ApiKey.parse(key).reveal() == key


@pytest.mark.parametrize(
    "text",
    [
        WORKED_KEY[:-1],
        WORKED_KEY + "x",
        WORKED_KEY[:-1] + "f",
        WORKED_KEY.replace("nvk_test_", "nvk_prod_"),
        WORKED_KEY.replace("nvk_test_", "NVK_TEST_"),
        WORKED_KEY.replace("nvk_", "nvx_"),
        "nvk_test_" + WORKED_RANDOM[:-1] + "-" + "2XuHxe",
        "",
        _ref.api_key("test", WORKED_RANDOM[:31]),
        _ref.api_key("test", WORKED_RANDOM + "A"),
    ],
    ids=[
        "short",
        "long",
        "checksum",
        "env",
        "upper",
        "prefix",
        "alphabet",
        "empty",
        "random-31",
        "random-33",
    ],
)
def test_api_key_rejected_locally(text: str) -> None:
    with pytest.raises(errors.InvalidApiKeyError) as info:
        ApiKey.parse(text)
    assert isinstance(info.value, errors.ConfigurationError)
    if len(text) > 20:
        assert text.strip() not in str(info.value)


@pytest.mark.parametrize("env", ["test", "live"])
def test_generated_keys_follow_the_format(env: str) -> None:
    for _ in range(20):
        text = ApiKey.generate(env).reveal()  # type: ignore[arg-type]
        assert re.fullmatch(rf"nvk_{env}_[0-9A-Za-z]{{38}}", text)
        assert _ref.api_key(env, text[9:41]) == text


# --- §1.2 kid (RFC 7638) and key acceptance ---------------------------------


def test_kid_rfc7638_appendix_a() -> None:
    # RFC 7638 §3.1: this key's thumbprint is the string asserted below.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhD"
        "R1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6C"
        "f0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1"
        "n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
        "jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    number = int.from_bytes(_ref.b64url_decode(n), "big")
    public = rsa.RSAPublicNumbers(65537, number).public_key()
    assert _ref.kid_of(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert kid_of(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_kid_matches_reference(bits: int, conf_key: rsa.RSAPrivateKey) -> None:
    key = conf_key if bits == 2048 else rsa.generate_private_key(65537, bits)
    assert kid_of(key) == _ref.kid_of(key) == kid_of(key.public_key())
    assert NuveraAuth(_ref.random_api_key(), key).kid == _ref.kid_of(key)


def test_sandbox_kid_matches_reference(conf_key: rsa.RSAPrivateKey) -> None:
    from nuvera_client.sandbox import Sandbox

    from .conftest import public_pem

    with Sandbox() as sandbox:
        app = sandbox.create_application(
            name="kid", permissions=["CRYPTO_READ"], public_key_pem=public_pem(conf_key)
        )
        assert app.kid == _ref.kid_of(conf_key)


def _forms(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    nums = key.private_numbers()
    pub = nums.public_numbers

    def b(i: int) -> str:
        return _ref.b64url(i.to_bytes((i.bit_length() + 7) // 8, "big"))

    jwk = {
        "kty": "RSA",
        "n": b(pub.n),
        "e": b(pub.e),
        "d": b(nums.d),
        "p": b(nums.p),
        "q": b(nums.q),
        "dp": b(nums.dmp1),
        "dq": b(nums.dmq1),
        "qi": b(nums.iqmp),
    }
    enc = serialization.Encoding
    fmt = serialization.PrivateFormat
    none = serialization.NoEncryption()
    return {
        "pkcs8-pem": key.private_bytes(enc.PEM, fmt.PKCS8, none),
        "pkcs8-pem-str": key.private_bytes(enc.PEM, fmt.PKCS8, none).decode(),
        "pkcs1-pem": key.private_bytes(enc.PEM, fmt.TraditionalOpenSSL, none),
        "pkcs8-der": key.private_bytes(enc.DER, fmt.PKCS8, none),
        "pkcs1-der": key.private_bytes(enc.DER, fmt.TraditionalOpenSSL, none),
        "jwk": jwk,
    }


@pytest.mark.parametrize(
    "form", ["pkcs8-pem", "pkcs8-pem-str", "pkcs1-pem", "pkcs8-der", "pkcs1-der", "jwk"]
)
def test_private_key_forms_sign_identically(
    conf_key: rsa.RSAPrivateKey, form: str
) -> None:
    source = _forms(conf_key)[form]
    token = RequestSigner(source).sign("GET", "/v1/customers", iat=IAT, jti=JTI)
    expected = _ref.request_token(
        conf_key, method="GET", uri="/v1/customers", iat=IAT, jti=JTI
    )
    assert token == expected


def test_encrypted_pem_with_passphrase(conf_key: rsa.RSAPrivateKey) -> None:
    pem = conf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret-pass"),
    )
    token = RequestSigner(pem, passphrase="s3cret-pass").sign(
        "GET", "/v1/x", iat=IAT, jti=JTI
    )
    assert token == _ref.request_token(
        conf_key, method="GET", uri="/v1/x", iat=IAT, jti=JTI
    )
    with pytest.raises(errors.ConfigurationError) as info:
        RequestSigner(pem, passphrase="Zq9-n0t-it")
    assert "s3cret-pass" not in str(info.value)
    assert "Zq9-n0t-it" not in repr(info.value.args)


@pytest.mark.parametrize("bits", [1024, 2047, 2560, 8192 // 2 + 1024])
def test_key_sizes_other_than_2048_3072_4096_refused(bits: int) -> None:
    key = rsa.generate_private_key(65537, bits)
    with pytest.raises(errors.ConfigurationError):
        RequestSigner(key)


def test_public_exponent_must_be_65537() -> None:
    key = rsa.generate_private_key(3, 2048)
    with pytest.raises(errors.ConfigurationError):
        RequestSigner(key)


def test_non_rsa_key_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(errors.ConfigurationError):
        RequestSigner(pem)


# --- §2.1 tokens: RequestSigner ------------------------------------------------------


def _vectors() -> list[dict[str, Any]]:
    if not VECTORS.exists():
        return []
    data = json.loads(VECTORS.read_text())
    return list(data["vectors"])


def _vector_key(name: str) -> rsa.RSAPrivateKey:
    data = json.loads(VECTORS.read_text())
    key = serialization.load_pem_private_key(data["keys"][name]["pem"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["name"])
def test_vectors_reference_and_sdk(vector: dict[str, Any]) -> None:
    inp, out = vector["input"], vector["output"]
    key = _vector_key(inp["key"])
    body = base64.b64decode(inp["body_base64"])
    if inp["body_utf8"] is not None:
        assert body == inp["body_utf8"].encode()
    # The reference: the vector's signed_uri is the request target minus a bare '?'.
    uri = inp["uri"][:-1] if inp["uri"].endswith("?") else inp["uri"]
    assert out["signed_uri"] == uri
    payload = _ref.claims(
        method=inp["method"],
        uri=uri,
        body=body,
        iat=inp["iat"],
        jti=inp["jti"],
        ttl=inp["ttl"],
    )
    header = {"alg": "RS256", "kid": _ref.kid_of(key), "typ": "JWT"}
    assert out["kid"] == _ref.kid_of(key)
    assert out["header_json"] == _ref.jcs(header).decode()
    assert out["payload_json"] == _ref.jcs(payload).decode()
    assert out["body_hash"] == hashlib.sha256(body).hexdigest()
    expected = _ref.token(key, payload)
    assert out["signing_input"] == expected.rsplit(".", 1)[0]
    assert out["token"] == expected
    sdk = RequestSigner(key, ttl=inp["ttl"]).sign(
        inp["method"], inp["uri"], body, iat=inp["iat"], jti=inp["jti"]
    )
    assert sdk == expected


def test_vector_file_present_and_broad() -> None:
    names = {v["name"] for v in _vectors()}
    assert len(names) >= 10
    keys = {v["input"]["key"] for v in _vectors()}
    assert keys >= {"rsa-2048", "rsa-3072", "rsa-4096"}


@pytest.mark.parametrize(
    ("method", "uri", "body"),
    [
        ("GET", "/v1/customers", b""),
        ("GET", "/v1/customers?email=a%40b.com&limit=10", b""),
        ("GET", "/v1/documents?p=a%2Fb&q=x+y&r=a%20b&s=%2B1", b""),
        ("POST", "/v1/customers", '{"name":"Zoë \\"Q\\" /+&\'"}'.encode()),
        ("DELETE", "/v1/beneficiaries/ben_1", b""),
        ("PATCH", "/v1/customers/cus_1", b"\x00\xff binary"),
    ],
)
def test_signer_matches_reference(
    conf_key: rsa.RSAPrivateKey, method: str, uri: str, body: bytes
) -> None:
    token = RequestSigner(conf_key).sign(method, uri, body, iat=IAT, jti=JTI)
    assert token == _ref.request_token(
        conf_key, method=method, uri=uri, body=body, iat=IAT, jti=JTI
    )
    _verify(conf_key, token)
    header, payload = _decode(token)
    assert header == {"alg": "RS256", "kid": _ref.kid_of(conf_key), "typ": "JWT"}
    assert set(payload) == {
        "iss",
        "aud",
        "iat",
        "exp",
        "jti",
        "method",
        "uri",
        "body_hash",
    }
    assert payload["exp"] - payload["iat"] == 30


def test_signer_drops_bare_question_mark(conf_key: rsa.RSAPrivateKey) -> None:
    token = RequestSigner(conf_key).sign("GET", "/v1/customers?", iat=IAT, jti=JTI)
    assert _decode(token)[1]["uri"] == "/v1/customers"


def test_signer_defaults(conf_key: rsa.RSAPrivateKey) -> None:
    signer = RequestSigner(conf_key, clock=lambda: 1_767_225_600.9)
    first = _decode(signer.sign("GET", "/v1/customers"))[1]
    second = _decode(signer.sign("GET", "/v1/customers"))[1]
    assert first["iat"] == 1_767_225_600
    assert first["exp"] == first["iat"] + 30
    assert re.fullmatch(r"[0-9a-f]{32}", first["jti"])
    assert first["jti"] != second["jti"]
    assert first["iss"] == "nuvera-api"
    assert first["aud"] == "nuvera-rest-api"
    assert first["body_hash"] == _ref.EMPTY_SHA256


@pytest.mark.parametrize("method", ["get", "Post"])
def test_signer_uppercases_method(conf_key: rsa.RSAPrivateKey, method: str) -> None:
    token = RequestSigner(conf_key).sign(method, "/v1/x", iat=IAT, jti=JTI)
    assert _decode(token)[1]["method"] == method.upper()


@pytest.mark.parametrize("ttl", [1, 60])
def test_ttl_bounds_accepted(conf_key: rsa.RSAPrivateKey, ttl: int) -> None:
    token = RequestSigner(conf_key, ttl=ttl).sign("GET", "/v1/x", iat=IAT, jti=JTI)
    assert _decode(token)[1]["exp"] == IAT + ttl


@pytest.mark.parametrize("ttl", [0, -1, 61, 3600])
def test_ttl_out_of_bounds_refused(conf_key: rsa.RSAPrivateKey, ttl: int) -> None:
    with pytest.raises(errors.ConfigurationError):
        RequestSigner(conf_key, ttl=ttl)
    with pytest.raises(errors.ConfigurationError):
        NuveraAuth(_ref.random_api_key(), conf_key, ttl=ttl)


@pytest.mark.parametrize(
    "uri", ["v1/customers", "https://api.nuvera.com/v1/customers", "/v1/customers#frag"]
)
def test_signer_refuses_non_origin_form(conf_key: rsa.RSAPrivateKey, uri: str) -> None:
    with pytest.raises((errors.NuveraError, ValueError)):
        RequestSigner(conf_key).sign("GET", uri, iat=IAT, jti=JTI)


def test_signer_refuses_bad_jti(conf_key: rsa.RSAPrivateKey) -> None:
    for jti in ("short", "x" * 129, "has space in it!!"):
        with pytest.raises((errors.NuveraError, ValueError)):
            RequestSigner(conf_key).sign("GET", "/v1/x", iat=IAT, jti=jti)


# --- §2.1/§2.2 NuveraAuth on real httpx requests, checked on the wire ---------


def _check_wire(key: rsa.RSAPrivateKey, api_key: str, req: Captured) -> dict[str, Any]:
    """The token on a captured request is exactly the reference token for it."""
    assert req.header("x-api-key") == api_key
    authorization = req.header("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    _header, payload = _decode(token)
    assert payload["uri"] == req.target
    assert payload["method"] == req.method
    assert payload["body_hash"] == hashlib.sha256(req.body).hexdigest()
    expected = _ref.request_token(
        key,
        method=req.method,
        uri=req.target,
        body=req.body,
        iat=payload["iat"],
        jti=payload["jti"],
        ttl=payload["exp"] - payload["iat"],
    )
    assert token == expected
    return payload


def _gen(parts: list[bytes]) -> Iterator[bytes]:
    yield from parts


CASES: dict[str, dict[str, Any]] = {
    "plain": {"method": "GET", "url": "/v1/customers", "target": "/v1/customers"},
    "params-at": {
        "method": "GET",
        "url": "/v1/customers",
        "params": {"email": "a@b.com", "limit": 10},
        "target": "/v1/customers?email=a%40b.com&limit=10",
    },
    "raw-encoded": {
        "method": "GET",
        "url": "/v1/documents?path=a%2Fb%2Fc&q=x+y&r=hello%20world&s=%2B1",
        "target": "/v1/documents?path=a%2Fb%2Fc&q=x+y&r=hello%20world&s=%2B1",
    },
    "non-ascii-path": {
        "method": "GET",
        "url": "/v1/customers/Zoë 山",
        "target": "/v1/customers/Zo%C3%AB%20%E5%B1%B1",
    },
    "non-ascii-query": {
        "method": "GET",
        "url": "/v1/customers?name=Zoë",
        "target": "/v1/customers?name=Zo%C3%AB",
    },
    "bare-question-mark": {
        "method": "GET",
        "url": "/v1/customers?",
        "target": "/v1/customers",
    },
    "json": {
        "method": "POST",
        "url": "/v1/customers",
        "json": {"name": "Zoë", "note": "€5"},
        "target": "/v1/customers",
    },
    "bytes": {
        "method": "PUT",
        "url": "/v1/x",
        "content": b"\x00\x01raw",
        "target": "/v1/x",
    },
    "gzip": {
        "method": "POST",
        "url": "/v1/payments",
        "content": gzip.compress(b'{"amount":"1.00"}', mtime=0),
        "headers": {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        "target": "/v1/payments",
    },
    "multipart": {
        "method": "POST",
        "url": "/v1/documents",
        "data": {"customer_id": "cus_1", "type": "passport"},
        "files": {"file": ("id.pdf", b"%PDF-1.4 " * 1000, "application/pdf")},
        "target": "/v1/documents",
    },
    "multipart-fileobj": {
        "method": "POST",
        "url": "/v1/documents",
        "data": {"customer_id": "cus_1", "type": "passport"},
        "files": {"file": ("id.bin", "FILEOBJ", "application/pdf")},
        "target": "/v1/documents",
    },
    "generator": {
        "method": "POST",
        "url": "/v1/support/tickets",
        "content": "GEN",
        "target": "/v1/support/tickets",
    },
    "file-content-midway": {
        "method": "POST",
        "url": "/v1/x",
        "content": "MIDFILE",
        "target": "/v1/x",
    },
    "delete": {
        "method": "DELETE",
        "url": "/v1/beneficiaries/ben_1",
        "target": "/v1/beneficiaries/ben_1",
    },
}


def _build_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in case.items() if k not in {"method", "url", "target"}}
    if kwargs.get("content") == "GEN":
        kwargs["content"] = _gen([b'{"subject":', b'"Hi","body":"there"}'])
    if kwargs.get("content") == "MIDFILE":
        buf = io.BytesIO(b"SKIPPED-" + b"payload after the cursor")
        buf.seek(8)
        kwargs["content"] = buf
    files = kwargs.get("files")
    if files and files["file"][1] == "FILEOBJ":
        kwargs["files"] = {
            "file": ("id.bin", io.BytesIO(b"\x89PNG" * 5000), "image/png")
        }
    return kwargs


@pytest.mark.parametrize("name", list(CASES))
def test_nuvera_auth_sync_over_the_wire(conf_key: rsa.RSAPrivateKey, name: str) -> None:
    case = CASES[name]
    api_key = _ref.random_api_key()
    with (
        capture_server() as srv,
        httpx.Client(
            base_url=srv.base_url, auth=NuveraAuth(api_key, conf_key)
        ) as client,
    ):
        resp = client.request(case["method"], case["url"], **_build_kwargs(case))
        assert resp.status_code == 200
    (req,) = srv.seen
    assert req.target == case["target"]
    payload = _check_wire(conf_key, api_key, req)
    assert re.fullmatch(r"[0-9a-f]{32}", payload["jti"])
    assert payload["exp"] - payload["iat"] == 30


@pytest.mark.anyio
@pytest.mark.parametrize(
    "name",
    [
        "params-at",
        "raw-encoded",
        "bare-question-mark",
        "json",
        "multipart",
        "generator",
        "gzip",
    ],
)
async def test_nuvera_auth_async_over_the_wire(
    conf_key: rsa.RSAPrivateKey, name: str
) -> None:
    case = CASES[name]
    api_key = _ref.random_api_key()
    kwargs = _build_kwargs(case)
    if name == "generator":

        async def agen() -> Any:
            yield b'{"subject":'
            yield b'"Hi","body":"there"}'

        kwargs["content"] = agen()
    with capture_server() as srv:
        async with httpx.AsyncClient(
            base_url=srv.base_url, auth=NuveraAuth(api_key, conf_key)
        ) as client:
            resp = await client.request(case["method"], case["url"], **kwargs)
            assert resp.status_code == 200
    (req,) = srv.seen
    assert req.target == case["target"]
    _check_wire(conf_key, api_key, req)


def test_fresh_jti_per_request(conf_key: rsa.RSAPrivateKey) -> None:
    api_key = _ref.random_api_key()
    with (
        capture_server() as srv,
        httpx.Client(
            base_url=srv.base_url, auth=NuveraAuth(api_key, conf_key)
        ) as client,
    ):
        for _ in range(5):
            client.get("/v1/customers")
    jtis = {_check_wire(conf_key, api_key, r)["jti"] for r in srv.seen}
    assert len(jtis) == 5


def test_version_and_user_agent() -> None:
    import platform

    ua = nuvera_client.USER_AGENT
    assert ua == (
        f"nuvera-python/{nuvera_client.__version__} "
        f"python/{platform.python_version()} httpx/{httpx.__version__}"
    )


# --- §2.2 large bodies: hashed in a streaming pass, never whole in memory ----------

BIG = 48 * 1024 * 1024


def _big_chunks() -> Iterator[bytes]:
    block = bytes(range(256)) * 256  # 64 KiB
    for _ in range(BIG // len(block)):
        yield block


def _expected_big_hash() -> str:
    digest = hashlib.sha256()
    for block in _big_chunks():
        digest.update(block)
    return digest.hexdigest()


_PATTERN = bytes(range(256)) * 260


class _BigFile(io.RawIOBase):
    """A seekable 48 MiB file made up on the fly (nothing held in memory)."""

    def __init__(self) -> None:
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: BIG}[whence]
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), BIG - self.pos, 65536)
        start = self.pos % 256
        memoryview(buffer)[:n] = _PATTERN[start : start + n]
        self.pos += n
        return n


@pytest.mark.parametrize("kind", ["generator", "multipart-file"])
def test_large_bodies_constant_memory(conf_key: rsa.RSAPrivateKey, kind: str) -> None:
    import tracemalloc

    api_key = _ref.random_api_key()
    with (
        capture_server() as srv,
        httpx.Client(
            base_url=srv.base_url, auth=NuveraAuth(api_key, conf_key), timeout=60
        ) as client,
    ):
        tracemalloc.start()
        try:
            if kind == "generator":
                client.post("/v1/x", content=_big_chunks())
            else:
                raw = io.BufferedReader(_BigFile(), buffer_size=65536)
                client.post(
                    "/v1/documents",
                    data={"type": "other"},
                    files={"file": ("big.bin", raw, "application/octet-stream")},
                )
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    (req,) = srv.seen
    token = (req.header("authorization") or "").removeprefix("Bearer ")
    payload = _decode(token)[1]
    assert payload["body_hash"] == req.body_sha256
    if kind == "generator":
        assert req.body_sha256 == _expected_big_hash()
    assert req.body_length >= BIG
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 48 MiB body"
