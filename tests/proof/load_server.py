"""The load test's server: a sandbox on a state file, counting every ``jti`` it gets.

    python -m proof.load_server --state S --port P --out counts.json

An ASGI wrapper reads the token's ``jti`` from each request's ``Authorization``
header before the sandbox sees it; when uvicorn stops (SIGTERM), the counts are
written to ``--out``. The client is then left on its own fast path, unhooked.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn

from nuvera_client.sandbox import Sandbox


class JtiCounter:
    """ASGI middleware: count the ``jti`` of every request, then pass it on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.jtis: Counter[str] = Counter()
        self.requests = 0
        self.unreadable = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            for name, value in scope["headers"]:
                if name == b"authorization":
                    try:
                        payload = value.split(b".")[1]
                        padded = payload + b"=" * (-len(payload) % 4)
                        self.jtis[
                            json.loads(base64.urlsafe_b64decode(padded))["jti"]
                        ] += 1
                    except (IndexError, ValueError, KeyError, TypeError):
                        self.unreadable += 1
        await self.app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with Sandbox(args.state) as sandbox:
        app = JtiCounter(sandbox.app)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=args.port,
            lifespan="off",
            log_config=None,
            access_log=False,
            ws="none",
        )
        started = time.monotonic()
        cpu = time.process_time()
        # uvicorn re-raises the stop signal once it has shut down; a handler of our
        # own makes that a no-op, so the counts below still get written.
        signal.signal(signal.SIGTERM, lambda *_: None)
        uvicorn.Server(config).run()
        result = {
            "requests": app.requests,
            "attempts_with_token": sum(app.jtis.values()),
            "distinct_jti": len(app.jtis),
            "reused_jti": sum(n - 1 for n in app.jtis.values() if n > 1),
            "unreadable_tokens": app.unreadable,
            "uptime_seconds": round(time.monotonic() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
        }
    args.out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
