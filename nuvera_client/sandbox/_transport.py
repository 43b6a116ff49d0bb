"""Owns the sync in-process transport: an httpx transport that calls the ASGI app.

httpx's ``ASGITransport`` is async-only; this twin runs the app on a short-lived
event loop per request (in a helper thread when the caller's thread already runs a
loop), streaming the request body in and collecting the response.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import anyio
import httpx

Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


class SandboxTransport(httpx.BaseTransport):
    """Send sync httpx requests straight into an ASGI app, without a socket."""

    def __init__(self, app: AsgiApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)):
        self._app = app
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run ``request`` through the app and return its whole response."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return anyio.run(self._run, request)
        # This thread already runs a loop: serve the request from a helper thread.
        result: list[httpx.Response] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                result.append(anyio.run(self._run, request))
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=target, name="nuvera-sandbox-transport")
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return result[0]

    async def _run(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "server": (url.host, port),
            "client": self._client,
        }
        chunks: Iterator[bytes] = iter(request.stream)  # type: ignore[arg-type]
        request_done = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        body: list[bytes] = []

        async def receive() -> Message:
            nonlocal request_done
            if request_done:
                return {"type": "http.disconnect"}
            for chunk in chunks:
                if chunk:
                    return {"type": "http.request", "body": chunk, "more_body": True}
            request_done = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self._app(scope, receive, send)
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(b"".join(body)),
            request=request,
        )
