"""Owns the sandbox's errors: REST problems (PROTOCOL §3, §6), platform refusals.

``ApiProblem`` is an error answer of the REST API; ``problem()`` builds one
from its ``code``. A refused platform operation is ``errors.SandboxError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The one error module owns every exception class users catch (issue 15).

JSON = Any


class ApiProblem(Exception):
    """An error answer in the shape of PROTOCOL §6; raised by handlers."""

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        details: Mapping[str, JSON] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


def validation_failed(fields: Mapping[str, str]) -> ApiProblem:
    """Return the 422 ``validation_failed`` problem for field -> message."""
    return ApiProblem(
        422,
        "validation_error",
        "validation_failed",
        "Some fields are invalid: " + ", ".join(sorted(fields)),
        {"fields": dict(fields)},
    )


def not_found(what: str, ident: str) -> ApiProblem:
    """Return the 404 ``not_found`` problem for a missing object."""
    return ApiProblem(404, "not_found_error", "not_found", f"No such {what}: {ident}")


# code -> (status, type, message). Messages say what to do; they never hold a secret.
_CODES: dict[str, tuple[int, str, str]] = {
    "missing_api_key": (401, "authentication_error", "No x-api-key header was sent."),
    "invalid_api_key": (
        401,
        "authentication_error",
        "The API key is malformed or unknown: check the x-api-key header.",
    ),
    "api_key_revoked": (
        401,
        "authentication_error",
        "The API key was revoked or its rotation grace period ended.",
    ),
    "application_disabled": (
        403,
        "permission_error",
        "The application is disabled; a partner user or Nuvera admin can enable it.",
    ),
    "missing_signature": (
        401,
        "authentication_error",
        "No 'Authorization: Bearer <JWT>' header was sent.",
    ),
    "malformed_token": (
        401,
        "authentication_error",
        "The bearer token is not a well-formed JWS with the required claims.",
    ),
    "unsupported_algorithm": (
        401,
        "authentication_error",
        "The token header 'alg' must be exactly RS256.",
    ),
    "unknown_signing_key": (
        401,
        "authentication_error",
        "The token 'kid' is not an active signing key of this application.",
    ),
    "invalid_signature": (
        401,
        "authentication_error",
        "The token signature does not verify with the signing key named by 'kid'.",
    ),
    "invalid_issuer": (
        401,
        "authentication_error",
        "The token 'iss' claim must be exactly \"nuvera-api\".",
    ),
    "invalid_audience": (
        401,
        "authentication_error",
        "The token 'aud' claim must be exactly the string \"nuvera-rest-api\".",
    ),
    "invalid_lifetime": (
        401,
        "authentication_error",
        "The token lifetime exp - iat must be between 1 and 60 seconds.",
    ),
    "token_not_yet_valid": (
        401,
        "authentication_error",
        "The token 'iat' is in the future: correct your clock by details.server_time.",
    ),
    "token_expired": (
        401,
        "authentication_error",
        "The token expired: correct your clock by details.server_time and re-sign.",
    ),
    "replayed_jti": (
        401,
        "authentication_error",
        "This token 'jti' was already used: sign every attempt with a fresh jti.",
    ),
    "method_mismatch": (
        401,
        "authentication_error",
        "The token 'method' claim differs from the request method.",
    ),
    "uri_mismatch": (
        401,
        "authentication_error",
        "The token 'uri' claim differs from the raw request target.",
    ),
    "body_hash_mismatch": (
        401,
        "authentication_error",
        "The token 'body_hash' differs from the SHA-256 of the received body.",
    ),
    "permission_denied": (
        403,
        "permission_error",
        "The application lacks the permission this endpoint requires.",
    ),
    "not_found": (404, "not_found_error", "No such endpoint."),
    "method_not_allowed": (
        405,
        "invalid_request_error",
        "This endpoint does not accept that method.",
    ),
    "payload_too_large": (
        413,
        "invalid_request_error",
        "The request body exceeds the size limit.",
    ),
    "unsupported_content_encoding": (
        415,
        "invalid_request_error",
        "The only Content-Encoding accepted on a request body is gzip.",
    ),
    "invalid_request": (400, "invalid_request_error", "The request is invalid."),
    "idempotency_key_required": (
        422,
        "validation_error",
        "POST /v1/payments requires an Idempotency-Key header.",
    ),
    "invalid_idempotency_key": (
        422,
        "validation_error",
        "An Idempotency-Key must be one header of 1-255 printable ASCII characters.",
    ),
    "idempotency_conflict": (
        409,
        "idempotency_error",
        "This Idempotency-Key was used with another method, uri or body.",
    ),
    "idempotency_in_progress": (
        409,
        "idempotency_error",
        "A request with this Idempotency-Key is still running; retry later.",
    ),
    "rate_limited": (429, "rate_limit_error", "Too many requests; retry later."),
    "internal_error": (500, "api_error", "The sandbox failed to handle the request."),
}


def problem(
    code: str,
    details: Mapping[str, Any] | None = None,
    *,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiProblem:
    """Return the ``ApiProblem`` for a known ``code``."""
    status, type_, default_message = _CODES[code]
    return ApiProblem(
        status, type_, code, message or default_message, details, headers=headers
    )


def error_body(exc: ApiProblem, request_id: str) -> dict[str, Any]:
    """Return the §6 error document for ``exc``."""
    return {
        "error": {
            "type": exc.type,
            "code": exc.code,
            "message": exc.message,
            "request_id": request_id,
            "details": dict(exc.details),
        }
    }
