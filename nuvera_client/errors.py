"""The exceptions and warnings raised by ``nuvera_client``: all of them live here.

Every exception derives from [`NuveraError`][nuvera_client.NuveraError]:

    NuveraError
    ├── ConfigurationError           raised before any I/O (also a ValueError)
    │   ├── InvalidApiKeyError       malformed / truncated / mistyped API key
    │   ├── EnvironmentMismatchError live key with a test URL, or the reverse
    │   ├── InvalidPrivateKeyError   not RSA, too small, wrong exponent, garbage
    │   │   └── PassphraseError      encrypted key without / with a wrong passphrase
    │   ├── InvalidTTLError          ttl outside 1..60
    │   ├── InvalidClockOffsetError  a clock offset not finite or beyond ±24 h
    │   ├── InsecureTransportError   plain HTTP to a non-loopback host
    │   ├── Pkcs11Error              a key in an HSM (PKCS#11) cannot be used
    │   │   ├── Pkcs11LibraryNotFoundError   no such module file / python-pkcs11
    │   │   ├── Pkcs11TokenNotFoundError     no token with that label / slot
    │   │   ├── Pkcs11PinError               PIN missing, wrong or locked
    │   │   ├── Pkcs11KeyNotFoundError       no (or more than one) matching key
    │   │   ├── Pkcs11KeyUnsuitableError     not RSA, too small, cannot sign
    │   │   └── Pkcs11MechanismError         no CKM_SHA256_RSA_PKCS on the token
    │   ├── InvalidPermissionsError  unknown permission, or a write without its read
    │   ├── CredentialsNotConfiguredError  a credential provider has nothing set
    │   ├── InsecureCredentialsFileError   a key file readable by group/others
    │   └── OptionalDependencyError  an extra is not installed (pandas, tqdm, respx)
    ├── InvalidArgumentError         a call argument with a refused value (ValueError)
    │   └── InvalidIdError           an id that is empty, ``.`` or ``..`` (not sent)
    ├── CredentialSourceError        a credential source failed or holds junk
    ├── LimitExceededError           a bound the SDK keeps (attempts, pages)
    ├── WaitTimeoutError             payments.wait() ran out of time (a TimeoutError)
    ├── SandboxError                 the local sandbox refused a platform operation
    │   └── SandboxBusyError         its store stayed locked too long
    ├── PermissionNotGrantedError    local check against ``permissions=``
    ├── ContractViolation            a mocked request breaks PROTOCOL §3
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
        ├── InvalidRequestError      400 / 405 / 413 / 415
        ├── ServerError              5xx
        └── InvalidResponseError     a body too large, too deep or not the model

    UserWarning
    └── NuveraDeprecationWarning     the endpoint answered Deprecation / Sunset

What else may escape is listed in ``docs/guides/errors-and-retries.md``:
``KeyboardInterrupt`` and cancellation, and programming errors such as a
``TypeError`` for an argument of the wrong type.

No exception text ever holds an API key, a private key, a passphrase or a token:
server text is truncated to
[`MAX_MESSAGE_CHARS`][nuvera_client.errors.MAX_MESSAGE_CHARS] and the client's own API
key and tokens are replaced by ``[redacted]`` before an error is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "ContractViolation",
    "CredentialSourceError",
    "CredentialsNotConfiguredError",
    "EnvironmentMismatchError",
    "IdempotencyConflictError",
    "InsecureCredentialsFileError",
    "InsecureTransportError",
    "InvalidApiKeyError",
    "InvalidArgumentError",
    "InvalidClockOffsetError",
    "InvalidIdError",
    "InvalidPermissionsError",
    "InvalidPrivateKeyError",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidTTLError",
    "LimitExceededError",
    "NotFoundError",
    "NuveraDeprecationWarning",
    "NuveraError",
    "OptionalDependencyError",
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
    "SandboxBusyError",
    "SandboxError",
    "ServerError",
    "SignatureMismatchError",
    "ValidationError",
    "WaitTimeoutError",
    "error_from_response",
]


class NuveraError(Exception):
    """Base class of every error raised by this SDK."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's default would walk attributes; the message is the safe summary.
        printer.text(f"{type(self).__name__}: {self}")

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
            for name, value in self._display_fields()
        )
        return (
            f"<table><caption>{html.escape(type(self).__name__)}</caption>"
            f"<tbody>{rows}</tbody></table>"
        )

    def _display_fields(self) -> list[tuple[str, object]]:
        return [("message", str(self))]


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


class InvalidPermissionsError(ConfigurationError):
    """A permission set names an unknown permission or a write without its read."""


class CredentialsNotConfiguredError(ConfigurationError):
    """A provider has nothing configured (its variables, files or arguments are unset).

    [`ChainCredentials`][nuvera_client.credentials.ChainCredentials] skips a provider
    that raises this and tries the next; any other error stops the chain, since a
    half-configured source is a mistake worth seeing.

    Attributes:
        reasons: one line per provider tried, when raised by a chain.
    """

    def __init__(self, message: str, *, reasons: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class InsecureCredentialsFileError(ConfigurationError):
    """A credentials file is accessible by group or others (``chmod 600`` it)."""


class InvalidArgumentError(NuveraError, ValueError):
    """A call argument has a value the SDK refuses; raised before any I/O.

    Also a ``ValueError``, as these refusals were before. An argument of the wrong
    *type* (a ``float`` amount) still raises ``TypeError``.
    """


class CredentialSourceError(NuveraError):
    """The credential source failed or holds something unusable.

    Unreadable file, AWS error, a secret that is not JSON or lacks a field. The
    message names the source and the field, never a value.
    """


class LimitExceededError(NuveraError, RuntimeError):
    """A bound the SDK keeps was reached (attempts of one call, pages of one list).

    Also a ``RuntimeError``, which these bounds raised before.
    """


class WaitTimeoutError(NuveraError, TimeoutError):
    """A waiter (``payments.wait()``) did not see the status in time.

    ``last`` is the object as last fetched (None when no poll succeeded),
    ``until`` the statuses waited for and ``waited`` the seconds spent. Also a
    ``TimeoutError``.
    """

    def __init__(
        self,
        message: str,
        *,
        last: object = None,
        until: frozenset[str] = frozenset(),
        waited: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.last = last
        self.until = until
        self.waited = waited

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_wait,
            (str(self), self.last, self.until, self.waited),
        )


def _rebuild_wait(
    message: str, last: object, until: frozenset[str], waited: float
) -> WaitTimeoutError:
    return WaitTimeoutError(message, last=last, until=until, waited=waited)


class OptionalDependencyError(ConfigurationError, ImportError):
    """A feature needs a package of an extra that is not installed.

    Attributes:
        package: the missing package, e.g. ``"pandas"``.
    """

    def __init__(self, message: str, *, package: str) -> None:
        super().__init__(message)
        self.package = package


class InvalidClockOffsetError(ConfigurationError):
    """A clock offset is not a finite number of seconds within ±24 hours.

    The offset in use is left unchanged.
    """


class InvalidIdError(InvalidArgumentError):
    """An object id is empty, ``.`` or ``..``; refused before anything is sent.

    httpx removes dot segments from a path, so ``retrieve("..")`` would otherwise
    reach another endpoint.
    """


class Pkcs11Error(ConfigurationError):
    """A signing key in an HSM, reached through PKCS#11, cannot be used.

    Raised by [`Pkcs11SigningKey`][nuvera_client.hsm.Pkcs11SigningKey] when it opens the
    token, and when the token fails to sign after one reconnection. Never holds the PIN.
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


class ContractViolation(NuveraError, AssertionError):
    """A request intercepted by ``NuveraMock`` would be refused by Nuvera (§3).

    Also an ``AssertionError``, so that pytest reports it as a failed test.
    """


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
        # Said once: a server message that already names it (needs X) is enough.
        if extra and extra not in self.message:
            text = f"{text.rstrip('.')} ({extra})"
        hint = _HINTS.get(self.code) or self.hint
        if hint:
            text = f"{text.rstrip('.')}. {hint}"
        return text

    def _display_fields(self) -> list[tuple[str, object]]:
        fields: list[tuple[str, object]] = [
            ("status", self.status_code),
            ("code", self.code),
            ("message", self.message),
            ("request_id", self.request_id or ""),
        ]
        fields += [(f"details.{k}", v) for k, v in sorted(self.details.items())]
        hint = _HINTS.get(self.code) or self.hint
        if hint:
            fields.append(("what to do", hint))
        return fields

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
        if not needed or needed in self.message:
            return ""  # the server's message already names it
        return f"needs {needed}"


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


class InvalidResponseError(APIError):
    """The response could not be used (code ``invalid_response``).

    It was larger than the client's ``max_response_bytes``, nested too deeply, or
    not the shape the endpoint returns.
    """


MAX_MESSAGE_CHARS = 1000
"""Server text longer than this is truncated in exceptions (message and details)."""

_REDACTED = "[redacted]"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_API_KEY = re.compile(r"nvk_(?:live|test)_[0-9A-Za-z]{20,}")


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return server text safe to raise: secrets redacted, then truncated.

    Args:
        text: what the server sent.
        secrets: exact values to redact (the client's API key, the token sent).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    # Any API key or compact JWT, not only ours: a server never needs to echo one.
    text = _JWT.sub(_REDACTED, _API_KEY.sub(_REDACTED, text))
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + f"... [{len(text)} chars, truncated]"
    return text


def _scrub(value: Any, secrets: tuple[str, ...], depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if depth > 8:
        return _REDACTED
    if isinstance(value, Mapping):
        return {
            scrub_text(str(k), secrets): _scrub(v, secrets, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, secrets, depth + 1) for v in value]
    return value


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
    status_code: int,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    secrets: Iterable[str] = (),
) -> APIError:
    """Build the typed error for an error response.

    Server text (message, details, header values) is truncated and has
    ``secrets`` and anything shaped like an API key or a JWT redacted.

    Args:
        status_code: the HTTP status (>= 400).
        body: the raw response body; a non-JSON body still yields an error.
        headers: the response headers (lower- or mixed-case names).
        secrets: exact values to redact (the client's API key, the token sent).

    Returns:
        An instance of the [`APIError`][nuvera_client.APIError] subclass for the status
        and code.
    """
    hidden = tuple(secrets)
    lowered = {k.lower(): scrub_text(v, hidden) for k, v in (headers or {}).items()}
    payload: Any = None
    try:
        payload = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        # A body nested too deeply is as unusable as one that is not JSON.
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = scrub_text(str(error.get("code") or f"http_{status_code}"), hidden)
    err_type = scrub_text(
        str(error.get("type") or ("api_error" if status_code >= 500 else "error")),
        hidden,
    )
    message = scrub_text(
        str(error.get("message") or f"HTTP {status_code} without error body"), hidden
    )
    request_id = error.get("request_id") or lowered.get("x-request-id")
    if request_id is not None:
        request_id = scrub_text(str(request_id), hidden)
    details = _scrub(error.get("details"), hidden)
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


class SandboxError(NuveraError):
    """A platform operation of the local sandbox was refused; ``code`` says why.

    Codes: ``forbidden`` (role or organisation), ``unknown_user``, ``not_found``,
    ``invalid_permissions``, ``invalid_public_key``, ``invalid_argument``,
    ``limit_reached`` (a third active key), ``conflict``, ``busy``,
    ``signing_key_in_use`` (the key is active on another application, PROTOCOL §1.2).
    Role and organisation are checked before anything else is validated (§1.3).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SandboxBusyError(SandboxError, RuntimeError):
    """The sandbox's store lock could not be taken in time (``code`` ``busy``).

    Also a ``RuntimeError``, as it was before.
    """

    def __init__(self, message: str) -> None:
        super().__init__("busy", message)


class NuveraDeprecationWarning(UserWarning):
    """An endpoint answered with ``Deprecation`` or ``Sunset``: it will be retired.

    A ``UserWarning`` (not a ``DeprecationWarning``, which Python hides outside
    ``__main__``), so that a running service shows it by default: the endpoint's
    retirement breaks the deployed program, not just the code calling it.
    """
