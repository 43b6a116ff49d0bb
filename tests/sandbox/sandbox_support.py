"""Shared helpers for the sandbox tests: clock, stand-in endpoints, a caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import claims, kid_of, mint, public_pem

from nuvera_client.sandbox import CreatedApplication, Sandbox
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext
from nuvera_client.sandbox._problems import ApiProblem, validation_failed

T0 = 1_800_000_000  # a fixed server time for the tables


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# -- small endpoints standing in for the REST handlers ------------------------


async def _list(ctx: RequestContext) -> Reply:
    return Reply(200, {"data": [], "query": ctx.query, "app": ctx.application_id})


async def _create(ctx: RequestContext) -> Reply:
    count = ctx.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    return Reply(201, {"id": ctx.new_id("cus_"), "seen": count})


async def _retrieve(ctx: RequestContext) -> Reply:
    return Reply(200, {"id": ctx.path_params["id"]})


async def _payment(ctx: RequestContext) -> Reply:
    ctx.db.execute("CREATE TABLE IF NOT EXISTS t_payments (id TEXT)")
    pid = ctx.new_id("pay_")
    ctx.db.execute("INSERT INTO t_payments VALUES (?)", (pid,))
    total = ctx.db.execute("SELECT count(*) FROM t_payments").fetchone()[0]
    return Reply(201, {"id": pid, "count": total})


async def _upload(ctx: RequestContext) -> Reply:
    form = await ctx.form()
    upload = form["file"]
    data = await upload.read()
    return Reply(201, {"customer_id": form["customer_id"], "size": len(data)})


async def _content(ctx: RequestContext) -> Reply:
    return Reply(
        200,
        stream=iter([b"abc", b"def"]),
        media_type="application/octet-stream",
        headers={"Content-Length": "6"},
    )


async def _boom(ctx: RequestContext) -> Reply:
    raise RuntimeError("handler bug")


async def _invalid(ctx: RequestContext) -> Reply:
    ctx.db.execute("CREATE TABLE IF NOT EXISTS t_writes (id TEXT)")
    ctx.db.execute("INSERT INTO t_writes VALUES ('x')")
    raise validation_failed({"subject": "required"})


async def _close(ctx: RequestContext) -> Reply:
    raise ApiProblem(409, "invalid_request_error", "invalid_state", "closed")


TEST_ENDPOINTS = (
    Endpoint("GET", "/v1/customers", "CUSTOMERS_READ", _list),
    Endpoint("POST", "/v1/customers", "CUSTOMERS_WRITE", _create),
    Endpoint("GET", "/v1/customers/{id}", "CUSTOMERS_READ", _retrieve),
    Endpoint("POST", "/v1/payments", "PAYMENTS_WRITE", _payment),
    Endpoint("POST", "/v1/documents", "DOCUMENTS_WRITE", _upload),
    Endpoint("GET", "/v1/documents/{id}/content", "DOCUMENTS_READ", _content),
    Endpoint("POST", "/v1/support/tickets", "SUPPORT_WRITE", _boom),
    Endpoint("GET", "/v1/support/tickets", "SUPPORT_READ", _list),
    Endpoint("POST", "/v1/support/tickets/{id}/messages", "SUPPORT_WRITE", _invalid),
    Endpoint("POST", "/v1/support/tickets/{id}/close", "SUPPORT_WRITE", _close),
)

ALL_PERMISSIONS = [
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "SUPPORT_READ",
    "SUPPORT_WRITE",
]


@dataclass
class Caller:
    """Builds and sends signed requests for one application."""

    sandbox: Sandbox
    clock: Clock
    client: httpx.Client
    app: CreatedApplication
    key: rsa.RSAPrivateKey
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        self.kid = kid_of(self.key.public_key())

    def now(self) -> int:
        return int(self.sandbox.now())

    def token(
        self,
        method: str,
        uri: str,
        body: bytes = b"",
        /,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        header: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        payload = claims(method, uri, body, now=self.now(), **overrides)
        return mint(
            key or self.key, kid=kid or self.kid, payload=payload, header=header
        )

    def send(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        token: str | None = None,
        api_key: str | None = None,
        extra: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        if token is None:
            token = self.token(method, target, body)
        headers = [
            ("x-api-key", self.app.api_key if api_key is None else api_key),
            ("authorization", f"Bearer {token}"),
        ]
        if content_type:
            headers.append(("content-type", content_type))
        headers += extra or []
        return self.client.request(method, target, content=body, headers=headers)

    def raw(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes = b"",
    ) -> httpx.Response:
        return self.client.request(method, target, content=body, headers=headers)


def release_keys(sandbox: Sandbox, *keys: rsa.RSAPrivateKey) -> None:
    """Remove ``keys`` from earlier tests' applications on a shared sandbox.

    A public key is active on one application at a time (PROTOCOL §1.2).
    """
    with sandbox.store.transaction() as db:
        for key in keys:
            db.execute(
                "UPDATE signing_keys SET status = 'removed'"
                " WHERE kid = ? AND status = 'active'",
                (kid_of(key.public_key()),),
            )


def make_sandbox(clock: Clock, **kwargs: Any) -> Sandbox:
    return Sandbox(clock=clock, endpoints=TEST_ENDPOINTS, **kwargs)


@contextmanager
def caller_on(
    sandbox: Sandbox, clock: Clock, key: rsa.RSAPrivateKey, name: str = "svc"
) -> Iterator[Caller]:
    """A Caller for a new application (every permission, ``key``) on ``sandbox``."""
    app = sandbox.create_application(
        name=name, permissions=ALL_PERMISSIONS, public_key_pem=public_pem(key)
    )
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://sandbox.test"
    ) as client:
        yield Caller(sandbox, clock, client, app, key)
