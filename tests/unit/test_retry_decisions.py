"""Every ``RetryPolicy.decide()`` outcome in full: action, delay, offset and reason.

``Decision.reason`` is public (it names why a call stopped, for logs and the
client's errors), so each path's reason is pinned, with the body and header
shapes a server may send by mistake (issue 17: mutation testing of ``_retry.py``).
"""

from __future__ import annotations

import json

import httpx
import pytest

from nuvera_client._retry import (
    MAX_CLOCK_OFFSET,
    Action,
    Decision,
    RetryPolicy,
    RetryState,
)
from nuvera_client.errors import ConfigurationError

NOW = 1_767_225_600.0


class _FixedBackoff(RetryPolicy):
    def backoff(self, retries: int) -> float:
        return 1.25 + retries


def _decide(
    response: httpx.Response | None = None,
    *,
    error: Exception | None = None,
    state: RetryState | None = None,
    method: str = "GET",
    **kwargs: object,
) -> Decision:
    return _FixedBackoff().decide(
        state or RetryState(),
        method=method,
        has_idempotency_key=False,
        response=response,
        error=error,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def _response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


def _skew(details: object, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": "token_expired", "details": details}}
    return _response(401, body, headers)


def test_max_retries_messages() -> None:
    with pytest.raises(TypeError, match=r"^max_retries must be an int$"):
        RetryPolicy(max_retries=1.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^max_retries must be >= 0$"):
        RetryPolicy(max_retries=-1)


def test_not_a_transport_error() -> None:
    assert _decide(error=ValueError("x")) == Decision(
        Action.DONE, reason="not a transport error"
    )
    assert _decide() == Decision(Action.DONE, reason="not a transport error")


def test_transport_error_retried_with_backoff_then_final() -> None:
    error = httpx.ConnectError("reset")
    assert _decide(error=error, state=RetryState(retries=1)) == Decision(
        Action.RETRY, delay=2.25, reason="ConnectError"
    )
    assert _decide(error=error, state=RetryState(retries=2)) == Decision(
        Action.DONE, reason="transport error, no retry"
    )
    assert _decide(error=error, method="POST") == Decision(
        Action.DONE, reason="transport error, no retry"
    )


def test_retryable_status_without_retry_after_uses_backoff() -> None:
    assert _decide(_response(503), state=RetryState(retries=1)) == Decision(
        Action.RETRY, delay=2.25, reason="503"
    )


def test_retry_after_beyond_60_seconds_is_final() -> None:
    assert _decide(_response(429, headers={"Retry-After": "61"})) == Decision(
        Action.DONE, reason="Retry-After beyond 60 s"
    )


@pytest.mark.parametrize("status", [200, 400, 404, 409, 501])
def test_other_statuses_are_final_with_their_status(status: int) -> None:
    assert _decide(_response(status)) == Decision(Action.DONE, reason=str(status))


def test_retryable_status_out_of_budget_names_the_status() -> None:
    assert _decide(_response(503), state=RetryState(retries=2)) == Decision(
        Action.DONE, reason="503"
    )


def test_skew_resigns_with_the_code_as_reason() -> None:
    decision = _decide(_skew({"server_time": int(NOW) + 90}))
    assert decision == Decision(
        Action.RESIGN, clock_offset=90.0, reason="token_expired"
    )


@pytest.mark.parametrize("code", ["api_key_revoked", "unknown_signing_key"])
def test_rotation_refreshes_with_the_code_as_reason(code: str) -> None:
    response = _response(401, {"error": {"code": code}})
    assert _decide(response, can_refresh=True) == Decision(Action.REFRESH, reason=code)


def test_other_401_names_its_code() -> None:
    response = _response(401, {"error": {"code": "invalid_signature"}})
    assert _decide(response) == Decision(Action.DONE, reason="401 invalid_signature")


@pytest.mark.parametrize(
    "body", [[1, 2], {"error": "token_expired"}, {"error": None}, "x", None]
)
def test_401_bodies_of_another_shape_are_final(body: object) -> None:
    assert _decide(_response(401, body)) == Decision(Action.DONE, reason="401 None")


def test_the_body_given_is_read_not_the_response() -> None:
    # A streamed response: its body was read by the caller and passed in.
    body = json.dumps({"error": {"code": "token_not_yet_valid"}}).encode()
    response = _response(401, headers={"Date": "Thu, 01 Jan 2026 00:01:00 GMT"})
    decision = _decide(response, body=body)
    assert decision == Decision(
        Action.RESIGN, clock_offset=60.0, reason="token_not_yet_valid"
    )


@pytest.mark.parametrize("details", [[1], "server_time", None, 5])
def test_skew_details_of_another_shape_fall_back_to_date(details: object) -> None:
    response = _skew(details, {"Date": "Wed, 31 Dec 2025 23:59:00 GMT"})
    assert _decide(response).clock_offset == -60.0


def test_date_without_a_zone_teaches_nothing() -> None:
    # "-0000" is RFC 5322's "zone unknown": parsed as a naive datetime.
    response = _skew({}, {"Date": "Wed, 31 Dec 2025 23:59:00 -0000"})
    assert _decide(response) == Decision(Action.DONE, reason="401 token_expired")


@pytest.mark.parametrize(
    "server_time", [str(int(NOW) + 60), "1e3", [int(NOW)], {"t": 1}]
)
def test_server_time_that_is_no_number_teaches_nothing(server_time: object) -> None:
    response = _skew({"server_time": server_time})
    assert _decide(response) == Decision(Action.DONE, reason="401 token_expired")


@pytest.mark.parametrize(
    ("offset", "learned"),
    [
        (MAX_CLOCK_OFFSET, True),
        (-MAX_CLOCK_OFFSET, True),
        (MAX_CLOCK_OFFSET + 1, False),
        (-MAX_CLOCK_OFFSET - 1, False),
        (2 * MAX_CLOCK_OFFSET, False),
    ],
)
def test_offset_bounds(offset: float, learned: bool) -> None:
    decision = _decide(_skew({"server_time": NOW + offset}))
    if learned:
        assert decision == Decision(
            Action.RESIGN, clock_offset=offset, reason="token_expired"
        )
    else:
        assert decision == Decision(Action.DONE, reason="401 token_expired")
