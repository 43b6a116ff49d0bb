"""Peak RSS of a 200 MiB streamed upload through NuveraAuth (bound: +32 MiB).

    .venv/bin/python benchmarks/bench_upload_memory.py

A loopback server (stdlib sockets, a thread in this process) drains each
request body and throws it away, so nothing but the client can hold the body.
Each upload runs in a fresh subprocess that reports its peak RSS (VmHWM) before
and after the upload: once from a generator (hashed while spooled to a
temporary file, then sent from it), from a file (hashed, rewound, sent) and as
httpx multipart with that file (rendered twice: hashed, then sent).
MockTransport or test clients read whole bodies, so they cannot show this.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = 200 * 1024 * 1024
BOUND = 32 * 1024 * 1024

CLIENT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[4])
import httpx
from nuvera_client import ApiKey, NuveraAuth
from nuvera_client.keys import generate_private_key

def hwm():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM")

mode, url, path = sys.argv[1], sys.argv[2], sys.argv[3]
size = int(os.environ["UPLOAD_SIZE"])
auth = NuveraAuth(ApiKey.generate("test").reveal(), generate_private_key(2048))
chunk = os.urandom(64 * 1024)

def chunks():
    sent = 0
    while sent < size:
        yield chunk
        sent += len(chunk)

with httpx.Client(auth=auth, timeout=120) as client:
    client.get(url + "/warm-up")  # import and connection costs before the baseline
    before = hwm()
    started = time.perf_counter()
    if mode == "generator":
        response = client.post(url + "/v1/documents", content=chunks())
    elif mode == "multipart":
        with open(path, "rb") as handle:
            response = client.post(
                url + "/v1/documents",
                data={"customer_id": "cus_1", "type": "passport"},
                files={"file": ("upload.bin", handle, "application/octet-stream")},
            )
    else:
        with open(path, "rb") as handle:
            response = client.post(url + "/v1/documents", content=handle)
    elapsed = time.perf_counter() - started
    after = hwm()
print(response.status_code, response.text, before, after, f"{elapsed:.2f}")
"""


def _drain(conn: socket.socket) -> None:
    """Read one HTTP request at a time, discard its body, answer 200."""
    with conn:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            headers = {
                line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")[1:]
                if b":" in line
            }
            remaining = int(headers.get(b"content-length", b"0"))
            chunked = headers.get(b"transfer-encoding", b"").lower() == b"chunked"
            received = 0
            if chunked:  # not expected: the client sends a Content-Length
                body = b"chunked bodies are not supported here"
                conn.sendall(
                    b"HTTP/1.1 411 Length Required\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                return
            taken = min(len(buffer), remaining)
            received += taken
            remaining -= taken
            buffer = buffer[taken:]
            while remaining:
                data = conn.recv(min(remaining, 1 << 20))
                if not data:
                    return
                received += len(data)
                remaining -= len(data)
            body = str(received).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=_drain, args=(conn,), daemon=True).start()


def main() -> int:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop = threading.Event()
    server = threading.Thread(target=_serve, args=(listener, stop), daemon=True)
    server.start()
    worst = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.bin"
            block = os.urandom(1 << 20)
            with path.open("wb") as out:
                for _ in range(SIZE // len(block)):
                    out.write(block)
            print(f"uploading {SIZE >> 20} MiB to {url}; bound +{BOUND >> 20} MiB")
            for mode in ("generator", "file", "multipart"):
                started = time.perf_counter()
                result = subprocess.run(  # noqa: S603 - our own interpreter and code
                    [sys.executable, "-c", CLIENT, mode, url, str(path), str(ROOT)],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                    env={**os.environ, "UPLOAD_SIZE": str(SIZE)},
                )
                if result.returncode != 0:
                    print(result.stderr)
                    return 1
                status, received, before, after, elapsed = result.stdout.split()
                increase = int(after) - int(before)
                worst = max(worst, increase)
                print(
                    f"{mode:>9}: HTTP {status}, drained {int(received) >> 20} MiB, "
                    f"peak RSS {int(before) >> 20} -> {int(after) >> 20} MiB "
                    f"(+{increase / (1 << 20):.1f} MiB), upload {elapsed} s, "
                    f"run {time.perf_counter() - started:.1f} s"
                )
    finally:
        stop.set()
        listener.close()
        server.join(timeout=5)
    verdict = "within" if worst <= BOUND else "ABOVE"
    print(f"worst increase +{worst / (1 << 20):.1f} MiB ({verdict} the 32 MiB bound)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
