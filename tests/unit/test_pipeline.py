"""The one attempt loop: its steps, its observer, and the public-API-only rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, CUSTOMER

from nuvera_client import AsyncNuveraClient, NuveraClient
from nuvera_client._pipeline import (
    FetchCredentials,
    Observer,
    Outcome,
    Send,
    Sleep,
    attempts,
)
from nuvera_client._resource import Call
from nuvera_client._retry import Action, Decision
from nuvera_client.errors import ServerError
from nuvera_client.models import Customer

ROOT = Path(__file__).resolve().parents[2]


class Recording(Observer):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def call_started(self, call: Call[Any], idempotency_key: str | None) -> None:
        self.events.append(("start", call.endpoint))

    def attempt_started(self, call: Call[Any], attempt: int, request: Any) -> None:
        self.events.append(("send", attempt, request.method))

    def attempt_finished(
        self,
        call: Call[Any],
        attempt: int,
        *,
        response: Any,
        error: Exception | None,
        seconds: float,
        body: bytes | None = None,
    ) -> None:
        assert seconds >= 0
        status = response.status_code if response is not None else type(error).__name__
        self.events.append(("done", attempt, status))

    def decided(self, call: Call[Any], attempt: int, decision: Decision) -> None:
        self.events.append(("decided", attempt, decision.action))

    def call_finished(
        self, call: Call[Any], *, attempts: int, error: BaseException | None
    ) -> None:
        self.events.append(("end", attempts, type(error).__name__ if error else None))


def replies(*statuses: int) -> Any:
    left = list(statuses)

    def handler(_: httpx.Request) -> httpx.Response:
        status = left.pop(0) if len(left) > 1 else left[0]
        if status == 200:
            return httpx.Response(200, json=CUSTOMER)
        return httpx.Response(503, json={"error": {"code": "unavailable"}})

    return handler


EXPECTED = [
    ("start", "GET /v1/customers/{id}"),
    ("send", 1, "GET"),
    ("done", 1, 503),
    ("decided", 1, Action.RETRY),
    ("send", 2, "GET"),
    ("done", 2, 200),
    ("end", 2, None),
]


def test_sync_observer_sees_every_event(rsa_key: rsa.RSAPrivateKey) -> None:
    http = httpx.Client(transport=httpx.MockTransport(replies(503, 200)))
    with http, NuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http) as c:
        c._sleep = lambda _: None
        seen = Recording()
        c._core.observer = seen
        assert c.customers.retrieve("cus_1").id == "cus_1"
    assert seen.events == EXPECTED


@pytest.mark.anyio
async def test_async_observer_sees_every_event_and_the_failure(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    async def no_sleep(_: float) -> None:
        return None

    http = httpx.AsyncClient(transport=httpx.MockTransport(replies(503, 200, 503)))
    async with (
        http,
        AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http) as c,
    ):
        c._sleep = no_sleep
        seen = Recording()
        c._core.observer = seen
        assert (await c.customers.retrieve("cus_1")).id == "cus_1"
        assert seen.events == EXPECTED
        seen.events.clear()
        with pytest.raises(ServerError):
            await c.customers.retrieve("cus_1", max_retries=0)
    assert seen.events[-1] == ("end", 1, "ServerError")


def test_the_loop_is_driven_by_hand(rsa_key: rsa.RSAPrivateKey) -> None:
    """No I/O in the generator: a test can play both driver and server."""
    client = NuveraClient(API_KEY, rsa_key, base_url=BASE)
    call: Call[Customer] = Call(
        "GET", "/v1/customers/{id}", {"id": "cus_1"}, parse=Customer.from_dict
    )
    flow = attempts(client._core, call, build=client._http, stream=False, limit=100)
    step = next(flow)
    assert isinstance(step, Send)
    assert step.request.url.path == "/v1/customers/cus_1"
    assert step.limit == 100
    busy = httpx.Response(503, headers={"retry-after": "2"})
    step = flow.send(Outcome(busy, b"{}"))
    assert step == Sleep(2.0)
    step = flow.send(None)
    assert isinstance(step, Send)
    with pytest.raises(StopIteration) as done:
        flow.send(Outcome(httpx.Response(200), b"{}"))
    assert done.value.value.body == b"{}"
    assert not isinstance(step, FetchCredentials)
    client.close()


# -- public API of every dependency only --------------------------------------------


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_no_private_module_of_httpx_is_imported_anywhere() -> None:
    files = [
        *ROOT.joinpath("nuvera_client").rglob("*.py"),
        *ROOT.joinpath("tests").rglob("*.py"),
        *ROOT.joinpath("benchmarks").rglob("*.py"),
    ]
    private = [
        (path.relative_to(ROOT).as_posix(), name)
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in ("httpx", "httpx2")
        and any(part.startswith("_") for part in name.split(".")[1:])
    ]
    assert private == []


def test_ruff_checks_private_access_and_banned_apis() -> None:
    # Text, not tomllib: the tests also run on Python 3.10.
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    select = re.search(r"^select = \[(.*?)\]", config, re.MULTILINE)
    assert select is not None
    assert {'"SLF"', '"TID"'} <= {v.strip() for v in select.group(1).split(",")}
    assert '"random".msg' in config  # the TID251 ban on random
    # No exception of SLF001 inside the package, per file or per line.
    for line in config.splitlines():
        if line.startswith('"nuvera_client'):
            assert "SLF001" not in line, line
    for path in ROOT.joinpath("nuvera_client").rglob("*.py"):
        assert "noqa: SLF" not in path.read_text(encoding="utf-8"), path
