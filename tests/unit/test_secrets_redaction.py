"""No log line, message, repr or traceback ever holds a secret.

A run of succeeding and failing requests over loopback, with every logger at
DEBUG, then a search of everything captured for the API key, the private key
PEM (any of its lines), the passphrase and any whole token (or its signature).
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from loopback_server import base_url, serve

from nuvera_client import ApiKey, Credentials, NuveraAuth, RequestSigner
from nuvera_client.errors import NuveraError, error_from_response
from nuvera_client.keys import load_private_key, private_key_pem

PASSPHRASE = "tr0ub4dor&3-unique-passphrase"


def _secret_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_secrets_never_leak(
    rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("nuvera_client", "httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    api_key = ApiKey.generate("test").reveal()
    other_key = ApiKey.generate("test").reveal()
    encrypted_pem = private_key_pem(rsa_key, PASSPHRASE)
    plain_pem = private_key_pem(rsa_key)
    texts: list[str] = []
    tokens: list[str] = []

    def record(error: BaseException) -> None:
        texts.append(str(error))
        texts.append(repr(error))
        texts.append("".join(traceback.format_exception(error)))

    def expect_error(action: Callable[[], object]) -> None:
        try:
            action()
        except (NuveraError, ValueError, TypeError) as exc:
            record(exc)
        else:
            pytest.fail("expected an error")

    auth = NuveraAuth(api_key, encrypted_pem, passphrase=PASSPHRASE)
    texts += [repr(auth), str(auth.api_key), repr(auth.api_key), repr(auth.signer)]
    texts.append(repr(Credentials(api_key, encrypted_pem, PASSPHRASE)))
    texts.append(repr(Credentials("garbage", plain_pem)))

    with serve(rsa_key.public_key(), api_key) as server:
        url = base_url(server)
        with httpx.Client(base_url=url, auth=auth, timeout=10) as client:
            responses = [
                client.get("/v1/customers", params={"email": "a@b.com"}),
                client.post("/v1/customers", json={"name": "Zoë"}),
                client.post(
                    "/v1/documents",
                    data={"customer_id": "cus_1"},
                    files={"file": ("a.txt", b"hello")},
                ),
                client.delete("/v1/beneficiaries/ben_1"),
            ]
        assert [r.status_code for r in responses] == [200, 200, 200, 200]
        # The server refuses another application's key: an APIError results.
        wrong = NuveraAuth(other_key, rsa_key)
        with httpx.Client(base_url=url, auth=wrong, timeout=10) as client:
            refused = client.get("/v1/customers")
        assert refused.status_code == 401
        error = error_from_response(
            refused.status_code, refused.content, dict(refused.headers)
        )
        record(error)
    tokens = [
        seen.headers["authorization"].removeprefix("Bearer ") for seen in server.seen
    ]
    assert len(tokens) == 5
    assert [seen.code for seen in server.seen] == ["ok"] * 4 + ["invalid_api_key"]

    # Bad inputs that hold secrets.
    expect_error(lambda: NuveraAuth(api_key, encrypted_pem))
    expect_error(
        lambda: NuveraAuth(api_key, encrypted_pem, passphrase=PASSPHRASE + "x")
    )
    expect_error(lambda: NuveraAuth(api_key[:-3], encrypted_pem, passphrase=PASSPHRASE))
    expect_error(
        lambda: NuveraAuth(
            api_key[:-1] + ("Y" if api_key.endswith("Z") else "Z"), plain_pem
        )
    )
    expect_error(lambda: load_private_key(plain_pem[:400]))
    expect_error(lambda: load_private_key(plain_pem.replace("-----BEGIN", "")))
    expect_error(lambda: RequestSigner(plain_pem, ttl=120))
    expect_error(
        lambda: RequestSigner(plain_pem).sign("GET", "/v1/x", jti=f"{api_key}!")
    )
    expect_error(
        lambda: RequestSigner(
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSPHRASE.encode()),
            )
            .decode(),
            passphrase=PASSPHRASE,
        )
    )
    expect_error(lambda: auth.rotate(api_key=ApiKey.generate("live").reveal()))

    haystack = "\n".join(
        texts + [record.getMessage() for record in caplog.records] + [caplog.text]
    )
    assert "HTTP Request" in haystack  # httpx's own logging was captured
    secrets = {
        "api key": api_key,
        "other api key": other_key,
        "passphrase": PASSPHRASE,
    }
    for index, line in enumerate(
        _secret_lines(plain_pem) + _secret_lines(encrypted_pem)
    ):
        secrets[f"pem line {index}"] = line
    for index, token in enumerate(tokens):
        secrets[f"token {index}"] = token
        secrets[f"signature {index}"] = token.rsplit(".", 1)[1]
    leaked = [name for name, value in secrets.items() if value in haystack]
    assert leaked == []


def test_secrets_never_leak_through_client_and_sandbox(
    nuvera_application: Any,
    rsa_keys: dict[int, rsa.RSAPrivateKey],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """The same search across NuveraClient, the served sandbox and their logs."""
    from nuvera_client import NuveraClient
    from nuvera_client.errors import APIError, AuthenticationError, NotFoundError

    caplog.set_level(logging.DEBUG)
    _trace_into_memory(request)
    for name in ("nuvera_client", "httpx", "httpcore", "uvicorn", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    app = nuvera_application
    tokens: list[str] = []
    texts: list[str] = []

    def capture(outgoing: httpx.Request) -> None:
        tokens.append(outgoing.headers["authorization"].removeprefix("Bearer "))

    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)

    def client(api_key: str, pem: str) -> NuveraClient:
        # Our own httpx.Client sees every Authorization header; we close it.
        http = stack.enter_context(
            httpx.Client(event_hooks={"request": [capture]}, timeout=30)
        )
        return NuveraClient(
            api_key, pem, base_url=app.base_url, max_retries=0, http_client=http
        )

    with client(app.api_key, app.private_key_pem) as nuvera:
        texts.append(repr(nuvera))
        created = nuvera.customers.create(
            type="individual", name="Zoë", email="zoe@example.com"
        )
        texts.append(repr(created))
        assert nuvera.customers.retrieve(created.id).id == created.id
        assert [c.id for c in nuvera.customers.list(limit=5)]
        with pytest.raises(NotFoundError) as missing:
            nuvera.customers.retrieve("cus_" + "0" * 24)
    failures: list[APIError] = [missing.value]
    other_pem = private_key_pem(rsa_keys[3072])
    with client(app.api_key, other_pem) as stranger:
        with pytest.raises(AuthenticationError) as unknown_key:
            stranger.customers.retrieve(created.id)
        failures.append(unknown_key.value)
    unknown_api_key = ApiKey.generate("test").reveal()
    with client(unknown_api_key, app.private_key_pem) as unknown:
        with pytest.raises(AuthenticationError) as refused:
            unknown.customers.retrieve(created.id)
        failures.append(refused.value)
    assert {f.code for f in failures} >= {"not_found", "invalid_api_key"}
    for error in failures:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    # The structured fields of each record (extra=), and every span attribute
    # and event the OpenTelemetry SDK received.
    texts += [repr(sorted(vars(r).items(), key=str)) for r in caplog.records]
    texts += _telemetry_texts(request)
    haystack = "\n".join(
        texts + [r.getMessage() for r in caplog.records] + [caplog.text]
    )
    secrets = {"api key": app.api_key, "unknown api key": unknown_api_key}
    for pem in (app.private_key_pem, other_pem):
        for index, line in enumerate(_secret_lines(pem)):
            secrets[f"pem line {index}"] = line
    assert len(tokens) >= 5
    for index, token in enumerate(tokens):
        secrets[f"token {index}"] = token
        secrets[f"signature {index}"] = token.rsplit(".", 1)[1]
    leaked = [name for name, value in secrets.items() if value in haystack]
    assert leaked == []


def _trace_into_memory(request: pytest.FixtureRequest) -> None:
    """Send this library's spans to an in-memory exporter for the test (otel extra)."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ImportError:  # the SDK is a dev dependency; the leak search still runs
        return
    from nuvera_client import telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure(tracer_provider=provider)
    request.node.stash[_SPANS] = exporter

    def reset() -> None:
        telemetry.configure()
        provider.shutdown()

    request.addfinalizer(reset)


_SPANS: pytest.StashKey[Any] = pytest.StashKey()


def _telemetry_texts(request: pytest.FixtureRequest) -> list[str]:
    exporter = request.node.stash.get(_SPANS, None)
    if exporter is None:
        return []
    spans = exporter.get_finished_spans()
    assert spans, "the client calls were traced"
    return [span.to_json() for span in spans]
