"""Owns the sandbox's front door: ``/console`` to the console, the rest to the API.

Every API request passes through the request log's tap. The console answers
loopback clients only, addressed by a loopback host name (no DNS rebinding), and
is built on its first request, so the API runs even where Jinja2 is missing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from nuvera_client.sandbox._server import is_loopback
from nuvera_client.sandbox.console._requestlog import (
    AsgiApp,
    Receive,
    RequestLog,
    RequestTap,
    Scope,
    Send,
)

if TYPE_CHECKING:
    from nuvera_client.sandbox._sandbox import Sandbox

CONSOLE_PATH = "/console"


class SandboxHost:
    """The ASGI app a sandbox serves: the API (through the log) and the console."""

    def __init__(self, api: AsgiApp, sandbox: Sandbox) -> None:
        self.api = api
        self.sandbox = sandbox
        self.request_log = RequestLog(sandbox.store, sandbox.now)
        self._tap = RequestTap(api, self.request_log)
        self._console: AsgiApp | None = None

    def __getattr__(self, name: str) -> Any:
        # The API app's attributes (store, endpoints, limits) stay reachable.
        return getattr(self.api, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI scope."""
        if scope["type"] == "http" and _is_console(scope.get("path", "")):
            await self._serve_console(scope, receive, send)
            return
        await self._tap(scope, receive, send)

    async def _serve_console(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _refusal(scope)
        if refusal is not None:
            await _plain(send, 403, refusal)
            return
        if self._console is None:
            try:
                from nuvera_client.sandbox.console._web import ConsoleApp
            except ModuleNotFoundError as exc:
                await _plain(
                    send,
                    503,
                    f"The console needs Jinja2 ({exc.name} is missing): "
                    "pip install 'nuvera-client[sandbox]'",
                )
                return
            self._console = ConsoleApp(self.sandbox, self.request_log)
        await self._console(scope, receive, send)


def _is_console(path: str) -> bool:
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


def _refusal(scope: Scope) -> str | None:
    client = scope.get("client")
    # In-process transports name no peer or a made-up one; a socket names the peer.
    if client and client[0] not in ("testclient",) and not is_loopback(client[0]):
        return "The sandbox console answers loopback clients only."
    host = ""
    for name, value in scope.get("headers", []):
        if name.lower() == b"host":
            host = value.decode("latin-1")
            break
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if host.startswith("[") and "]" in host:
        name = host[: host.index("]") + 1]
    if not is_loopback(name):
        return "Open the console at a loopback address such as http://127.0.0.1."
    return None


async def _plain(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def mount_console(api: AsgiApp, sandbox: Sandbox) -> SandboxHost:
    """Return the app to serve: ``/console`` for the console, the API elsewhere."""
    return SandboxHost(api, sandbox)
