"""Owns serving a sandbox over loopback: uvicorn on a socket we bind, in a thread."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nuvera_client.sandbox._sandbox import Sandbox

START_TIMEOUT = 10.0


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback name or address (PROTOCOL §7)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket on ``host:port`` (0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, **extra: Any) -> Any:
    """Return a quiet uvicorn config: our own Date header, no logging set-up."""
    import uvicorn

    return uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        date_header=False,
        server_header=False,
        ws="none",
        **extra,
    )


def base_url_of(sock: socket.socket) -> str:
    """Return ``http://host:port`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class SandboxServer:
    """A running loopback server: ``base_url`` and the ``sandbox`` it serves."""

    base_url: str
    host: str
    port: int
    sandbox: Sandbox


@contextmanager
def serve_in_thread(sandbox: Sandbox, host: str, port: int) -> Iterator[SandboxServer]:
    """Serve ``sandbox.app`` with uvicorn in a thread until the block ends."""
    import uvicorn

    sock = bind_socket(host, port)
    server = uvicorn.Server(uvicorn_config(sandbox.app))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name="nuvera-sandbox",
        daemon=True,
    )
    try:
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        bound_host, bound_port = sock.getsockname()[:2]
        yield SandboxServer(base_url_of(sock), bound_host, bound_port, sandbox)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
