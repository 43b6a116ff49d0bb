"""OpenTelemetry spans, metrics and traceparent, and the per-attempt log record.

Written against public behaviour only (what an application's OpenTelemetry SDK
receives, what the server receives, what the ``nuvera_client`` logger emits), so
that they hold whatever shape the attempt loop takes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from loopback_server import base_url, serve

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import AuthenticationError, ServerError
from nuvera_client.sandbox import Sandbox

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from nuvera_client import telemetry  # noqa: E402

LOCAL = "http://127.0.0.1:8787"
CUSTOMER: dict[str, Any] = {
    "id": "cus_1",
    "object": "customer",
    "type": "individual",
    "name": "Ada",
    "email": "ada@example.com",
    "phone": None,
    "country": None,
    "external_id": None,
    "status": "active",
    "kyc_status": "not_started",
    "metadata": {},
    "created_at": "2026-11-27T21:53:40Z",
    "updated_at": "2026-11-27T21:53:40Z",
}


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[Any]:
        return list(self.spans.get_finished_spans())

    def calls(self) -> list[Any]:
        return [s for s in self.finished() if s.kind is SpanKind.CLIENT]

    def attempts(self, call: Any) -> list[Any]:
        children = [
            s
            for s in self.finished()
            if s.parent is not None and s.parent.span_id == call.context.span_id
        ]
        return sorted(children, key=lambda s: s.attributes["nuvera.attempt"])

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    exporter = InMemorySpanExporter()
    tracer_provider = trace_sdk.TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield Otel(exporter, reader)
    finally:
        telemetry.configure()
        meter_provider.shutdown()
        tracer_provider.shutdown()


@pytest.fixture
def sandbox_app(rsa_key: rsa.RSAPrivateKey) -> Iterator[tuple[Sandbox, str]]:
    with Sandbox() as sandbox:
        created = sandbox.create_application(
            name="otel",
            permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
            public_key_pem=keys.public_key_pem(rsa_key),
        )
        yield sandbox, created.api_key


def _scripted(*responses: httpx.Response) -> httpx.MockTransport:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0)

    return httpx.MockTransport(handler)


def _error(status: int, code: str, **headers: str) -> httpx.Response:
    body = {
        "error": {
            "type": "api_error",
            "code": code,
            "message": code,
            "request_id": "req_err",
            "details": {},
        }
    }
    return httpx.Response(
        status, json=body, headers={"x-request-id": "req_err", **headers}
    )


def test_sync_call_span_follows_http_conventions(
    otel: Otel, sandbox_app: tuple[Sandbox, str], rsa_key: rsa.RSAPrivateKey
) -> None:
    sandbox, api_key = sandbox_app
    with (
        httpx.Client(transport=sandbox.transport()) as http,
        NuveraClient(api_key, rsa_key, base_url=LOCAL, http_client=http) as client,
    ):
        created = client.customers.create(
            type="individual", name="Ada", email="ada@example.com"
        )
        list(client.customers.list(email="ada@example.com", limit=5))
    create, listing = otel.calls()
    assert create.name == "customers.create"
    attributes = dict(create.attributes)
    key = attributes.pop("nuvera.idempotency_key")
    assert 1 <= len(key) <= 255
    request_id = attributes.pop("nuvera.request_id")
    assert request_id.startswith("req_")
    assert attributes == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": 8787,
        "url.full": "http://127.0.0.1:8787/v1/customers",
        "url.template": "/v1/customers",
        "nuvera.operation": "customers.create",
        "nuvera.permission": "CUSTOMERS_WRITE",
        "nuvera.attempts": 1,
        "http.response.status_code": 201,
    }
    assert create.status.status_code is StatusCode.UNSET
    (attempt,) = otel.attempts(create)
    assert attempt.name == "customers.create attempt"
    assert attempt.attributes["nuvera.request_id"] == request_id
    assert attempt.attributes["http.response.status_code"] == 201
    # Query values never become attributes (an email is personal data).
    assert listing.name == "customers.list"
    assert listing.attributes["url.full"] == (
        "http://127.0.0.1:8787/v1/customers?email=REDACTED&limit=REDACTED"
    )
    assert "nuvera.idempotency_key" not in listing.attributes
    everything = json.dumps([dict(s.attributes) for s in otel.finished()])
    assert created.email not in everything


def test_refused_call_records_the_error(
    otel: Otel, sandbox_app: tuple[Sandbox, str]
) -> None:
    sandbox, api_key = sandbox_app
    stranger = keys.generate_private_key(2048)  # not registered: refused
    with (
        httpx.Client(transport=sandbox.transport()) as http,
        NuveraClient(api_key, stranger, base_url=LOCAL, http_client=http) as client,
        pytest.raises(AuthenticationError),
    ):
        client.customers.retrieve("cus_" + "0" * 24)
    (call,) = otel.calls()
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes["error.type"] == "AuthenticationError"
    assert call.attributes["http.response.status_code"] == 401
    assert call.attributes["nuvera.permission"] == "CUSTOMERS_READ"
    attempts = otel.attempts(call)
    assert attempts[0].attributes["error.type"] == "unknown_signing_key"
    assert call.attributes["nuvera.attempts"] == len(attempts)
    outcomes = {p.attributes["outcome"] for p in otel.points("nuvera.client.attempts")}
    assert "unknown_signing_key" in outcomes
    (duration,) = otel.points("nuvera.client.call.duration")
    assert duration.attributes == {
        "nuvera.operation": "customers.retrieve",
        "outcome": "AuthenticationError",
    }
    assert duration.count == 1


def test_retried_call_has_an_event_and_a_span_per_attempt(
    otel: Otel, rsa_key: rsa.RSAPrivateKey
) -> None:
    transport = _scripted(
        _error(503, "unavailable", **{"Retry-After": "0"}),
        httpx.Response(200, json=CUSTOMER, headers={"x-request-id": "req_ok"}),
    )
    api_key = ApiKey.generate("test")
    with (
        httpx.Client(transport=transport) as http,
        NuveraClient(api_key, rsa_key, base_url=LOCAL, http_client=http) as client,
    ):
        client.customers.retrieve("cus_1")
    (call,) = otel.calls()
    assert call.attributes["nuvera.attempts"] == 2
    assert call.attributes["nuvera.request_id"] == "req_ok"
    assert call.status.status_code is StatusCode.UNSET
    first, second = otel.attempts(call)
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "unavailable"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["http.request.resend_count"] == 1
    (event,) = call.events
    assert event.name == "nuvera.retry_scheduled"
    assert event.attributes["nuvera.retry.delay_s"] == 0.0
    assert event.attributes["nuvera.attempt"] == 1
    counts = {
        p.attributes["outcome"]: p.value for p in otel.points("nuvera.client.attempts")
    }
    assert counts == {"unavailable": 1, "success": 1}


def test_clock_skew_recovery_is_an_event(
    otel: Otel, rsa_key: rsa.RSAPrivateKey
) -> None:
    skewed = _error(401, "token_not_yet_valid")
    body = json.loads(skewed.content)
    body["error"]["details"] = {"server_time": int(time.time()) - 3600}
    transport = _scripted(
        httpx.Response(401, json=body, headers={"x-request-id": "req_skew"}),
        httpx.Response(200, json=CUSTOMER, headers={"x-request-id": "req_ok"}),
    )
    with (
        httpx.Client(transport=transport) as http,
        NuveraClient(
            ApiKey.generate("test"), rsa_key, base_url=LOCAL, http_client=http
        ) as client,
    ):
        client.customers.retrieve("cus_1")
    (call,) = otel.calls()
    (event,) = call.events
    assert event.name == "nuvera.clock_skew_recovered"
    assert -3700 < event.attributes["nuvera.clock_offset_s"] < -3500


def test_transport_failure_and_opt_out_of_the_idempotency_key(
    otel: Otel, rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(telemetry.ENV_RECORD_IDEMPOTENCY_KEY, "false")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as http,
        NuveraClient(
            ApiKey.generate("test"),
            rsa_key,
            base_url=LOCAL,
            http_client=http,
            max_retries=0,
        ) as client,
        pytest.raises(Exception, match="no response"),
    ):
        client.customers.create(type="individual", name="A", email="a@example.com")
    (call,) = otel.calls()
    assert "nuvera.idempotency_key" not in call.attributes
    assert call.attributes["error.type"] == "APIConnectionError"
    (attempt,) = otel.attempts(call)
    assert attempt.attributes["error.type"] == "ConnectError"


@pytest.mark.anyio
async def test_async_calls_propagate_traceparent_on_the_wire(
    otel: Otel, rsa_key: rsa.RSAPrivateKey
) -> None:
    api_key = ApiKey.generate("test")
    # The client makes its own AsyncClient (the fast path, when not tracing).
    with serve(rsa_key.public_key(), api_key.reveal()) as server:
        async with AsyncNuveraClient(
            api_key, rsa_key, base_url=base_url(server)
        ) as client:
            await client.documents.download("doc_1")
            await client.documents.download("doc_2")
    assert [seen.code for seen in server.seen] == ["ok", "ok"]  # still verified
    calls = otel.calls()
    assert [c.name for c in calls] == ["documents.download"] * 2
    for seen, call in zip(server.seen, calls, strict=True):
        (attempt,) = otel.attempts(call)
        context = attempt.context
        version, trace_id, span_id, flags = seen.headers["traceparent"].split("-")
        assert (version, trace_id, span_id) == (
            "00",
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
        )
        assert int(flags, 16) & 1  # sampled
        assert attempt.attributes["nuvera.request_id"] == "req_test"


def test_sync_traceparent_is_sent_but_not_signed(
    otel: Otel, rsa_key: rsa.RSAPrivateKey
) -> None:
    api_key = ApiKey.generate("test")
    with (
        serve(rsa_key.public_key(), api_key.reveal()) as server,
        NuveraClient(api_key, rsa_key, base_url=base_url(server)) as client,
    ):
        client.documents.download("doc_1")
    (seen,) = server.seen
    assert seen.code == "ok"
    assert seen.headers["traceparent"].startswith("00-")
    assert "traceparent" not in json.dumps(seen.claims)


@pytest.mark.anyio
async def test_async_refused_and_retried(
    otel: Otel, rsa_key: rsa.RSAPrivateKey
) -> None:
    transport = _scripted(
        _error(503, "unavailable", **{"Retry-After": "0"}),
        _error(503, "unavailable", **{"Retry-After": "0"}),
    )
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncNuveraClient(
            ApiKey.generate("test"),
            rsa_key,
            base_url=LOCAL,
            http_client=http,
            max_retries=1,
        ) as client,
    ):
        with pytest.raises(ServerError):
            await client.customers.retrieve("cus_1")
    (call,) = otel.calls()
    assert call.attributes["nuvera.attempts"] == 2
    assert call.attributes["error.type"] == "ServerError"
    assert call.status.status_code is StatusCode.ERROR
    assert [e.name for e in call.events] == ["nuvera.retry_scheduled"]
    assert len(otel.attempts(call)) == 2


def test_attempt_log_records_carry_structured_fields(
    rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    page = {"data": [CUSTOMER], "has_more": False, "next_cursor": None}
    transport = _scripted(
        _error(503, "unavailable", **{"Retry-After": "0"}),
        httpx.Response(200, json=page, headers={"x-request-id": "req_ok"}),
    )
    api_key = ApiKey.generate("test")
    with (
        caplog.at_level(logging.DEBUG, logger="nuvera_client"),
        httpx.Client(transport=transport) as http,
        NuveraClient(api_key, rsa_key, base_url=LOCAL, http_client=http) as client,
    ):
        list(client.customers.list(email="ada@example.com", limit=1))
    records = [r for r in caplog.records if hasattr(r, "duration_ms")]
    assert len(records) == 2
    fields = [
        {
            name: getattr(r, name)
            for name in (
                "operation",
                "method",
                "target",
                "status",
                "request_id",
                "attempt",
                "error_code",
            )
        }
        for r in records
    ]
    target = "/v1/customers?email=REDACTED&limit=REDACTED"
    assert fields == [
        {
            "operation": "customers.list",
            "method": "GET",
            "target": target,
            "status": 503,
            "request_id": "req_err",
            "attempt": 1,
            "error_code": "unavailable",
        },
        {
            "operation": "customers.list",
            "method": "GET",
            "target": target,
            "status": 200,
            "request_id": "req_ok",
            "attempt": 2,
            "error_code": None,
        },
    ]
    assert all(r.duration_ms >= 0 for r in records)
    assert "ada@example.com" not in caplog.text


def test_operation_names_cover_every_endpoint() -> None:
    from nuvera_client._permissions import ENDPOINTS

    assert {(m, t) for m, t, _ in ENDPOINTS} == set(telemetry.OPERATIONS)
    assert len(set(telemetry.OPERATIONS.values())) == len(telemetry.OPERATIONS)


def _customer_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CUSTOMER)

    return httpx.MockTransport(handler)


def test_without_an_sdk_a_call_does_no_span_work(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import trace

    from nuvera_client._resource import Call
    from nuvera_client._telemetry import CallWatch, watch_call

    telemetry.configure()  # the API's global (proxy) providers, no SDK behind them
    assert type(trace.get_tracer_provider()).__module__ == "opentelemetry.trace"
    monkeypatch.setattr(logging.getLogger("nuvera_client"), "level", logging.INFO)
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_customer_transport(seen))
    with NuveraClient(
        ApiKey.generate("test"), rsa_key, base_url=LOCAL, http_client=http
    ) as client:
        client.customers.retrieve("cus_1")
    assert "traceparent" not in seen[0].headers
    probe = Call[Any]("GET", "/v1/customers/{id}", {"id": "cus_1"})
    watch = watch_call(probe, httpx.URL(LOCAL), None)
    assert type(watch) is CallWatch  # the shared no-op: no span was started


def test_without_an_sdk_an_incoming_trace_context_still_propagates(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    from opentelemetry import context, trace

    telemetry.configure()
    parent = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_customer_transport(seen))
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(parent)))
    try:
        with NuveraClient(
            ApiKey.generate("test"), rsa_key, base_url=LOCAL, http_client=http
        ) as client:
            client.customers.retrieve("cus_1")
    finally:
        context.detach(token)
    assert seen[0].headers["traceparent"] == (
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    )
