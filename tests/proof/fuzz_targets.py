"""Fuzz targets for every parser fed untrusted input, shared by hypothesis and atheris.

Each target takes bytes and returns normally when the parser kept its contract:
a value, or one of the documented typed errors (a ``NuveraError`` subclass on the
client, a PROTOCOL §6 error with a known code and a 4xx status on the sandbox).
Anything else (another exception, a 500, a hang past the transport timeout)
propagates as a failure.
"""

from __future__ import annotations

import base64
import contextlib
import json
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx

from nuvera_client import ApiKey, NuveraAuth, NuveraClient, keys
from nuvera_client.errors import NuveraError
from nuvera_client.sandbox import PERMISSIONS, Sandbox

BOUNDARY = "fuzzboundary"
TOKEN_CODES = frozenset(
    {
        "missing_signature",
        "malformed_token",
        "unsupported_algorithm",
        "unknown_signing_key",
        "invalid_signature",
        "invalid_issuer",
        "invalid_audience",
        "invalid_lifetime",
        "token_not_yet_valid",
        "token_expired",
        "replayed_jti",
        "method_mismatch",
        "uri_mismatch",
        "body_hash_mismatch",
    }
)


class _Sandbox:
    """One in-process sandbox and a signing client, made once per process."""

    def __init__(self) -> None:
        self.sandbox = Sandbox()
        app = self.sandbox.create_application(
            name="fuzz", permissions=list(PERMISSIONS)
        )
        assert app.private_key_pem is not None
        self.api_key = app.api_key
        self.http = httpx.Client(
            transport=self.sandbox.transport(),
            base_url="http://sandbox.test",
            auth=NuveraAuth(app.api_key, app.private_key_pem),
            timeout=10,
        )
        self.raw = httpx.Client(
            transport=self.sandbox.transport(),
            base_url="http://sandbox.test",
            timeout=10,
        )
        created = self.http.post(
            "/v1/customers",
            json={"type": "individual", "name": "F", "email": "f@example.com"},
        )
        self.customer = created.json()["id"]


@lru_cache(maxsize=1)
def sandbox() -> _Sandbox:
    return _Sandbox()


def close() -> None:
    """Release the shared sandbox (its store and clients), if one was made."""
    if sandbox.cache_info().currsize:
        env = sandbox()
        env.http.close()
        env.raw.close()
        env.sandbox.close()
        sandbox.cache_clear()
    if _response_client.cache_info().currsize:
        _response_client()[0].close()
        _response_client.cache_clear()


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    return str(body["error"]["code"])


# -- client-side parsers ------------------------------------------------------------


def api_key(data: bytes) -> None:
    """``ApiKey.parse`` on any text: a key or ``InvalidApiKeyError``."""
    text = data.decode("utf-8", "replace")
    try:
        key = ApiKey.parse(text)
    except NuveraError as exc:
        assert type(exc).__name__ == "InvalidApiKeyError", type(exc)
        # Never echoes what it was given (it may be a real key, mistyped).
        assert len(text.strip()) < 12 or text.strip() not in str(exc)
        return
    assert key.reveal() == text.strip()


def private_key(data: bytes) -> None:
    """``keys.load_private_key`` on any bytes (PEM, DER, JWK JSON): typed errors."""
    sources: list[Any] = [data]
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        value = None
    if isinstance(value, dict):
        sources.append(value)
    for source in sources:
        for passphrase in (None, b"pw"):
            try:
                keys.load_private_key(source, passphrase)
            except NuveraError as exc:
                assert "PRIVATE KEY-----" not in str(exc)


def response(data: bytes, status: int = 200) -> None:
    """The client parsing any response body: a model or a ``NuveraError``."""
    client, served = _response_client()
    served["status"], served["body"] = status, data
    for call in (
        lambda: client.customers.retrieve("cus_1"),
        lambda: list(client.customers.list(limit=2)),
        lambda: client.payments.retrieve("pay_1"),
    ):
        with contextlib.suppress(NuveraError):
            call()


@lru_cache(maxsize=1)
def _response_client() -> tuple[NuveraClient, dict[str, Any]]:
    """One client for every example (made once: loading its key dominated a run)."""
    served: dict[str, Any] = {"status": 200, "body": b""}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            served["status"],
            content=served["body"],
            headers={"content-type": "application/json"},
        )

    client = NuveraClient(
        ApiKey.generate("test").reveal(),
        _client_key(),
        base_url="http://127.0.0.1:9",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return client, served


@lru_cache(maxsize=1)
def _client_key() -> str:
    return keys.private_key_pem(keys.generate_private_key(2048))


# -- sandbox-side parsers, through HTTP ---------------------------------------------


def jws(data: bytes) -> None:
    """The verifier's token parsing: any Authorization value is a 401 with a code."""
    env = sandbox()
    text = data.decode("latin-1")
    # What an HTTP header can carry: no CR, LF or NUL.
    text = "".join(ch for ch in text if ch not in "\r\n\x00")
    for value in ("Bearer " + text, _three_segments(data)):
        response = env.raw.get(
            "/v1/customers",
            headers=[
                (b"x-api-key", env.api_key.encode()),
                (b"authorization", value.encode("latin-1")),
            ],
        )
        assert response.status_code == 401, (response.status_code, response.text)
        assert _error_code(response) in TOKEN_CODES


def _three_segments(data: bytes) -> str:
    third = max(1, len(data) // 3)
    parts = [data[:third], data[third : 2 * third], data[2 * third :]]
    return "Bearer " + ".".join(
        base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts
    )


def multipart(data: bytes) -> None:
    """The sandbox's multipart parsing: any signed body is served or refused (4xx)."""
    env = sandbox()
    for target in ("/v1/documents", "/v1/support/tickets/tkt_nope/messages"):
        response = env.http.post(
            target,
            content=data,
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert response.status_code in (201, 400, 404, 413, 415, 422), (
            response.status_code,
            response.text,
        )
        if response.status_code >= 400:
            _error_code(response)


def cursor(data: bytes) -> None:
    """Cursor decoding: any ``cursor`` is a page or a 422, never a 500."""
    env = sandbox()
    text = quote(data.decode("utf-8", "replace"), safe="")
    for path in ("/v1/customers", "/v1/payments", "/v1/crypto/assets"):
        response = env.http.get(f"{path}?cursor={text}&limit=2")
        assert response.status_code in (200, 400, 422), (
            response.status_code,
            response.text,
        )
        if response.status_code != 200:
            _error_code(response)


def json_body(data: bytes) -> None:
    """JSON bodies: any signed bytes are served or refused with a §6 error."""
    env = sandbox()
    response = env.http.post(
        "/v1/support/tickets",
        content=data,
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (201, 400, 413, 415, 422), (
        response.status_code,
        response.text,
    )
    if response.status_code >= 400:
        _error_code(response)


TARGETS = {
    "api_key": api_key,
    "private_key": private_key,
    "response": response,
    "jws": jws,
    "multipart": multipart,
    "cursor": cursor,
    "json_body": json_body,
}
