"""Owns client telemetry: OpenTelemetry spans and metrics, a log record per attempt.

The attempt loop reports what happens to one logical call to a ``CallWatch``
made by ``watch_call()``: call started, attempt started / ended, the decision
after an attempt (a retry scheduled, a clock skew recovered, credentials
refreshed), call ended. From these it makes

- a log record per attempt on the ``nuvera_client`` logger (DEBUG), with
  ``extra=`` fields that JSON formatters pick up: ``operation``, ``method``,
  ``target`` (query values replaced by ``REDACTED``), ``status``, ``request_id``,
  ``attempt``, ``duration_ms``, ``error_code``;
- with the ``otel`` extra (``opentelemetry-api``) installed: a CLIENT span per call
  named after the operation (``payments.create``), a child span per attempt,
  retries and clock-skew recovery as span events, a call-duration histogram and an
  attempt counter, and the W3C ``traceparent`` on each outgoing request.

The SDK never configures a tracer or meter provider or an exporter. Without the
application's OpenTelemetry SDK set-up (and no current span to propagate), a call
skips the span and metric work altogether. Without the extra, opentelemetry is
never imported. Unless the logger is enabled for DEBUG, such a call gets a shared
no-op watch.

No secret, token, body or query value ever becomes an attribute or a log field.
"""

from __future__ import annotations

import json
import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import httpx

from nuvera_client._environment import read_variable
from nuvera_client._pipeline import Observer
from nuvera_client._retry import Action, Decision
from nuvera_client._version import __version__

if TYPE_CHECKING:
    from nuvera_client._resource import Call

__all__ = [
    "ATTEMPTS_METRIC",
    "DURATION_METRIC",
    "ENV_RECORD_IDEMPOTENCY_KEY",
    "OPERATIONS",
    "CallWatch",
    "configure",
    "operation_name",
    "redacted_target",
    "watch_call",
]

logger = logging.getLogger("nuvera_client")

ENV_RECORD_IDEMPOTENCY_KEY: Final = "NUVERA_OTEL_IDEMPOTENCY_KEY"
"""Set to ``false`` (``0``, ``no``, ``off``) to leave ``nuvera.idempotency_key`` out."""
DURATION_METRIC: Final = "nuvera.client.call.duration"
ATTEMPTS_METRIC: Final = "nuvera.client.attempts"
REDACTED: Final = "REDACTED"
_ERROR_BODY_LIMIT = 64 * 1024  # parse at most this much of an error body for its code

OPERATIONS: Final[dict[tuple[str, str], str]] = {
    ("GET", "/v1/customers"): "customers.list",
    ("POST", "/v1/customers"): "customers.create",
    ("GET", "/v1/customers/{id}"): "customers.retrieve",
    ("PATCH", "/v1/customers/{id}"): "customers.update",
    ("GET", "/v1/beneficiaries"): "beneficiaries.list",
    ("POST", "/v1/beneficiaries"): "beneficiaries.create",
    ("GET", "/v1/beneficiaries/{id}"): "beneficiaries.retrieve",
    ("PATCH", "/v1/beneficiaries/{id}"): "beneficiaries.update",
    ("DELETE", "/v1/beneficiaries/{id}"): "beneficiaries.delete",
    ("GET", "/v1/documents"): "documents.list",
    ("POST", "/v1/documents"): "documents.upload",
    ("GET", "/v1/documents/{id}"): "documents.retrieve",
    ("GET", "/v1/documents/{id}/content"): "documents.download",
    ("GET", "/v1/crypto/assets"): "crypto.assets.list",
    ("GET", "/v1/crypto/assets/{code}"): "crypto.assets.retrieve",
    ("GET", "/v1/crypto/networks"): "crypto.networks.list",
    ("GET", "/v1/payments"): "payments.list",
    ("POST", "/v1/payments"): "payments.create",
    ("GET", "/v1/payments/{id}"): "payments.retrieve",
    ("POST", "/v1/payments/{id}/cancel"): "payments.cancel",
    ("GET", "/v1/screening/results"): "screening.results.list",
    ("GET", "/v1/screening/results/{id}"): "screening.results.retrieve",
    ("GET", "/v1/support/tickets"): "support.tickets.list",
    ("POST", "/v1/support/tickets"): "support.tickets.create",
    ("GET", "/v1/support/tickets/{id}"): "support.tickets.retrieve",
    ("POST", "/v1/support/tickets/{id}/close"): "support.tickets.close",
    ("GET", "/v1/support/tickets/{id}/messages"): "support.tickets.messages.list",
    ("POST", "/v1/support/tickets/{id}/messages"): "support.tickets.messages.create",
}
"""``(method, path template)`` -> the operation name: the client's attribute path."""


def operation_name(method: str, template: str) -> str:
    """Return the operation name of an endpoint (``payments.create``)."""
    return OPERATIONS.get((method, template)) or f"{method} {template}"


def redacted_target(path: str, query: Any) -> str:
    """Return ``path?name=REDACTED&...``: query names kept, values never shown."""
    if not query:
        return path
    names = "&".join(f"{quote(str(name), safe='')}={REDACTED}" for name, _ in query)
    return f"{path}?{names}"


# -- OpenTelemetry, imported once and only if installed ---------------------------


class _Otel:
    """The opentelemetry API modules and this library's instruments."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, propagate, trace

        self.trace = trace
        self.metrics = metrics
        self.propagate = propagate
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._checked: tuple[Any, Any] | None = None
        self._api_only = False
        self.tracer = trace.get_tracer(
            "nuvera_client", __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(
            "nuvera_client", __version__, meter_provider=meter_provider
        )
        self.duration = meter.create_histogram(
            DURATION_METRIC,
            unit="s",
            description="Duration of logical Nuvera API calls, retries included.",
        )
        self.attempts = meter.create_counter(
            ATTEMPTS_METRIC,
            unit="{attempt}",
            description="HTTP attempts made by Nuvera API calls.",
        )

    def idle(self) -> bool:
        """Whether a call's spans and metrics would all be no-ops: skip them.

        True when neither provider comes from an OpenTelemetry SDK (the API's
        proxy and no-op providers live in the API package itself) and no valid
        span is current (whose context the API would still propagate). Rechecked
        on every call: an application may install its providers at any time.
        """
        providers = (
            self._tracer_provider or self.trace.get_tracer_provider(),
            self._meter_provider or self.metrics.get_meter_provider(),
        )
        if providers != self._checked:
            self._api_only = all(map(_from_api, providers))
            self._checked = providers
        return (
            self._api_only
            and not self.trace.get_current_span().get_span_context().is_valid
        )


def _from_api(provider: Any) -> bool:
    # The SDK's providers live in opentelemetry.sdk.*, vendors' elsewhere.
    module = type(provider).__module__
    return module.startswith(("opentelemetry.trace", "opentelemetry.metrics"))


_OTEL: _Otel | None = None
_OTEL_LOADED = False


def _otel() -> _Otel | None:
    global _OTEL, _OTEL_LOADED
    if not _OTEL_LOADED:
        try:
            _OTEL = _Otel()
        except ImportError:  # the otel extra is not installed
            _OTEL = None
        _OTEL_LOADED = True
    return _OTEL


_RECORD_KEY: bool | None = None


def configure(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    record_idempotency_key: bool | None = None,
) -> None:
    """Choose where this library's spans and metrics go, for all clients.

    By default they go to OpenTelemetry's global providers (what
    ``trace.set_tracer_provider`` / ``metrics.set_meter_provider`` set). Call
    ``configure()`` without arguments to return to that.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider`` for our spans.
        meter_provider: an OpenTelemetry ``MeterProvider`` for our metrics.
        record_idempotency_key: whether call spans carry
            ``nuvera.idempotency_key`` (default: yes, unless the environment
            variable ``NUVERA_OTEL_IDEMPOTENCY_KEY`` is ``false``).

    Raises:
        ConfigurationError: a provider was given but ``opentelemetry-api`` is not
            installed.
    """
    global _OTEL, _OTEL_LOADED, _RECORD_KEY
    try:
        _OTEL = _Otel(tracer_provider, meter_provider)
    except ImportError:
        if tracer_provider is not None or meter_provider is not None:
            from nuvera_client.errors import ConfigurationError

            raise ConfigurationError(
                "tracing needs opentelemetry-api: pip install 'nuvera-client[otel]'"
            ) from None
        _OTEL = None
    _OTEL_LOADED = True
    _RECORD_KEY = record_idempotency_key


def _record_idempotency_key() -> bool:
    if _RECORD_KEY is not None:
        return _RECORD_KEY
    value = read_variable(ENV_RECORD_IDEMPOTENCY_KEY) or ""
    return value.strip().lower() not in ("0", "false", "no", "off")


# -- watches ------------------------------------------------------------------------


class CallWatch:
    """Observes one logical call; this base class does nothing (the no-op watch).

    Used as a context manager around the attempt loop: leaving it ends the call,
    successful unless an exception escapes.
    """

    __slots__ = ()

    propagates = False
    """Whether ``inject()`` adds headers (the async fast path cannot carry them)."""

    def attempt(self, number: int) -> None:
        """Attempt ``number`` (1-based) starts."""

    def inject(self, headers: httpx.Headers) -> None:
        """Add the trace context (``traceparent``) to the attempt's request headers."""

    def ended(
        self,
        *,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
        body: bytes | None = None,
    ) -> None:
        """The attempt got ``response`` (any status; ``body`` as read) or ``error``."""

    def decided(self, decision: Decision) -> None:
        """What follows the attempt: a retry, a re-sign after clock skew, a refresh."""

    def finish(self, error: BaseException | None) -> None:
        """The call ends: successful when ``error`` is None (later calls: ignored)."""

    def __enter__(self) -> CallWatch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish(error)


_NOOP = CallWatch()


class _Watch(CallWatch):
    """Logs each attempt and, with OpenTelemetry, traces and measures the call."""

    __slots__ = (
        "_attempt",
        "_attempt_span",
        "_attempt_started",
        "_call",
        "_call_span",
        "_context",
        "_last_status",
        "_request_id",
        "_started",
        "_url",
        "operation",
        "otel",
        "propagates",
    )

    def __init__(
        self, otel: _Otel | None, call: Call[Any], base_url: httpx.URL, key: str | None
    ) -> None:
        self.otel = otel
        self._call = call
        self.operation = operation_name(call.method, call.template)
        self._started = time.perf_counter()
        self._attempt = 0
        self._attempt_started = self._started
        self._attempt_span: Any = None
        self._call_span: Any = None
        self._context: Any = None
        self._last_status: int | None = None
        self._request_id: str | None = None
        self._url = ""
        self.propagates = False
        if otel is None:
            return
        self._url = str(base_url).rstrip("/") + redacted_target(call.path, call.query)
        attributes: dict[str, Any] = {
            "http.request.method": call.method,
            "server.address": base_url.host,
            "url.full": self._url,
            "url.template": call.template,
            "nuvera.operation": self.operation,
            "nuvera.permission": call.permission.value,
        }
        if base_url.port is not None:
            attributes["server.port"] = base_url.port
        if key is not None and _record_idempotency_key():
            attributes["nuvera.idempotency_key"] = key
        span = otel.tracer.start_span(
            self.operation, kind=otel.trace.SpanKind.CLIENT, attributes=attributes
        )
        self._call_span = span
        self._context = otel.trace.set_span_in_context(span)
        self.propagates = span.get_span_context().is_valid

    def attempt(self, number: int) -> None:
        self._attempt = number
        self._attempt_started = time.perf_counter()
        otel = self.otel
        if otel is None:
            return
        attributes: dict[str, Any] = {
            "http.request.method": self._call.method,
            "url.full": self._url,
            "nuvera.attempt": number,
        }
        if number > 1:
            attributes["http.request.resend_count"] = number - 1
        self._attempt_span = otel.tracer.start_span(
            f"{self.operation} attempt",
            context=self._context,
            kind=otel.trace.SpanKind.INTERNAL,
            attributes=attributes,
        )

    def inject(self, headers: httpx.Headers) -> None:
        otel, span = self.otel, self._attempt_span
        if otel is None or span is None:
            return
        carrier: dict[str, str] = {}
        otel.propagate.inject(carrier, context=otel.trace.set_span_in_context(span))
        for name, value in carrier.items():
            headers[name] = value

    def ended(
        self,
        *,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
        body: bytes | None = None,
    ) -> None:
        duration = time.perf_counter() - self._attempt_started
        status = request_id = code = None
        if response is not None:
            status = response.status_code
            request_id = response.headers.get("x-request-id")
            if not response.is_success:
                code = _error_code(response, body)
            self._last_status, self._request_id = status, request_id
        elif error is not None:
            code = type(error).__name__
        if logger.isEnabledFor(logging.DEBUG):
            self._log(status, request_id, code, duration)
        otel = self.otel
        if otel is None:
            return
        outcome = "success" if code is None else code
        otel.attempts.add(1, {"nuvera.operation": self.operation, "outcome": outcome})
        span, self._attempt_span = self._attempt_span, None
        if span is None:
            return
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if request_id is not None:
            span.set_attribute("nuvera.request_id", request_id)
        if code is not None:
            span.set_attribute("error.type", code)
            span.set_status(otel.trace.StatusCode.ERROR)
        span.end()

    def _log(
        self, status: int | None, request_id: str | None, code: str | None, took: float
    ) -> None:
        call = self._call
        outcome = status if status is not None else code
        logger.debug(
            "%s %s -> %s request_id=%s attempt=%d",
            call.method,
            call.path,
            outcome,
            request_id,
            self._attempt,
            extra={
                "operation": self.operation,
                "method": call.method,
                "target": redacted_target(call.path, call.query),
                "status": status,
                "request_id": request_id,
                "attempt": self._attempt,
                "duration_ms": round(took * 1000, 3),
                "error_code": code,
            },
        )

    def decided(self, decision: Decision) -> None:
        span = self._call_span
        if span is None:
            return
        if decision.action is Action.RETRY:
            span.add_event(
                "nuvera.retry_scheduled",
                {
                    "nuvera.retry.delay_s": decision.delay,
                    "nuvera.retry.reason": decision.reason,
                    "nuvera.attempt": self._attempt,
                },
            )
        elif decision.action is Action.RESIGN and decision.clock_offset is not None:
            span.add_event(
                "nuvera.clock_skew_recovered",
                {"nuvera.clock_offset_s": decision.clock_offset},
            )
        elif decision.action is Action.REFRESH:
            span.add_event("nuvera.credentials_refreshed")

    def finish(self, error: BaseException | None) -> None:
        otel, span = self.otel, self._call_span
        if otel is None or span is None:
            return
        self._call_span = None  # ended once, whichever hook comes first
        if self._attempt_span is not None:  # an attempt ended by an exception
            self.ended(error=error)
        error_type = None if error is None else type(error).__name__
        outcome = "success" if error_type is None else error_type
        otel.duration.record(
            time.perf_counter() - self._started,
            {"nuvera.operation": self.operation, "outcome": outcome},
        )
        span.set_attribute("nuvera.attempts", self._attempt)
        if self._last_status is not None:
            span.set_attribute("http.response.status_code", self._last_status)
        if self._request_id is not None:
            span.set_attribute("nuvera.request_id", self._request_id)
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(otel.trace.StatusCode.ERROR, _description(error))
        span.end()


def _error_code(response: httpx.Response, body: bytes | None) -> str:
    """Return the error ``code`` of an error body, else ``http_<status>``."""
    code = None
    if body is not None:
        try:
            code = json.loads(body[:_ERROR_BODY_LIMIT])["error"]["code"]
        except (ValueError, KeyError, TypeError, RecursionError):
            code = None
    if isinstance(code, str) and code.isascii() and 0 < len(code) <= 64:
        return code
    return f"http_{response.status_code}"


def _description(error: BaseException | None) -> str | None:
    # Our errors never hold a secret (errors.py); anything else keeps its class only.
    from nuvera_client.errors import NuveraError

    if isinstance(error, NuveraError):
        return str(error)[:500]
    return None


def watch_call(call: Call[Any], base_url: httpx.URL, key: str | None) -> CallWatch:
    """Start watching ``call`` (after its Idempotency-Key is chosen).

    Returns the shared no-op watch when OpenTelemetry is not installed, or has no
    SDK configured and no current span, and the ``nuvera_client`` logger is not
    enabled for DEBUG.
    """
    otel = _otel()
    if otel is not None and otel.idle():
        otel = None  # no SDK configured: spans and metrics would go nowhere
    if otel is None and not logger.isEnabledFor(logging.DEBUG):
        return _NOOP
    return _Watch(otel, call, base_url, key)


class TelemetryObserver(Observer):
    """The client's observer: a ``CallWatch`` per logical call.

    Logs one DEBUG record per attempt with structured ``extra=`` fields and, when
    OpenTelemetry is installed, traces and measures each call. Calls are told apart
    by their ``Call`` object, which every method call makes afresh.
    """

    def __init__(self, base_url: httpx.URL) -> None:
        self._base_url = base_url
        self._watches: dict[int, CallWatch] = {}

    def call_started(self, call: Call[Any], idempotency_key: str | None) -> None:
        watch = watch_call(call, self._base_url, idempotency_key)
        if watch is not _NOOP:
            self._watches[id(call)] = watch

    def attempt_started(
        self, call: Call[Any], attempt: int, request: httpx.Request
    ) -> None:
        watch = self._watches.get(id(call))
        if watch is not None:
            watch.attempt(attempt)
            watch.inject(request.headers)

    def attempt_finished(
        self,
        call: Call[Any],
        attempt: int,
        *,
        response: httpx.Response | None,
        error: Exception | None,
        seconds: float,
        body: bytes | None = None,
    ) -> None:
        watch = self._watches.get(id(call))
        if watch is not None:
            watch.ended(response=response, error=error, body=body)

    def decided(self, call: Call[Any], attempt: int, decision: Decision) -> None:
        watch = self._watches.get(id(call))
        if watch is not None:
            watch.decided(decision)

    def call_finished(
        self, call: Call[Any], *, attempts: int, error: BaseException | None
    ) -> None:
        watch = self._watches.pop(id(call), None)
        if watch is not None:
            watch.finish(error)
