"""A stdlib HTTP server on 127.0.0.1 that verifies Nuvera tokens independently.

It reads the raw request line and body off the socket (Content-Length or chunked),
recomputes the body hash and checks the token with :mod:`jwt_verifier`; a
refused request gets a PROTOCOL §6 error body.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import VerificationError, verify


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]
    body_length: int
    body_sha256: str
    code: str
    claims: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def _read_body(self) -> tuple[int, str]:
        digest = hashlib.sha256()
        length = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    digest.update(chunk)
                    remaining -= len(chunk)
                    length += len(chunk)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                digest.update(chunk)
                remaining -= len(chunk)
                length += len(chunk)
        return length, digest.hexdigest()

    def _handle(self) -> None:
        length, sha = self._read_body()
        if self.path.startswith("/redirect?to="):
            self.server.seen.append(
                Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    length,
                    sha,
                    "redirected",
                )
            )
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect?to="))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        seen = Seen(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            length,
            sha,
            "ok",
        )
        auth = self.headers.get("Authorization", "")
        try:
            if not auth.startswith("Bearer "):
                raise VerificationError("missing_signature")
            if self.headers.get("x-api-key") != self.server.api_key:
                raise VerificationError("invalid_api_key")
            token = auth[len("Bearer ") :]
            seen.claims = verify(
                token,
                self.server.public_key,
                method=self.command,
                uri=self.path,
                body_hash=sha,
            ).claims
        except VerificationError as exc:
            seen.code = exc.code
        self.server.seen.append(seen)
        status = 200 if seen.code == "ok" else 401
        if seen.code == "ok":
            payload: dict[str, Any] = {"ok": True, "body_length": length}
        else:
            payload = {
                "error": {
                    "type": "authentication_error",
                    "code": seen.code,
                    "message": "refused by the test server",
                    "request_id": "req_test",
                    "details": {},
                }
            }
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_test")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, public_key: rsa.RSAPublicKey, api_key: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.public_key = public_key
        self.api_key = api_key
        self.seen: list[Seen] = []


@contextmanager
def serve(public_key: rsa.RSAPublicKey, api_key: str) -> Iterator[_Server]:
    """Run the verifying server on 127.0.0.1 for the ``with`` block."""
    server = _Server(public_key, api_key)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def base_url(server: _Server) -> str:
    """The server's http://127.0.0.1:port."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
