"""Owns RetryPolicy.decide(): what follows an attempt (PROTOCOL §4.1); no sleep."""

from __future__ import annotations

import enum
import json
import math
import secrets
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from nuvera_client._stack import is_transport_error
from nuvera_client.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "MAX_BACKOFF",
    "MAX_CLOCK_OFFSET",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "Action",
    "Decision",
    "RetryPolicy",
    "RetryState",
]

DEFAULT_MAX_RETRIES = 2
BASE_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_CLOCK_OFFSET = 24 * 3600.0
"""The largest clock offset learned from a server (seconds either way)."""
_ALWAYS_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
_SKEW_CODES = frozenset({"token_expired", "token_not_yet_valid"})
_ROTATION_CODES = frozenset(
    {"api_key_revoked", "unknown_signing_key", "invalid_api_key"}
)


class Action(enum.Enum):
    """What the attempt loop does next."""

    DONE = "done"
    """Stop: return the response (success) or raise its error."""
    RETRY = "retry"
    """Wait ``delay`` seconds, then send again (signed afresh)."""
    RESIGN = "resign"
    """Set the learned ``clock_offset``, then send again at once."""
    REFRESH = "refresh"
    """Fetch new credentials from the provider, then send again at once."""


@dataclass(frozen=True)
class Decision:
    """An ``Action`` and its parameters."""

    action: Action
    delay: float = 0.0
    clock_offset: float | None = None
    reason: str = ""


@dataclass
class RetryState:
    """What one logical call has used so far; owned by its attempt loop."""

    retries: int = 0
    resigned: bool = False
    refreshed: bool = False

    def record(self, decision: Decision) -> None:
        """Count ``decision`` against this call's budgets."""
        if decision.action is Action.RETRY:
            self.retries += 1
        elif decision.action is Action.RESIGN:
            self.resigned = True
        elif decision.action is Action.REFRESH:
            self.refreshed = True


def _retry_after(value: str | None, now: float) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into seconds from ``now``."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _error_body(response: httpx.Response, body: bytes | None) -> dict[str, Any]:
    try:
        payload = json.loads(response.content if body is None else body)
    except (ValueError, UnicodeDecodeError, RecursionError, httpx.ResponseNotRead):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


class RetryPolicy:
    """PROTOCOL §4.1 as data: which attempts are retried, after how long.

    Retries connection errors, timeouts, 429, 500, 502, 503 and 504: always for
    GET/HEAD/PUT/PATCH/DELETE, for POST only with an ``Idempotency-Key``. Backoff
    is ``min(8, 0.5 * 2**n)`` seconds with full jitter (``n`` = retries so far),
    or ``Retry-After`` when the server gives one (up to 60 s; longer: no retry).
    Independently of ``max_retries``, a call re-signs once after a clock-skew
    refusal and refreshes credentials once after a rotation signal.

    Args:
        max_retries: transient-failure retries per call (default 2).
    """

    def __init__(self, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError("max_retries must be an int")
        if max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        self.max_retries = max_retries
        self._random = secrets.SystemRandom()

    def backoff(self, retries: int) -> float:
        """Return a full-jitter delay for the retry after ``retries`` retries."""
        cap = min(MAX_BACKOFF, BASE_BACKOFF * (2**retries))
        return self._random.uniform(0.0, cap)

    @staticmethod
    def retryable_method(method: str, *, has_idempotency_key: bool) -> bool:
        """Whether a transient failure of ``method`` may be repeated."""
        upper = method.upper()
        if upper in _ALWAYS_RETRYABLE_METHODS:
            return True
        return upper == "POST" and has_idempotency_key

    def decide(
        self,
        state: RetryState,
        *,
        method: str,
        has_idempotency_key: bool,
        response: httpx.Response | None = None,
        body: bytes | None = None,
        error: Exception | None = None,
        now: float,
        can_refresh: bool = False,
        max_retries: int | None = None,
    ) -> Decision:
        """Choose what follows an attempt.

        Args:
            state: what the call has used so far (not modified here).
            method: the request method.
            has_idempotency_key: whether the request carries an Idempotency-Key.
            response: the response.
            body: its body, read (default: ``response.content``).
            error: the transport exception, when there was no response.
            now: the local Unix time, without any learned offset.
            can_refresh: whether a credential provider can be asked again.
            max_retries: this call's override of the policy's ``max_retries``.
        """
        budget = self.max_retries if max_retries is None else max_retries
        retryable = self.retryable_method(
            method, has_idempotency_key=has_idempotency_key
        )
        if response is None:
            if error is None or not is_transport_error(error):
                return Decision(Action.DONE, reason="not a transport error")
            if retryable and state.retries < budget:
                return Decision(
                    Action.RETRY,
                    delay=self.backoff(state.retries),
                    reason=type(error).__name__,
                )
            return Decision(Action.DONE, reason="transport error, no retry")
        status = response.status_code
        if status == 401:
            error_body = _error_body(response, body)
            code = error_body.get("code")
            if code in _SKEW_CODES and not state.resigned:
                details = error_body.get("details")
                server_time = (
                    details.get("server_time") if isinstance(details, dict) else None
                )
                if server_time is None:
                    server_time = _date_header(response)
                offset = _offset(server_time, now)
                if offset is not None:
                    return Decision(
                        Action.RESIGN, clock_offset=offset, reason=str(code)
                    )
            if code in _ROTATION_CODES and can_refresh and not state.refreshed:
                return Decision(Action.REFRESH, reason=str(code))
            return Decision(Action.DONE, reason=f"401 {code}")
        if status in RETRYABLE_STATUSES and retryable and state.retries < budget:
            wait = _retry_after(response.headers.get("retry-after"), now)
            if wait is None:
                return Decision(
                    Action.RETRY, delay=self.backoff(state.retries), reason=str(status)
                )
            if wait <= MAX_RETRY_AFTER:
                return Decision(
                    Action.RETRY, delay=wait, reason=f"{status} retry-after"
                )
            return Decision(Action.DONE, reason="Retry-After beyond 60 s")
        return Decision(Action.DONE, reason=str(status))

    def __repr__(self) -> str:
        return f"RetryPolicy(max_retries={self.max_retries})"


def _date_header(response: httpx.Response) -> float | None:
    raw = response.headers.get("date")
    if raw is None:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _offset(server_time: object, now: float) -> float | None:
    """The clock offset a server time implies, if usable: finite, within ±24 h.

    Anything else (``Infinity``, ``NaN``, ``1e300``, a string) is ignored, so the
    call ends with the server's 401 and the offset in use stays as it was.
    """
    if isinstance(server_time, bool) or not isinstance(server_time, (int, float)):
        return None
    try:
        offset = float(server_time) - now
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(offset) or abs(offset) > MAX_CLOCK_OFFSET:
        return None
    return offset
