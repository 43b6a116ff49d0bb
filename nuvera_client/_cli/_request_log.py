"""Owns ``nuvera sandbox serve --verbose``: one log line per request, no secret.

The line holds the method, the path with query *names* only (values may be personal
data), the status, the error ``code`` of a refusal and the request id; never a header
or a body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_ERROR_BODY", "RequestLog", "format_line", "redacted_target"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error body read to find its ``code`` (error bodies are small)."""


def redacted_target(path: str, query_string: bytes) -> str:
    """Return ``path?name=…&name=…``: the query's names, never its values."""
    if not query_string:
        return path
    text = query_string.decode("latin-1")
    names = [name for name, _ in parse_qsl(text, keep_blank_values=True)]
    if not names:
        return f"{path}?…"
    return f"{path}?" + "&".join(f"{name}=…" for name in names)


def format_line(
    method: str, target: str, status: int, code: str | None, request_id: str | None
) -> str:
    """Return one log line: ``12:00:01 GET /v1/x 403 permission_denied req_…``."""
    stamp = time.strftime("%H:%M:%S")
    return f"{stamp} {method} {target} {status} {code or '-'} {request_id or '-'}"


def _error_code(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


class RequestLog:
    """ASGI middleware calling ``write(line)`` once per HTTP request."""

    def __init__(self, app: ASGIApp, write: Callable[[str], object]) -> None:
        self._app = app
        self._write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self._app(scope, receive, send)
            return
        status = 0
        request_id: str | None = None
        is_json = False
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status, request_id, is_json
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    lowered = bytes(name).lower()
                    if lowered == b"x-request-id":
                        request_id = bytes(value).decode("latin-1")
                    elif lowered == b"content-type":
                        is_json = b"json" in bytes(value)
            elif message["type"] == "http.response.body" and status >= 400 and is_json:
                room = MAX_ERROR_BODY - len(body)
                if room > 0:
                    body.extend(bytes(message.get("body", b""))[:room])
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            target = redacted_target(
                str(scope.get("path", "")), bytes(scope.get("query_string", b""))
            )
            code = _error_code(bytes(body)) if body else None
            method = str(scope.get("method", "-"))
            self._write(format_line(method, target, status or 500, code, request_id))
