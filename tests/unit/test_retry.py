from __future__ import annotations

import json

import httpx
import pytest

from nuvera_client._retry import (
    MAX_BACKOFF,
    Action,
    RetryPolicy,
    RetryState,
)
from nuvera_client.errors import ConfigurationError

NOW = 1_767_225_600.0


def _response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


def _auth_error(code: str, **details: object) -> httpx.Response:
    return _response(
        401,
        {"error": {"type": "authentication_error", "code": code, "details": details}},
    )


def _decide(
    policy: RetryPolicy,
    state: RetryState | None = None,
    *,
    method: str = "GET",
    key: bool = False,
    **kwargs: object,
) -> Action:
    decision = policy.decide(
        state or RetryState(),
        method=method,
        has_idempotency_key=key,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )
    return decision.action


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def test_retryable_statuses_for_safe_methods(status: int, method: str) -> None:
    policy = RetryPolicy()
    assert _decide(policy, method=method, response=_response(status)) is Action.RETRY


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 422, 501, 505])
def test_other_statuses_are_final(status: int) -> None:
    assert _decide(RetryPolicy(), response=_response(status)) is Action.DONE


def test_post_only_with_idempotency_key() -> None:
    policy = RetryPolicy()
    resp = _response(503)
    assert _decide(policy, method="POST", response=resp) is Action.DONE
    assert _decide(policy, method="POST", key=True, response=resp) is Action.RETRY
    exc = httpx.ConnectError("boom")
    assert _decide(policy, method="POST", error=exc) is Action.DONE
    assert _decide(policy, method="POST", key=True, error=exc) is Action.RETRY


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("x"),
        httpx.ReadError("x"),
        httpx.RemoteProtocolError("x"),
        httpx.ReadTimeout("x"),
        httpx.ConnectTimeout("x"),
        httpx.PoolTimeout("x"),
    ],
)
def test_transport_errors_retried(exc: Exception) -> None:
    assert _decide(RetryPolicy(), error=exc) is Action.RETRY


def test_non_transport_error_is_final() -> None:
    assert _decide(RetryPolicy(), error=ValueError("x")) is Action.DONE


def test_budget_default_two_and_per_call() -> None:
    policy = RetryPolicy()
    state = RetryState()
    actions = []
    for _ in range(4):
        decision = policy.decide(
            state,
            method="GET",
            has_idempotency_key=False,
            now=NOW,
            response=_response(500),
        )
        actions.append(decision.action)
        state.record(decision)
    assert actions == [Action.RETRY, Action.RETRY, Action.DONE, Action.DONE]
    assert _decide(policy, response=_response(500), max_retries=0) is Action.DONE
    state = RetryState(retries=4)
    assert _decide(policy, state, response=_response(500), max_retries=5) is (
        Action.RETRY
    )
    assert _decide(RetryPolicy(0), response=_response(500)) is Action.DONE


def test_backoff_full_jitter_bounds() -> None:
    policy = RetryPolicy()
    for retries, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        samples = [policy.backoff(retries) for _ in range(300)]
        assert all(0.0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.5  # jitter covers the range
        assert min(samples) < cap * 0.5
    assert MAX_BACKOFF == 8.0


def test_retry_after_seconds_and_date() -> None:
    policy = RetryPolicy()
    decision = policy.decide(
        RetryState(),
        method="GET",
        has_idempotency_key=False,
        now=NOW,
        response=_response(429, headers={"Retry-After": "7"}),
    )
    assert decision.action is Action.RETRY
    assert decision.delay == 7.0
    date = "Thu, 01 Jan 2026 00:00:30 GMT"  # NOW + 30 s
    decision = policy.decide(
        RetryState(),
        method="GET",
        has_idempotency_key=False,
        now=NOW,
        response=_response(503, headers={"Retry-After": date}),
    )
    assert decision.delay == pytest.approx(30.0)


def test_retry_after_too_long_not_retried() -> None:
    policy = RetryPolicy()
    assert (
        _decide(policy, response=_response(429, headers={"Retry-After": "61"}))
        is Action.DONE
    )
    assert (
        _decide(policy, response=_response(429, headers={"Retry-After": "60"}))
        is Action.RETRY
    )


@pytest.mark.parametrize("code", ["token_expired", "token_not_yet_valid"])
def test_clock_skew_resign_once(code: str) -> None:
    policy = RetryPolicy()
    state = RetryState()
    resp = _auth_error(code, server_time=int(NOW) + 300)
    decision = policy.decide(
        state, method="POST", has_idempotency_key=False, now=NOW, response=resp
    )
    assert decision.action is Action.RESIGN
    assert decision.clock_offset == pytest.approx(300.0)
    state.record(decision)
    assert _decide(policy, state, method="POST", response=resp) is Action.DONE


def test_clock_skew_uses_date_header_without_server_time() -> None:
    resp = httpx.Response(
        401,
        json={"error": {"code": "token_expired", "details": {}}},
        headers={"Date": "Wed, 31 Dec 2025 23:55:00 GMT"},
    )
    decision = RetryPolicy().decide(
        RetryState(), method="GET", has_idempotency_key=False, now=NOW, response=resp
    )
    assert decision.action is Action.RESIGN
    assert decision.clock_offset == pytest.approx(-300.0)


@pytest.mark.parametrize(
    "code", ["api_key_revoked", "unknown_signing_key", "invalid_api_key"]
)
def test_rotation_refresh_once(code: str) -> None:
    policy = RetryPolicy()
    state = RetryState()
    resp = _auth_error(code)
    assert _decide(policy, state, response=resp) is Action.DONE  # no provider
    decision = policy.decide(
        state,
        method="POST",
        has_idempotency_key=False,
        now=NOW,
        response=resp,
        can_refresh=True,
    )
    assert decision.action is Action.REFRESH
    state.record(decision)
    assert _decide(policy, state, response=resp, can_refresh=True) is Action.DONE


@pytest.mark.parametrize(
    "code", ["invalid_signature", "replayed_jti", "body_hash_mismatch", "malformed"]
)
def test_other_auth_errors_final(code: str) -> None:
    resp = _auth_error(code)
    assert _decide(RetryPolicy(), response=resp, can_refresh=True) is Action.DONE


def test_policy_validation() -> None:
    with pytest.raises(ConfigurationError, match=">= 0"):
        RetryPolicy(-1)
    with pytest.raises(TypeError):
        RetryPolicy(True)
