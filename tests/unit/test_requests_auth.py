"""NuveraRequestsAuth over a real loopback server that re-hashes what it receives."""

from __future__ import annotations

import io
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import verify
from loopback_server import Seen, base_url, serve
from requests_toolbelt import MultipartEncoder

from nuvera_client import ApiKey, RequestSigner
from nuvera_client.errors import InvalidApiKeyError
from nuvera_client.requests_auth import NuveraRequestsAuth


@pytest.fixture
def api_key() -> str:
    return ApiKey.generate("test").reveal()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only, never a proxy
        yield session


def _one(
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    session: requests.Session,
    method: str,
    path: str,
    **kwargs: Any,
) -> Seen:
    auth = NuveraRequestsAuth(api_key, rsa_key)
    with serve(rsa_key.public_key(), api_key) as server:
        response = session.request(
            method, base_url(server) + path, auth=auth, timeout=30, **kwargs
        )
    assert len(server.seen) == 1
    seen = server.seen[0]
    assert response.status_code == 200, seen.code
    assert seen.code == "ok"
    return seen


@pytest.mark.parametrize(
    ("path", "params", "target"),
    [
        (
            "/v1/customers",
            {"email": "a@b.com", "limit": 10},
            "/v1/customers?email=a%40b.com&limit=10",
        ),
        ("/v1/customers?", None, "/v1/customers"),
        ("/v1/x?q=a+b&r=%2F&s=%20", None, "/v1/x?q=a+b&r=%2F&s=%20"),
        ("/v1/zoë", {"n": "山"}, "/v1/zo%C3%AB?n=%E5%B1%B1"),
        ("/v1/x", {"s": ["a", "b"]}, "/v1/x?s=a&s=b"),
    ],
)
def test_targets(
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    session: requests.Session,
    path: str,
    params: object,
    target: str,
) -> None:
    seen = _one(rsa_key, api_key, session, "GET", path, params=params)
    assert seen.target == target
    assert seen.claims["uri"] == target


@pytest.mark.parametrize(
    ("method", "kwargs", "length"),
    [
        ("POST", {"json": {"name": "Zoë"}}, len('{"name": "Zo\\u00eb"}')),
        ("PUT", {"data": "naïve €"}, len("naïve €".encode())),
        ("PATCH", {"data": {"a": "é b"}}, len("a=%C3%A9+b")),
        ("POST", {"data": b"\x00\xff"}, 2),
        ("DELETE", {}, 0),
        ("POST", {"files": {"file": ("a.txt", b"hello")}, "data": {"k": "v"}}, None),
    ],
    ids=["json", "str-utf8", "form", "bytes", "empty", "files"],
)
def test_bodies(
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    session: requests.Session,
    method: str,
    kwargs: dict[str, object],
    length: int | None,
) -> None:
    seen = _one(rsa_key, api_key, session, method, "/v1/things", **kwargs)
    assert seen.claims["method"] == method
    assert seen.claims["body_hash"] == seen.body_sha256
    if length is not None:
        assert seen.body_length == length


def test_generator_is_spooled_and_sent_with_length(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session
) -> None:
    def chunks() -> Iterator[bytes]:
        for index in range(30):
            yield bytes([index]) * 100_000

    seen = _one(rsa_key, api_key, session, "POST", "/v1/documents", data=chunks())
    assert seen.body_length == 3_000_000
    assert seen.headers["content-length"] == "3000000"
    assert "transfer-encoding" not in seen.headers


def test_file_from_its_position(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789" * 10_000)
    with path.open("rb") as handle:
        handle.seek(5)
        seen = _one(rsa_key, api_key, session, "PUT", "/v1/documents", data=handle)
    assert seen.body_length == 100_000 - 5


def test_non_seekable_pipe(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session
) -> None:
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as writer:
            for _ in range(20):
                writer.write(b"p" * 10_000)

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read_fd, "rb") as reader:
        seen = _one(rsa_key, api_key, session, "POST", "/v1/documents", data=reader)
    feeder.join(timeout=10)
    assert seen.body_length == 200_000


def test_multipart_encoder_large_file_not_in_memory(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(24):
            out.write(block)
    with path.open("rb") as handle:
        encoder = MultipartEncoder(
            fields={
                "customer_id": "cus_1",
                "type": "passport",
                "file": ("big.bin", handle, "application/octet-stream"),
            },
            boundary="fixed-boundary-123",
        )
        expected_length = encoder.len
        auth = NuveraRequestsAuth(api_key, rsa_key)
        prepared = requests.Request(
            "POST",
            "http://127.0.0.1:9/v1/documents",
            data=encoder,
            headers={"Content-Type": encoder.content_type},
        ).prepare()
        tracemalloc.start()
        try:
            auth(prepared)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 * (1 << 20)  # far below the 24 MiB file
        assert prepared.headers["Content-Length"] == str(expected_length)
        # And the whole flow over loopback:
        handle.seek(0)
        encoder = MultipartEncoder(
            fields={"file": ("big.bin", handle, "application/octet-stream")},
            boundary="fixed-boundary-123",
        )
        seen = _one(
            rsa_key,
            api_key,
            session,
            "POST",
            "/v1/documents",
            data=encoder,
            headers={"Content-Type": encoder.content_type},
        )
    assert seen.body_length > 24 * (1 << 20)
    assert seen.headers["content-type"].startswith("multipart/form-data")


def test_multipart_encoder_hash_is_over_its_exact_bytes(
    rsa_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    fields = {"a": "1", "file": ("x.bin", io.BytesIO(b"\x00" * 1000), "x/y")}
    exact = MultipartEncoder(fields=dict(fields), boundary="b0").to_string()
    fields["file"] = ("x.bin", io.BytesIO(b"\x00" * 1000), "x/y")
    encoder = MultipartEncoder(fields=fields, boundary="b0")
    prepared = requests.Request(
        "POST", "http://127.0.0.1:9/v1/documents", data=encoder
    ).prepare()
    NuveraRequestsAuth(api_key, rsa_key)(prepared)
    token = prepared.headers["Authorization"].removeprefix("Bearer ")
    verify(token, rsa_key.public_key(), method="POST", uri="/v1/documents", body=exact)
    assert prepared.body.read() == exact  # type: ignore[union-attr]


def test_headers_repr_and_options(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session
) -> None:
    auth = NuveraRequestsAuth(api_key, signer=RequestSigner(rsa_key, ttl=60))
    prepared = session.prepare_request(
        requests.Request("GET", "http://127.0.0.1:9/v1/x", auth=auth)
    )
    assert prepared.headers["x-api-key"] == api_key
    assert prepared.headers["User-Agent"].startswith("nuvera-python/")
    assert " requests/" in prepared.headers["User-Agent"]
    assert api_key not in repr(auth)
    assert auth.kid in repr(auth)
    assert auth.signer.ttl == 60
    assert auth.api_key.env == "test"
    with pytest.raises(InvalidApiKeyError, match="copy the whole key"):
        NuveraRequestsAuth(api_key[:-2], rsa_key)


def test_tampered_body_is_refused_by_the_server(
    rsa_key: rsa.RSAPrivateKey, api_key: str, session: requests.Session
) -> None:
    auth = NuveraRequestsAuth(api_key, rsa_key)
    with serve(rsa_key.public_key(), api_key) as server:
        prepared = session.prepare_request(
            requests.Request("POST", base_url(server) + "/v1/x", data=b"abc", auth=auth)
        )
        prepared.body = b"abd"
        response = session.send(prepared, timeout=30)
    assert response.status_code == 401
    assert server.seen[0].code == "body_hash_mismatch"


@pytest.mark.parametrize("same_host", [True, False])
def test_redirects_never_carry_credentials(
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    session: requests.Session,
    same_host: bool,
) -> None:
    auth = NuveraRequestsAuth(api_key, rsa_key)
    with (
        serve(rsa_key.public_key(), api_key) as first,
        serve(rsa_key.public_key(), api_key) as other,
    ):
        target = base_url(first if same_host else other) + "/v1/customers"
        response = session.get(
            base_url(first) + "/redirect?to=" + target, auth=auth, timeout=30
        )
    assert first.seen[0].code == "redirected"
    assert "x-api-key" in first.seen[0].headers
    landed = (first.seen[1:] if same_host else other.seen)[0]
    assert "x-api-key" not in landed.headers
    assert "authorization" not in landed.headers
    assert landed.code == "missing_signature"
    assert response.status_code == 401
