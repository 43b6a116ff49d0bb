"""Owns the wire format of a call: Call -> request, response -> model or error.

Pure helpers, no I/O: building an attempt's request (headers, JSON or multipart
body), mapping a read response to its model or typed error, mapping an httpx
exception to ours with the signed headers scrubbed, deprecation notices, and
warnings that point at the caller's line.
"""

from __future__ import annotations

import inspect
import json
import secrets
import warnings
from collections.abc import Iterable, Sequence
from types import FrameType
from typing import IO, Any, TypeVar

import httpx

from nuvera_client._body import multipart_body
from nuvera_client._pagination import PageData
from nuvera_client._resource import Call
from nuvera_client._stack import is_timeout, is_transport_error, module_of
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidResponseError,
    error_from_response,
    scrub_text,
)
from nuvera_client.models._base import NuveraModel

__all__ = [
    "CALL_HEADERS",
    "SIGNED_HEADERS",
    "PreparedFile",
    "api_error",
    "build_request",
    "connection_error",
    "lifecycle_notice",
    "new_idempotency_key",
    "new_multipart_boundary",
    "parse_response",
    "request_target",
    "scrub_request",
    "warn_caller",
    "with_request_id",
]

T = TypeVar("T")

_LIFECYCLE = frozenset((b"deprecation", b"sunset"))
_PACKAGE = __name__.partition(".")[0]

CALL_HEADERS = {"accept": "application/json", "accept-encoding": "gzip, deflate"}
"""Headers every call sends, over the httpx client's defaults.

Only the encodings whose decoded size the client bounds while reading
(``_transfer.CappedDecoder``) are accepted.
"""

SIGNED_HEADERS = frozenset(("x-api-key", "authorization"))
"""Headers whose values are secrets: never kept on an exception we raise."""

PreparedFile = tuple[str, tuple[str, IO[bytes] | bytes, str]]
"""A multipart file part ready to encode: ``(field, (filename, file, type))``."""


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
    http: Any,
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
        http: the httpx (or httpx2) client whose ``build_request`` is used, or
            the lean path of the client's own (``_own_transport``), which
            builds the same request for less.
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
    # Checked in Call.with_extras: none of them is a credential or a header the
    # client controls, so they are added before, and signed with, the rest.
    headers.update(call.extra_headers)
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key
    content: bytes | None = None
    if call.multipart:
        if boundary is None:
            raise ValueError("a multipart call needs its boundary")
        headers["content-type"] = f"multipart/form-data; boundary={boundary}"
    elif call.json is not None or call.extra_body is not None:
        document = {**(call.json or {}), **(call.extra_body or {})}
        content = json.dumps(
            document, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        headers["content-type"] = "application/json"
    chosen = timeout if call.timeout is None else call.timeout
    # The lean path's builder names its library; an httpx(2) client is its own.
    stack = getattr(http, "module", None) or module_of(http)
    if isinstance(chosen, httpx.Timeout) and stack is not httpx:
        chosen = stack.Timeout(**chosen.as_dict())
    request: httpx.Request = http.build_request(
        call.method,
        url,
        params=[*call.query, *call.extra_query] or None,
        headers=headers,
        timeout=chosen,
        content=content,
    )
    if call.multipart:
        # Our own encoder: the boundary is ours, the length known, and the body
        # can be read twice (hash, then send) without spooling. A Request made
        # with stream= (public API) has no content read in advance.
        module = stack
        form = {**(call.form or {}), **(call.extra_body or {})}
        body = multipart_body(module, boundary or "", form, files, call.upload_watcher)
        headers = module.Headers(request.headers)
        headers["content-length"] = str(body.length)
        request = module.Request(
            request.method,
            request.url,
            headers=headers,
            stream=body,
            extensions=request.extensions,
        )
    return request


def api_error(
    response: httpx.Response, body: bytes, secrets: Iterable[str] = ()
) -> APIError:
    """Map an error response and its read body to its typed exception.

    ``secrets`` (and the signed header values of the request) are redacted from
    whatever the server wrote.
    """
    return error_from_response(
        response.status_code,
        body,
        dict(response.headers.items()),
        secrets=[*secrets, *_signed_values(response)],
    )


def _signed_values(response: httpx.Response) -> list[str]:
    try:
        request = response.request
    except RuntimeError:  # a response built without a request
        return []
    values: list[str] = []
    for name in SIGNED_HEADERS:
        value = request.headers.get(name)
        if value:
            values.append(value)
            values.extend(value.split()[1:])  # the bare token of "Bearer <token>"
    return values


def parse_response(call: Call[T], response: httpx.Response, body: bytes) -> T:
    """Return the parsed model of a read response, or raise its typed error.

    Raises:
        APIError: the status is not 2xx.
        InvalidResponseError: the body is not what the endpoint returns.
    """
    if not response.is_success:
        raise api_error(response, body)
    if call.parse is None:
        return None  # type: ignore[return-value]
    try:
        payload = json.loads(body)
        return call.parse(payload)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        reason = (
            "it is nested too deeply"
            if isinstance(exc, RecursionError)
            else scrub_text(str(exc), _signed_values(response))
        )
        raise InvalidResponseError(
            f"the response of {call.endpoint} could not be parsed: {reason}",
            status_code=response.status_code,
            type="api_error",
            code="invalid_response",
            request_id=response.headers.get("x-request-id"),
            headers=dict(response.headers.items()),
        ) from None


def with_request_id(parsed: T, response: httpx.Response) -> T:
    """Give ``parsed`` (a model, or a page and its items) the response's request id.

    Kept outside the dataclass fields (``object.__setattr__`` on the instance), so
    equality, ``to_dict()`` and ``from_dict()`` are those of the data alone.
    """
    request_id = response.headers.get("x-request-id")
    if request_id is None or parsed is None:
        return parsed
    items = getattr(parsed, "data", None) if isinstance(parsed, PageData) else None
    for target in (parsed, *(items or ())):
        if isinstance(target, (NuveraModel, PageData)):
            object.__setattr__(target, "_request_id", request_id)
    return parsed


def too_large(
    call: Call[Any], response: httpx.Response, limit: int
) -> InvalidResponseError:
    """The error for a response body beyond ``limit`` decoded bytes."""
    return InvalidResponseError(
        f"the response of {call.endpoint} is larger than max_response_bytes "
        f"({limit} bytes decoded); raise the limit if this is expected",
        status_code=response.status_code,
        type="api_error",
        code="invalid_response",
        request_id=response.headers.get("x-request-id"),
        headers=dict(response.headers.items()),
        details={"max_response_bytes": limit},
    )


def scrub_request(exc: BaseException) -> None:
    """Give ``exc`` (and its causes) a copy of their request without signed values.

    httpx exceptions carry ``.request``; ours are raised ``from`` them, so the
    chain would otherwise hand the API key and the token to whoever logs it.
    The request that was sent (seen by transports and hooks) is left as it was.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        try:
            request = current.request  # type: ignore[attr-defined]
        except (AttributeError, RuntimeError):  # RuntimeError: never set
            request = None
        if request is not None and any(n in request.headers for n in SIGNED_HEADERS):
            module = module_of(request)
            headers = module.Headers(request.headers)
            for name in SIGNED_HEADERS:
                if name in headers:
                    headers[name] = "[redacted]"
            # The body stays behind: it may be a one-shot stream, and is no
            # business of an exception.
            current.request = module.Request(  # type: ignore[attr-defined]
                request.method, request.url, headers=headers
            )
        current = current.__cause__ or current.__context__


def request_target(url: httpx.URL) -> str:
    """Name the URL a request went to: origin and path, no query, no user info.

    Query values may hold customers' data (an e-mail filter): never in an error.
    """
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def connection_error(
    exc: Exception, call: Call[Any], url: httpx.URL | None = None
) -> APIConnectionError:
    """Map an httpx transport exception to ours (never shows headers or bodies).

    The message names ``url`` (origin and path, see ``request_target``).
    """
    scrub_request(exc)
    kind = type(exc).__name__
    where = f" ({request_target(url)})" if url is not None else ""
    if is_timeout(exc):
        return APITimeoutError(f"{call.endpoint}{where} timed out ({kind})")
    if not is_transport_error(exc):
        return APIConnectionError(
            f"{call.endpoint}{where}: the exchange failed ({kind})"
        )
    target = request_target(url) if url is not None else "the server"
    return APIConnectionError(
        f"{call.endpoint}: no response from {target} ({kind}); check the base "
        "URL (NUVERA_BASE_URL; the local sandbox is http://127.0.0.1:8787) and "
        "the network"
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
    return scrub_text(text + "; plan the migration before that date")


def _ours(frame: FrameType) -> bool:
    name = str(frame.f_globals.get("__name__", ""))
    # contextlib runs our stream() context managers on the caller's behalf.
    return name == _PACKAGE or name.startswith(_PACKAGE + ".") or name == "contextlib"


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warn at the first frame outside this package (sync or async callers alike).

    The depth differs between the twins and between calls (a coroutine awaited
    directly, a page iterated, a stream entered), so it is found, not counted.
    """
    frame = inspect.currentframe()
    level = 1  # this function's own frame; warn() counts from here
    try:
        while frame is not None and _ours(frame):
            frame = frame.f_back
            level += 1
    finally:
        del frame  # no reference cycle through the frame
    warnings.warn(message, category, stacklevel=level)
