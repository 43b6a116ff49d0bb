"""Owns the pure client core: Call -> httpx.Request, response -> model or error.

No I/O here: the clients in ``_client.py`` open files, send, sleep and read streams.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import IO, Any, TypeVar

import httpx

from nuvera_client._auth import USER_AGENT
from nuvera_client._resource import Call
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    NuveraDeprecationWarning,
    error_from_response,
)

__all__ = [
    "CALL_HEADERS",
    "NuveraDeprecationWarning",
    "PreparedFile",
    "api_error",
    "build_request",
    "connection_error",
    "lifecycle_notice",
    "new_idempotency_key",
    "new_multipart_boundary",
    "parse_response",
]

T = TypeVar("T")

_LIFECYCLE = frozenset((b"deprecation", b"sunset"))

CALL_HEADERS = {"user-agent": USER_AGENT, "accept": "application/json"}
"""Headers every call sends, over the httpx client's defaults (both paths)."""

PreparedFile = tuple[str, tuple[str, IO[bytes] | bytes, str]]
"""A multipart file part ready for httpx: ``(field, (filename, file, type))``."""


def new_idempotency_key() -> str:
    """Return a fresh Idempotency-Key (128 random bits; kept across retries)."""
    return f"nvidem_{secrets.token_hex(16)}"


def new_multipart_boundary() -> str:
    """Return a multipart boundary, fixed for a whole logical call.

    The same boundary on every attempt gives the same body bytes, hence the same
    ``body_hash``, so an idempotent replay matches instead of a 409 conflict.
    """
    return f"nuvera-{secrets.token_hex(16)}"


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    base_url: httpx.URL,
    call: Call[Any],
    *,
    idempotency_key: str | None,
    files: Sequence[PreparedFile] = (),
    boundary: str | None = None,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """Build the request of one attempt (the auth signs it when it is sent).

    Args:
        http: the httpx client whose ``build_request`` is used.
        base_url: scheme, host and port (and any path prefix) of the API.
        call: what to send.
        idempotency_key: the call's key, the same on every attempt.
        files: the prepared file parts of a multipart call.
        boundary: the call's multipart boundary.
        timeout: the client's default timeout (a call's own ``timeout`` wins).
    """
    # One URL parse per attempt (in build_request): the base has no query.
    url = str(base_url).rstrip("/") + call.path
    headers = dict(CALL_HEADERS)
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key
    kwargs: dict[str, Any] = {}
    if call.multipart:
        if boundary is None:
            raise ValueError("a multipart call needs its boundary")
        headers["content-type"] = f"multipart/form-data; boundary={boundary}"
        kwargs["data"] = dict(call.form or {})
        kwargs["files"] = list(files)
    elif call.json is not None:
        kwargs["content"] = json.dumps(
            call.json, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        headers["content-type"] = "application/json"
    chosen = timeout if call.timeout is None else call.timeout
    return http.build_request(
        call.method,
        url,
        params=list(call.query) or None,
        headers=headers,
        timeout=chosen,
        **kwargs,
    )


def api_error(response: httpx.Response) -> APIError:
    """Map an error response (body already read) to its typed exception."""
    return error_from_response(
        response.status_code, response.content, dict(response.headers.items())
    )


def parse_response(call: Call[T], response: httpx.Response) -> T:
    """Return the parsed model of a read response, or raise its typed error.

    Raises:
        APIError: the status is not 2xx, or the body is not what the endpoint
            returns (code ``invalid_response``).
    """
    if not response.is_success:
        raise api_error(response)
    if call.parse is None:
        return None  # type: ignore[return-value]
    try:
        payload = json.loads(response.content)
        return call.parse(payload)
    except (ValueError, TypeError, KeyError) as exc:
        raise APIError(
            f"the response of {call.endpoint} could not be parsed: {exc}",
            status_code=response.status_code,
            type="api_error",
            code="invalid_response",
            request_id=response.headers.get("x-request-id"),
            headers=dict(response.headers.items()),
        ) from None


def connection_error(exc: Exception, call: Call[Any]) -> APIConnectionError:
    """Map an httpx transport exception to ours (never shows headers or bodies)."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{call.endpoint} timed out ({kind})")
    if not isinstance(exc, httpx.TransportError):
        return APIConnectionError(f"{call.endpoint}: the exchange failed ({kind})")
    return APIConnectionError(
        f"{call.endpoint}: no response from the server ({kind}); check the base URL "
        "and the network"
    )


def lifecycle_notice(call: Call[Any], response: httpx.Response) -> str | None:
    """Describe ``Deprecation`` / ``Sunset`` headers of a response, if any."""
    # Almost no response has them: one pass over the raw names, not two lookups.
    if _LIFECYCLE.isdisjoint([name.lower() for name, _ in response.headers.raw]):
        return None
    deprecation = response.headers.get("deprecation")
    sunset = response.headers.get("sunset")
    if deprecation is None and sunset is None:
        return None
    parts = [f"Nuvera endpoint {call.endpoint} is deprecated"]
    if deprecation is not None and deprecation.strip().lower() not in ("true", "?1"):
        parts.append(f"since {deprecation.strip()}")
    if sunset is not None:
        parts.append(f"and will be removed on {sunset.strip()}")
    link = response.headers.get("link")
    text = " ".join(parts)
    if link:
        text += f" (see {link.strip()})"
    return text + "; plan the migration before that date"
