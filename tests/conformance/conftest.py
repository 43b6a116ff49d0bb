"""Fixtures for the protocol conformance harness: keys, a loopback sandbox, a caller."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.sandbox import PERMISSIONS, Sandbox, SandboxServer

from . import _ref

ALL_PERMISSIONS: tuple[str, ...] = tuple(PERMISSIONS)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


@pytest.fixture(scope="session")
def conf_key() -> rsa.RSAPrivateKey:
    """An RSA-2048 key generated for this run (never committed)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    """A second RSA-2048 key, for another application."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """One sandbox served on 127.0.0.1 over real HTTP for the module."""
    with Sandbox() as sandbox, sandbox.serve(port=0) as srv:
        yield srv


@dataclass
class Caller:
    """Sends raw, hand-signed requests for one application."""

    port: int
    sandbox: Sandbox
    key: rsa.RSAPrivateKey
    api_key: str
    app_id: str

    def now(self) -> int:
        return int(self.sandbox.now())

    def token(self, verb: str, target: str, body: bytes = b"", **over: Any) -> str:
        payload = _ref.claims(method=verb, uri=target, body=body, iat=self.now())
        payload.update(over)
        return _ref.token(self.key, payload)

    def send(
        self,
        verb: str,
        target: str,
        body: bytes = b"",
        *,
        headers: Sequence[tuple[str, str]] = (),
        auth: bool = True,
        token: str | None = None,
        content_type: str | None = None,
        **over: Any,
    ) -> _ref.RawResponse:
        sent: list[tuple[str, str]] = []
        if auth:
            tok = (
                token
                if token is not None
                else self.token(verb.upper(), target, body, **over)
            )
            sent += [("x-api-key", self.api_key), ("Authorization", f"Bearer {tok}")]
        if content_type is None and body:
            content_type = "application/json"
        if content_type:
            sent.append(("Content-Type", content_type))
        sent += list(headers)
        return _ref.raw_request(self.port, verb, target, sent, body)

    def post_json(self, target: str, value: object, **kwargs: Any) -> _ref.RawResponse:
        return self.send("POST", target, json.dumps(value).encode(), **kwargs)


def release_key(sandbox: Sandbox, key: rsa.RSAPrivateKey) -> None:
    """Remove ``key`` from the applications of earlier tests (PROTOCOL §1.2).

    A public key is active on one application at a time; the session keys are
    reused by many tests' applications on one server, one after the other.
    """
    pem = public_pem(key)
    with sandbox.store.transaction() as db:
        db.execute(
            "UPDATE signing_keys SET status = 'removed'"
            " WHERE public_key_pem = ? AND status = 'active'",
            (pem,),
        )


def make_caller(
    server: SandboxServer,
    key: rsa.RSAPrivateKey,
    permissions: Sequence[str] = ALL_PERMISSIONS,
    name: str = "conformance",
) -> Caller:
    release_key(server.sandbox, key)
    app = server.sandbox.create_application(
        name=name, permissions=list(permissions), public_key_pem=public_pem(key)
    )
    return Caller(server.port, server.sandbox, key, app.api_key, app.id)


@pytest.fixture
def caller(server: SandboxServer, conf_key: rsa.RSAPrivateKey) -> Caller:
    """A fresh application with every permission, signing with ``conf_key``."""
    return make_caller(server, conf_key)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A settable Unix clock for a sandbox (``clock=``)."""

    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    """The clock of ``clocked_server`` (starts at a whole second)."""
    return FakeClock(1_790_000_000.0)


@pytest.fixture(scope="module")
def clocked_server(clock: FakeClock) -> Iterator[SandboxServer]:
    """A loopback sandbox whose time is ``clock``."""
    with Sandbox(clock=clock) as sandbox, sandbox.serve(port=0) as srv:
        yield srv


def assert_error(
    resp: _ref.RawResponse,
    status: int,
    type_: str,
    code: str,
    details: dict[str, object] | None = None,
) -> dict[str, object]:
    """Check one §6 error reply; ``details`` keys given must match exactly."""
    assert resp.status == status, (resp.status, resp.body[:400])
    err = resp.error
    assert set(err) == {"type", "code", "message", "request_id", "details"}, err
    assert (err["type"], err["code"]) == (type_, code), err
    assert isinstance(err["message"], str)
    assert err["message"]
    request_id = err["request_id"]
    assert isinstance(request_id, str)
    assert request_id.startswith("req_")
    assert resp.header("x-request-id") == request_id
    assert resp.header("date")
    got = err["details"]
    assert isinstance(got, dict)
    if details is not None:
        assert {k: got.get(k, "<absent>") for k in details} == details, got
    return got
