"""Helpers for the console tests: a form-posting client, signed requests."""

from __future__ import annotations

import hashlib
import re

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import RequestSigner
from nuvera_client.sandbox import CreatedApplication, Sandbox

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browserless:
    """An httpx client over the sandbox's in-process transport, with a session."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.http = httpx.Client(
            transport=sandbox.transport(),
            base_url="http://127.0.0.1:8787",
            follow_redirects=True,
        )
        self.csrf = ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = self.http.get(path, **kwargs)  # type: ignore[arg-type]
        self._remember(response)
        return response

    def post(
        self, path: str, data: dict[str, object], *, csrf: bool = True
    ) -> httpx.Response:
        form = {**data, "csrf_token": self.csrf} if csrf else data
        response = self.http.post(path, data=form)
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        match = CSRF_RE.search(response.text)
        if match:
            self.csrf = match.group(1)

    def sign_in(self, user: str) -> httpx.Response:
        self.get("/console/signin")
        return self.post("/console/signin", {"user": user})


def send_signed(
    sandbox: Sandbox,
    app: CreatedApplication,
    key: rsa.RSAPrivateKey,
    *,
    method: str = "GET",
    target: str = "/v1/crypto/assets",
    body: bytes = b"",
    signed_body: bytes | None = None,
) -> httpx.Response:
    """Send a request whose token signs ``signed_body`` (default: ``body``)."""
    token = RequestSigner(key).sign(
        method, target, body if signed_body is None else signed_body
    )
    headers = {"x-api-key": app.api_key, "authorization": f"Bearer {token}"}
    if body:
        headers["content-type"] = "application/json"
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://127.0.0.1:8787"
    ) as client:
        return client.request(method, target, content=body, headers=headers)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
