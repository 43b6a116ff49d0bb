"""The exceptions raised by ``nuvera_client``.

Every exception derives from :class:`NuveraError`::

    NuveraError
    ├── ConfigurationError           raised before any I/O
    │   ├── InvalidApiKeyError       malformed / truncated / mistyped API key
    │   ├── EnvironmentMismatchError live key with a test URL, or the reverse
    │   ├── InvalidPrivateKeyError   not RSA, too small, wrong exponent, garbage
    │   │   └── PassphraseError      encrypted key without / with a wrong passphrase
    │   ├── InvalidTTLError          ttl outside 1..60
    │   ├── InsecureTransportError   plain HTTP to a non-loopback host
    │   └── Pkcs11Error              a key in an HSM (PKCS#11) cannot be used
    │       ├── Pkcs11LibraryNotFoundError   no such module file / python-pkcs11
    │       ├── Pkcs11TokenNotFoundError     no token with that label / slot
    │       ├── Pkcs11PinError               PIN missing, wrong or locked
    │       ├── Pkcs11KeyNotFoundError       no (or more than one) matching key
    │       ├── Pkcs11KeyUnsuitableError     not RSA, too small, cannot sign
    │       └── Pkcs11MechanismError         no CKM_SHA256_RSA_PKCS on the token
    ├── PermissionNotGrantedError    local check against ``permissions=``
    ├── APIConnectionError           no HTTP response at all
    │   └── APITimeoutError
    └── APIError                     the server answered with an error body
        ├── AuthenticationError      401
        │   └── SignatureMismatchError  method / uri / body_hash mismatch
        ├── PermissionDeniedError    403
        ├── NotFoundError            404
        ├── IdempotencyConflictError 409
        ├── ValidationError          422
        ├── RateLimitError           429
        └── ServerError              5xx

No exception text ever holds an API key, a private key, a passphrase or a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "EnvironmentMismatchError",
    "IdempotencyConflictError",
    "InsecureTransportError",
    "InvalidApiKeyError",
    "InvalidPrivateKeyError",
    "InvalidTTLError",
    "NotFoundError",
    "NuveraError",
    "PassphraseError",
    "PermissionDeniedError",
    "PermissionNotGrantedError",
    "Pkcs11Error",
    "Pkcs11KeyNotFoundError",
    "Pkcs11KeyUnsuitableError",
    "Pkcs11LibraryNotFoundError",
    "Pkcs11MechanismError",
    "Pkcs11PinError",
    "Pkcs11TokenNotFoundError",
    "RateLimitError",
    "ServerError",
    "SignatureMismatchError",
    "ValidationError",
    "error_from_response",
]


class NuveraError(Exception):
    """Base class of every error raised by this SDK."""


class ConfigurationError(NuveraError, ValueError):
    """The SDK was configured with something it cannot use; raised before any I/O."""


class InvalidApiKeyError(ConfigurationError):
    """The API key is malformed, truncated or mistyped.

    Attributes:
        reason: one of ``"empty"``, ``"prefix"``, ``"environment"``, ``"length"``,
            ``"charset"``, ``"checksum"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class EnvironmentMismatchError(ConfigurationError):
    """A ``live`` key is used with a test URL, or a ``test`` key with the live URL."""


class InvalidPrivateKeyError(ConfigurationError):
    """The private key cannot be used for RS256 signing."""


class PassphraseError(InvalidPrivateKeyError):
    """The key is encrypted and the passphrase is missing or wrong."""


class InvalidTTLError(ConfigurationError):
    """The token lifetime is outside 1..60 seconds."""


class InsecureTransportError(ConfigurationError):
    """Plain HTTP was requested for a host that is not loopback."""


class Pkcs11Error(ConfigurationError):
    """A signing key in an HSM, reached through PKCS#11, cannot be used.

    Raised by :class:`~nuvera_client.hsm.Pkcs11SigningKey` when it opens the token,
    and when the token fails to sign after one reconnection. Never holds the PIN.
    """


class Pkcs11LibraryNotFoundError(Pkcs11Error):
    """The PKCS#11 module (``.so``) cannot be loaded, or python-pkcs11 is missing."""


class Pkcs11TokenNotFoundError(Pkcs11Error):
    """No token has the given label, or no token is present in the given slot."""


class Pkcs11PinError(Pkcs11Error):
    """The user PIN is missing, wrong, or locked on the token."""


class Pkcs11KeyNotFoundError(Pkcs11Error):
    """No private key on the token matches the label / id (or more than one does)."""


class Pkcs11KeyUnsuitableError(Pkcs11Error, InvalidPrivateKeyError):
    """The key is not RSA, is smaller than 2048 bits, or may not sign."""


class Pkcs11MechanismError(Pkcs11Error):
    """The token does not offer ``CKM_SHA256_RSA_PKCS`` (RS256) for this key."""


class PermissionNotGrantedError(NuveraError):
    """A call needs a permission outside the ``permissions=`` given to the client.

    Raised locally, before any network traffic.
    """

    def __init__(self, message: str, *, required_permission: str) -> None:
        super().__init__(message)
        self.required_permission = required_permission


class APIConnectionError(NuveraError):
    """No HTTP response was received (DNS, refused connection, TLS, reset...)."""


class APITimeoutError(APIConnectionError):
    """The request timed out before a response arrived."""


class APIError(NuveraError):
    """The Nuvera API answered with an error.

    Attributes:
        status_code: the HTTP status.
        type: the error ``type`` of the body (``authentication_error``, ...).
        code: the machine-readable ``code`` (``body_hash_mismatch``, ...).
        message: the server's human-readable message.
        request_id: the ``request_id`` (``req_...``), quote it to support.
        details: the diagnostic ``details`` object (never holds secrets).
        headers: the response headers.
    """

    hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str,
        code: str,
        request_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.type = type
        self.code = code
        self.request_id = request_id
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"[{self.request_id}] " if self.request_id else ""
        text = f"{prefix}{self.status_code} {self.code}: {self.message}"
        extra = self._explain()
        if extra:
            text = f"{text} ({extra})"
        hint = _HINTS.get(self.code) or self.hint
        if hint:
            text = f"{text}. {hint}"
        return text

    def _explain(self) -> str:
        return ""

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep pickling (multiprocessing, celery) working with keyword-only args.
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "status_code": self.status_code,
                    "type": self.type,
                    "code": self.code,
                    "request_id": self.request_id,
                    "details": self.details,
                    "headers": self.headers,
                },
            ),
        )


def _rebuild(cls: type[APIError], message: str, kwargs: dict[str, Any]) -> APIError:
    return cls(message, **kwargs)


class AuthenticationError(APIError):
    """401: the API key or the request signature was refused."""


class SignatureMismatchError(AuthenticationError):
    """401: the token's ``method``, ``uri`` or ``body_hash`` did not match the request.

    ``expected`` is what the server derived from the request it received;
    ``received`` is the claim in the token.
    """

    @property
    def expected(self) -> str | None:
        """What the server derived from the request it received."""
        value = self.details.get("expected")
        return None if value is None else str(value)

    @property
    def received(self) -> str | None:
        """The claim that was in the token."""
        value = self.details.get("received")
        return None if value is None else str(value)

    def _explain(self) -> str:
        if "expected" not in self.details:
            return ""
        text = f"you signed {self.received!r}, the server derived {self.expected!r}"
        if "body_length" in self.details:
            text += f" over {self.details['body_length']} bytes received"
        return text


class PermissionDeniedError(APIError):
    """403: the application lacks the permission, or is disabled."""

    @property
    def required_permission(self) -> str | None:
        """The permission the endpoint needs, when the server named it."""
        value = self.details.get("required_permission")
        return None if value is None else str(value)

    def _explain(self) -> str:
        needed = self.required_permission
        return f"needs {needed}" if needed else ""


class NotFoundError(APIError):
    """404: no such object or path."""


class IdempotencyConflictError(APIError):
    """409: the Idempotency-Key was used with another request, or is still running."""


class ValidationError(APIError):
    """422: the request was understood but some fields are invalid."""

    @property
    def fields(self) -> dict[str, str]:
        """Field name to message, from ``details.fields``."""
        raw = self.details.get("fields")
        if not isinstance(raw, Mapping):
            return {}
        return {str(k): str(v) for k, v in raw.items()}

    def _explain(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in sorted(self.fields.items()))


class RateLimitError(APIError):
    """429: too many requests; wait ``retry_after`` seconds."""

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait, from ``Retry-After`` or ``details.retry_after``."""
        for raw in (self.headers.get("retry-after"), self.details.get("retry_after")):
            try:
                if raw is not None:
                    return float(raw)
            except (TypeError, ValueError):
                continue
        return None


class ServerError(APIError):
    """5xx: Nuvera failed; safe calls are retried automatically."""


class InvalidRequestError(APIError):
    """400/405/413/415: the request itself was malformed."""


_CLOCK_HINT = "Check the machine clock (the client corrects skew once per request)"

_HINTS: dict[str, str] = {
    "missing_api_key": "Pass api_key= or set NUVERA_API_KEY",
    "invalid_api_key": (
        "Check the key was copied whole and belongs to this environment"
    ),
    "api_key_revoked": "Rotate to the application's current API key",
    "application_disabled": (
        "Enable the application in Settings > Platform > API Applications"
    ),
    "unknown_signing_key": (
        "Upload this key's public PEM to the application, or use its current key"
    ),
    "invalid_signature": "The token was not signed by the private key of its kid",
    "token_expired": _CLOCK_HINT,
    "token_not_yet_valid": _CLOCK_HINT,
    "replayed_jti": "Every attempt needs a fresh jti; do not resend a signed request",
    "permission_denied": "Grant the permission to the application in settings",
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: InvalidRequestError,
    409: IdempotencyConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: ValidationError,
    429: RateLimitError,
}

_BY_CODE: dict[str, type[APIError]] = {
    "method_mismatch": SignatureMismatchError,
    "uri_mismatch": SignatureMismatchError,
    "body_hash_mismatch": SignatureMismatchError,
}


def error_class_for(status_code: int, code: str) -> type[APIError]:
    """Return the exception class for an HTTP status and error ``code``."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return ServerError
    return APIError


def error_from_response(
    status_code: int, body: bytes, headers: Mapping[str, str] | None = None
) -> APIError:
    """Build the typed error for an error response.

    Args:
        status_code: the HTTP status (>= 400).
        body: the raw response body; a non-JSON body still yields an error.
        headers: the response headers (lower- or mixed-case names).

    Returns:
        An instance of the :class:`APIError` subclass for the status and code.
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    payload: Any = None
    try:
        payload = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"http_{status_code}")
    err_type = str(
        error.get("type") or ("api_error" if status_code >= 500 else "error")
    )
    message = str(error.get("message") or f"HTTP {status_code} without error body")
    request_id = error.get("request_id") or lowered.get("x-request-id")
    details = error.get("details")
    cls = error_class_for(status_code, code)
    return cls(
        message,
        status_code=status_code,
        type=err_type,
        code=code,
        request_id=None if request_id is None else str(request_id),
        details=details if isinstance(details, dict) else {},
        headers=lowered,
    )
