"""Hypothesis: every signed request verifies; any one-byte change is detected."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jwt_verifier import VerificationError, verify

from nuvera_client import ApiKey, NuveraAuth, RequestSigner

SURROGATES: tuple[Literal["Cs"], ...] = ("Cs",)
SURROGATES_AND_CONTROLS: tuple[Literal["Cs", "Cc"], ...] = ("Cs", "Cc")
API_KEY = ApiKey.generate("test").reveal()
BASE = "https://api.sandbox.nuvera.com"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
# Text with reserved, percent, plus, space, non-ASCII and astral characters.
reserved = st.sampled_from(list("!#$&'()*+,/:;=?@[]%\"<>\\^`{|} ~-._"))
pieces = st.one_of(
    reserved,
    st.characters(codec="utf-8", exclude_categories=SURROGATES),
    st.sampled_from(["%40", "%2F", "%20", "+", "é", "山", "\U0001f600", "%", "%zz"]),
)
segment = st.lists(pieces, max_size=8).map("".join)
# httpx refuses "#", "?" and control characters inside a path given on its own.
path_pieces = st.one_of(
    st.sampled_from(list("!$&'()*+,/:;=@[]%\"<>\\^`{|} ~-._")),
    st.characters(
        codec="utf-8",
        exclude_categories=SURROGATES_AND_CONTROLS,
        exclude_characters="?#",
    ),
    st.sampled_from(["%40", "%2F", "%20", "+", "é", "山", "\U0001f600", "%", "%zz"]),
)
path_segment = st.lists(path_pieces, max_size=8).map("".join)
paths = st.lists(
    path_segment.filter(lambda s: s not in (".", "..")), min_size=1, max_size=4
)
queries = st.lists(st.tuples(segment, segment), max_size=4)
bodies = st.binary(max_size=64 * 1024)


def _request(
    method: str, path: list[str], query: list[tuple[str, Any]], body: bytes
) -> httpx.Request:
    url = httpx.URL(BASE).copy_with(path="/v1/" + "/".join(path))
    return httpx.Request(method, url, params=query or None, content=body)


def _signed(auth: NuveraAuth, request: httpx.Request) -> tuple[str, str, bytes, str]:
    signed = next(auth.sync_auth_flow(request))
    token = signed.headers["authorization"].removeprefix("Bearer ")
    return token, signed.url.raw_path.decode("ascii"), signed.read(), signed.method


@pytest.fixture(scope="module")
def auth(rsa_key: rsa.RSAPrivateKey) -> NuveraAuth:
    return NuveraAuth(API_KEY, rsa_key)


@SETTINGS
@given(method=methods, path=paths, query=queries, body=bodies)
@example(method="POST", path=["documents"], query=[], body=b"\x00" * (3 << 20))
@example(method="PUT", path=["a b", "zoë"], query=[("q", "a+b@c/d")], body=b"")
@example(method="GET", path=["x"], query=[("", "")], body=b"")
def test_every_request_verifies(
    auth: NuveraAuth,
    rsa_key: rsa.RSAPrivateKey,
    method: str,
    path: list[str],
    query: list[tuple[str, str]],
    body: bytes,
) -> None:
    token, target, sent, sent_method = _signed(
        auth, _request(method, path, query, body)
    )
    assert target.isascii()
    assert not target.endswith("?") or "?" in target[:-1]
    assert sent == body
    claims = verify(
        token, rsa_key.public_key(), method=sent_method, uri=target, body=sent
    ).claims
    assert claims["body_hash"] == hashlib.sha256(body).hexdigest()


@SETTINGS
@given(
    raw=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=SURROGATES),
        max_size=40,
    )
)
def test_any_url_httpx_builds_can_be_signed(
    auth: NuveraAuth, rsa_key: rsa.RSAPrivateKey, raw: str
) -> None:
    try:
        request = httpx.Request("GET", f"{BASE}/v1/{raw}")
    except httpx.InvalidURL:
        return  # httpx refuses it, so nobody can send it
    token, target, _, _ = _signed(auth, request)
    verify(token, rsa_key.public_key(), method="GET", uri=target)


@SETTINGS
@given(
    method=methods,
    path=paths,
    query=queries,
    body=bodies,
    where=st.sampled_from(["method", "target", "body"]),
    data=st.data(),
)
def test_one_byte_change_is_detected(
    rsa_key: rsa.RSAPrivateKey,
    method: str,
    path: list[str],
    query: list[tuple[str, str]],
    body: bytes,
    where: str,
    data: st.DataObject,
) -> None:
    signer = RequestSigner(rsa_key)
    request = _request(method, path, query, body)
    target = request.url.raw_path.decode("ascii")
    if target.endswith("?") and target.count("?") == 1:
        target = target[:-1]
    token = signer.sign(method, target, body)
    public = rsa_key.public_key()
    verify(token, public, method=method, uri=target, body=body)
    if where == "body" and not body:
        where = "target"
    if where == "method":
        index = data.draw(st.integers(0, len(method) - 1))
        letter = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        changed = method[:index] + letter + method[index + 1 :]
        if changed == method:
            return
        with pytest.raises(VerificationError) as caught:
            verify(token, public, method=changed, uri=target, body=body)
        assert caught.value.code == "method_mismatch"
    elif where == "target":
        index = data.draw(st.integers(0, len(target) - 1))
        byte = data.draw(st.integers(0x21, 0x7E).map(chr))
        changed = target[:index] + byte + target[index + 1 :]
        if changed == target:
            return
        with pytest.raises(VerificationError) as caught:
            verify(token, public, method=method, uri=changed, body=body)
        assert caught.value.code == "uri_mismatch"
    else:
        index = data.draw(st.integers(0, len(body) - 1))
        delta = data.draw(st.integers(1, 255))
        tampered = bytearray(body)
        tampered[index] = (tampered[index] + delta) % 256
        with pytest.raises(VerificationError) as caught:
            verify(token, public, method=method, uri=target, body=bytes(tampered))
        assert caught.value.code == "body_hash_mismatch"


@SETTINGS
@given(data=st.data())
def test_one_byte_change_to_the_token_is_refused(
    rsa_key: rsa.RSAPrivateKey, data: st.DataObject
) -> None:
    token = RequestSigner(rsa_key).sign("POST", "/v1/payments", b"{}")
    index = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    char = data.draw(st.sampled_from(alphabet))
    changed = token[:index] + char + token[index + 1 :]
    if changed == token or token[index] == ".":
        return
    with pytest.raises(VerificationError):
        verify(
            changed, rsa_key.public_key(), method="POST", uri="/v1/payments", body=b"{}"
        )
