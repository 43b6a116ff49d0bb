"""Owns a tiny loopback HTTP server that records each request exactly as received."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Captured:
    """One request off the wire: request line parts, headers, de-chunked body."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool
    body_sha256: str = ""
    body_length: int = 0

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


Responder = Callable[[Captured, int], tuple[int, dict[str, str], bytes]]


def _ok(_req: Captured, _n: int) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b'{"data": [], "has_more": false, "next_cursor": null}'


KEEP_LIMIT = 1 << 20  # bodies larger than this are hashed, not kept


class _Sink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.kept = bytearray()
        self.length = 0

    def add(self, data: bytes) -> None:
        self.digest.update(data)
        self.length += len(data)
        if self.length <= KEEP_LIMIT:
            self.kept += data
        else:
            self.kept.clear()


def _read_request(conn: socket.socket) -> Captured | None:
    data = b""
    for _ in range(10_000):
        if b"\r\n\r\n" in data:
            break
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ")
    headers = [
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines)
    ]
    lowered = {k.lower(): v for k, v in headers}
    chunked = lowered.get("transfer-encoding", "").lower() == "chunked"
    sink = _Sink()
    if chunked:
        for _ in range(10_000_000):
            while b"\r\n" not in rest:
                rest += conn.recv(65536)
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += conn.recv(65536)
            sink.add(rest[:size])
            rest = rest[size + 2 :]
            if size == 0:
                break
    else:
        remaining = int(lowered.get("content-length", "0"))
        sink.add(rest[:remaining])
        remaining -= len(rest[:remaining])
        for _ in range(10_000_000):
            if remaining <= 0:
                break
            chunk = conn.recv(min(65536, remaining))
            if not chunk:
                break
            sink.add(chunk)
            remaining -= len(chunk)
    return Captured(
        method,
        target,
        headers,
        bytes(sink.kept),
        chunked,
        sink.digest.hexdigest(),
        sink.length,
    )


@dataclass
class CaptureServer:
    """Where the capture server listens and what it has seen."""

    port: int
    seen: list[Captured]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def capture_server(responder: Responder = _ok) -> Iterator[CaptureServer]:
    """Serve on 127.0.0.1:0; answer each request with ``responder(request, n)``."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    state = CaptureServer(listener.getsockname()[1], [])
    stop = threading.Event()
    open_conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                continue
            open_conns.append(conn)
            with conn:
                conn.settimeout(10)
                for _ in range(1000):  # keep-alive: several requests per connection
                    try:
                        req = _read_request(conn)
                    except OSError:
                        break
                    if req is None:
                        break
                    state.seen.append(req)
                    status, headers, body = responder(req, len(state.seen))
                    if status == 0:  # drop the connection without an answer
                        break
                    out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                    out.append(f"Date: {email.utils.formatdate(usegmt=True)}")
                    out.append("Content-Type: application/json")
                    out.append("x-request-id: req_capture")
                    out += [f"{k}: {v}" for k, v in headers.items()]
                    wire = ("\r\n".join(out) + "\r\n\r\n").encode() + body
                    try:
                        conn.sendall(wire)
                    except OSError:  # the client gave up (timeout tests)
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        for conn in open_conns:  # wake a thread blocked on a kept-alive connection
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        thread.join(5)
        listener.close()


def error_body(status_type: str, code: str, **details: object) -> bytes:
    """A §6 error body."""
    return json.dumps(
        {
            "error": {
                "type": status_type,
                "code": code,
                "message": code,
                "request_id": "req_capture",
                "details": details,
            }
        }
    ).encode()
