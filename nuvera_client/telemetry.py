"""Tracing, metrics and logs of API calls (OpenTelemetry with the ``otel`` extra).

With ``opentelemetry-api`` installed (``pip install "nuvera-client[otel]"``), every
call of [`NuveraClient`][nuvera_client.NuveraClient] and
[`AsyncNuveraClient`][nuvera_client.AsyncNuveraClient] is traced and measured through
the global tracer and meter providers that your application configures with the
OpenTelemetry SDK; this library never configures a provider or an exporter:

- a ``CLIENT`` span per logical call, named after the operation
  (``payments.create``; see [`OPERATIONS`][nuvera_client.telemetry.OPERATIONS]), with
  the HTTP client semantic conventions (``http.request.method``, ``server.address``,
  ``server.port``, ``url.full`` with query values replaced by ``REDACTED``,
  ``url.template``, ``http.response.status_code``, ``error.type`` = the exception class)
  and ``nuvera.operation``, ``nuvera.permission``, ``nuvera.request_id``,
  ``nuvera.idempotency_key`` (POST; see ``record_idempotency_key``),
  ``nuvera.attempts``;
- a child span per attempt (``payments.create attempt``: ``nuvera.attempt``,
  ``http.request.resend_count``, status, request id, ``error.type`` = the error
  ``code`` or the transport exception class);
- span events ``nuvera.retry_scheduled`` (``nuvera.retry.delay_s``,
  ``nuvera.retry.reason``), ``nuvera.clock_skew_recovered``
  (``nuvera.clock_offset_s``) and ``nuvera.credentials_refreshed``;
- metrics ``DURATION_METRIC`` (histogram, seconds) and ``ATTEMPTS_METRIC``
  (counter), both with ``nuvera.operation`` and ``outcome`` (``success``, else
  the error class for calls and the error code for attempts);
- the W3C ``traceparent`` (the global propagator's headers) on every attempt.
  It is **not signed**: the token covers method, target and body only
  (PROTOCOL §2.1), so a proxy may change it without breaking the signature.

Each attempt is also logged on the ``nuvera_client`` logger at DEBUG, with
``extra=`` fields ``operation``, ``method``, ``target``, ``status``,
``request_id``, ``attempt``, ``duration_ms`` and ``error_code``. No API key,
token, PIN, body or query value is ever an attribute or a log field.

Without the extra, nothing here imports opentelemetry, and calls cost nothing
more. See the guide "Running in production".
"""

from __future__ import annotations

from nuvera_client._telemetry import (
    ATTEMPTS_METRIC,
    DURATION_METRIC,
    ENV_RECORD_IDEMPOTENCY_KEY,
    OPERATIONS,
    configure,
)

__all__ = [
    "ATTEMPTS_METRIC",
    "DURATION_METRIC",
    "ENV_RECORD_IDEMPOTENCY_KEY",
    "OPERATIONS",
    "configure",
]
