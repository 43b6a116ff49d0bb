"""The lean path of a client's own httpx client (``_own_transport``).

It must be equivalent to ``send()`` wherever it is taken (same requests on the
wire, same results), and give way to ``send()`` wherever it could not be: event
hooks, the library's INFO logging, streamed downloads, closed clients, proxies.
Over MockTransport and over a loopback server, on httpx and httpx2.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any, ClassVar

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from loopback_server import base_url, serve
from scripted import API_KEY, BASE, CUSTOMER

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._own_transport import MAX_IN_FLIGHT, AsyncOwnTransport
from nuvera_client.errors import APITimeoutError

# Which path a call takes depends on httpx's log level (scripts/prove runs at DEBUG).
pytestmark = pytest.mark.usefixtures("http_library_logs_quiet")


class Recorder:
    """A MockTransport handler of either stack: records requests, answers JSON."""

    def __init__(self, module: ModuleType, **headers: str) -> None:
        self.module = module
        self.requests: list[Any] = []
        self.headers = headers

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if request.url.path.endswith("/content"):
            return self.module.Response(200, content=b"abc")
        return self.module.Response(
            200, json=CUSTOMER, headers={"x-request-id": "req_1", **self.headers}
        )


def count_lean(client: Any) -> list[int]:
    """Wrap the client's lean exchange; the list holds its number of uses."""
    lean = client._calls.lean
    assert lean is not None
    uses = [0]
    exchange = lean.exchange
    if isinstance(lean, AsyncOwnTransport):

        async def counted_async(*args: Any) -> Any:
            uses[0] += 1
            return await exchange(*args)

        lean.exchange = counted_async  # type: ignore[method-assign,assignment]
    else:

        def counted(*args: Any) -> Any:
            uses[0] += 1
            return exchange(*args)

        lean.exchange = counted
    return uses


def comparable(request: Any) -> tuple[Any, ...]:
    headers = sorted(
        (k, v)
        for k, v in request.headers.multi_items()
        if k not in ("authorization", "idempotency-key")
    )
    return request.method, str(request.url), headers, request.content


def test_sync_lean_path_sends_what_send_sends(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType
) -> None:
    own, user = Recorder(http_stack), Recorder(http_stack)
    with (
        NuveraClient(
            API_KEY, rsa_key, base_url=BASE, http_stack=http_stack.__name__
        ) as fast,
        http_stack.Client(transport=http_stack.MockTransport(user)) as http,
        NuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http) as slow,
    ):
        fast._use_transport(http_stack.MockTransport(own))
        uses = count_lean(fast)
        results = []
        for client in (fast, slow):
            results.append(
                (
                    client.customers.retrieve("cus_1"),
                    client.customers.create(
                        name="Ada", type="individual", email="ada@example.com"
                    ),
                    client.documents.download("doc_1"),
                )
            )
    assert uses == [3]
    assert results[0] == results[1]
    assert len(own.requests) == len(user.requests) == 3
    for mine, theirs in zip(own.requests, user.requests, strict=True):
        assert comparable(mine) == comparable(theirs)
        assert mine.headers["authorization"].startswith("Bearer ")


@pytest.mark.anyio
async def test_async_lean_path_sends_what_send_sends(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType
) -> None:
    own, user = Recorder(http_stack), Recorder(http_stack)
    fast = AsyncNuveraClient(
        API_KEY, rsa_key, base_url=BASE, http_stack=http_stack.__name__
    )
    fast._use_transport(http_stack.MockTransport(own))
    uses = count_lean(fast)
    async with (
        fast,
        http_stack.AsyncClient(transport=http_stack.MockTransport(user)) as http,
        AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http) as slow,
    ):
        results = [
            (
                await client.customers.retrieve("cus_1"),
                await client.customers.create(
                    name="Ada", type="individual", email="ada@example.com"
                ),
            )
            for client in (fast, slow)
        ]
    assert uses == [2]
    assert results[0] == results[1]
    for mine, theirs in zip(own.requests, user.requests, strict=True):
        assert comparable(mine) == comparable(theirs)


def test_event_hooks_on_the_own_client_take_send(rsa_key: rsa.RSAPrivateKey) -> None:
    seen: list[str] = []
    recorder = Recorder(httpx)
    with NuveraClient(API_KEY, rsa_key, base_url=BASE) as client:
        client._use_transport(httpx.MockTransport(recorder))
        uses = count_lean(client)
        client.customers.retrieve("cus_1")
        client._http.event_hooks = {
            "request": [lambda r: seen.append(r.headers["authorization"][:7])],
            "response": [lambda r: seen.append(str(r.status_code))],
        }
        client.customers.retrieve("cus_1")
    assert uses == [1]  # the first call only
    assert seen == ["Bearer ", "200"]  # the hooks saw the signed request


@pytest.mark.anyio
async def test_async_event_hooks_on_the_own_client_take_send(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    seen: list[int] = []

    async def hook(response: httpx.Response) -> None:
        seen.append(response.status_code)

    client = AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE)
    client._use_transport(httpx.MockTransport(Recorder(httpx)))
    uses = count_lean(client)
    async with client:
        client._http.event_hooks = {"request": [], "response": [hook]}
        await client.customers.retrieve("cus_1")
    assert uses == [0]
    assert seen == [200]


def test_library_logging_at_info_takes_send(
    rsa_key: rsa.RSAPrivateKey,
    http_stack: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = http_stack.__name__
    with NuveraClient(API_KEY, rsa_key, base_url=BASE, http_stack=name) as client:
        client._use_transport(http_stack.MockTransport(Recorder(http_stack)))
        uses = count_lean(client)
        with caplog.at_level(logging.INFO, logger=name):
            client.customers.retrieve("cus_1")
        client.customers.retrieve("cus_1")  # logger back at WARNING: lean
    lines = [r.getMessage() for r in caplog.records if r.name == name]
    assert lines == [
        'HTTP Request: GET http://127.0.0.1:8787/v1/customers/cus_1 "HTTP/1.1 200 OK"'
    ]
    assert uses == [1]


def test_streamed_download_takes_send(rsa_key: rsa.RSAPrivateKey) -> None:
    recorder = Recorder(httpx)
    with NuveraClient(API_KEY, rsa_key, base_url=BASE) as client:
        client._use_transport(httpx.MockTransport(recorder))
        uses = count_lean(client)
        with client.documents.stream("doc_1") as chunks:
            assert b"".join(chunks) == b"abc"
        assert client.documents.download("doc_1") == b"abc"
    assert uses == [1]  # the download, not the stream
    assert len(recorder.requests) == 2


def test_closed_client_raises_as_send_does(rsa_key: rsa.RSAPrivateKey) -> None:
    client = NuveraClient(API_KEY, rsa_key, base_url=BASE)
    client._use_transport(httpx.MockTransport(Recorder(httpx)))
    uses = count_lean(client)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.customers.retrieve("cus_1")
    assert uses == [0]


def test_cookies_kept_in_the_jar_as_send_keeps_them(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    recorder = Recorder(httpx, **{"set-cookie": "session=s1; Path=/"})
    with NuveraClient(API_KEY, rsa_key, base_url=BASE) as client:
        client._use_transport(httpx.MockTransport(recorder))
        uses = count_lean(client)
        client.customers.retrieve("cus_1")
        client.customers.retrieve("cus_1")
    assert uses == [2]
    assert "cookie" not in recorder.requests[0].headers
    assert recorder.requests[1].headers["cookie"] == "session=s1"


# -- proxies ---------------------------------------------------------------------


class _Proxy(BaseHTTPRequestHandler):
    """A forward proxy that answers itself: it records the absolute-form target."""

    protocol_version = "HTTP/1.1"
    targets: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).targets.append(self.path)
        data = json.dumps(CUSTOMER).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.server_address[1]}")
    _Proxy.targets = []
    try:
        yield _Proxy.targets
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_environment_proxies_are_honoured(
    rsa_key: rsa.RSAPrivateKey, proxy: list[str]
) -> None:
    # Nothing listens on port 9: the answer can only come from the proxy.
    with NuveraClient(API_KEY, rsa_key, base_url="http://127.0.0.1:9") as client:
        assert client._calls.lean is None
        customer = client.customers.retrieve("cus_1")
    assert customer.id == CUSTOMER["id"]
    assert proxy == ["http://127.0.0.1:9/v1/customers/cus_1"]


@pytest.mark.anyio
async def test_async_environment_proxies_are_honoured(
    rsa_key: rsa.RSAPrivateKey, proxy: list[str]
) -> None:
    async with AsyncNuveraClient(
        API_KEY, rsa_key, base_url="http://127.0.0.1:9"
    ) as client:
        assert client._calls.lean is None
        customer = await client.customers.retrieve("cus_1")
    assert customer.id == CUSTOMER["id"]
    assert proxy == ["http://127.0.0.1:9/v1/customers/cus_1"]


# -- over loopback ------------------------------------------------------------------


def test_sync_lean_path_over_loopback(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType
) -> None:
    with (
        serve(rsa_key.public_key(), API_KEY.reveal()) as server,
        NuveraClient(
            API_KEY, rsa_key, base_url=base_url(server), http_stack=http_stack.__name__
        ) as client,
    ):
        uses = count_lean(client)
        for _ in range(3):
            assert json.loads(client.documents.download("doc_1"))["ok"] is True
    assert uses == [3]
    assert [seen.code for seen in server.seen] == ["ok"] * 3  # verified signatures


@pytest.mark.anyio
async def test_async_lean_path_queues_before_the_pool_over_loopback(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType
) -> None:
    calls = 3 * MAX_IN_FLIGHT
    with serve(rsa_key.public_key(), API_KEY.reveal()) as server:
        async with AsyncNuveraClient(
            API_KEY, rsa_key, base_url=base_url(server), http_stack=http_stack.__name__
        ) as client:
            lean = client._calls.lean
            assert lean is not None
            inside = [0, 0]  # now, most
            handle = lean.transport.handle_async_request

            async def watched(request: Any) -> Any:
                inside[0] += 1
                inside[1] = max(inside)
                try:
                    response = await handle(request)
                    await response.aread()
                    return response
                finally:
                    inside[0] -= 1

            lean.transport.handle_async_request = watched
            uses = count_lean(client)
            async with anyio.create_task_group() as group:
                for _ in range(calls):
                    group.start_soon(client.documents.download, "doc_1")
    assert uses == [calls]
    assert 1 < inside[1] <= MAX_IN_FLIGHT
    assert [seen.code for seen in server.seen] == ["ok"] * calls


@pytest.mark.anyio
async def test_queue_honours_the_pool_timeout(rsa_key: rsa.RSAPrivateKey) -> None:
    release = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=CUSTOMER)

    timeout = httpx.Timeout(5.0, pool=0.05)
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        lean = AsyncOwnTransport(http, httpx.MockTransport(slow), httpx, 1)
        async with AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE) as client:
            auth = client.auth

            async def one() -> Any:
                request = http.build_request("GET", BASE + "/v1/x", timeout=timeout)
                return await lean.exchange(request, auth, None, 1000)

            async with anyio.create_task_group() as group:
                group.start_soon(one)
                await anyio.sleep(0.01)
                with pytest.raises(httpx.PoolTimeout) as caught:
                    await one()
                assert caught.value.request.url.path == "/v1/x"
                release.set()


@pytest.mark.anyio
async def test_client_pool_timeout_is_an_api_timeout_error(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=CUSTOMER)

    monkeypatch.setattr("nuvera_client._client.MAX_IN_FLIGHT", 1)
    client = AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        timeout=httpx.Timeout(5.0, pool=0.05),
        max_retries=0,
    )
    lean = client._calls.lean
    assert lean is not None
    lean.transport = httpx.MockTransport(slow)  # the queue of one stays
    async with client, anyio.create_task_group() as group:
        group.start_soon(client.customers.retrieve, "cus_1")
        await anyio.sleep(0.01)
        with pytest.raises(APITimeoutError, match="PoolTimeout"):
            await client.customers.retrieve("cus_2")
        release.set()


@pytest.mark.parametrize("jar", [False, True])
def test_lean_builder_builds_what_build_request_builds(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType, jar: bool
) -> None:
    with NuveraClient(
        API_KEY, rsa_key, base_url=BASE, http_stack=http_stack.__name__
    ) as client:
        lean, http = client._calls.lean, client._http
        assert lean is not None
        if jar:  # a cookie in the jar: the client's own build_request is used
            http.cookies.set("session", "s1", domain="127.0.0.1")
        for params, content, timeout in (
            (None, None, http_stack.Timeout(30.0, connect=10.0)),
            ([("limit", "2"), ("email", "a+b@x.org")], b'{"a":1}', 3.5),
        ):
            args: dict[str, Any] = {
                "params": params,
                "headers": {"accept": "application/json", "x-extra": "1"},
                "timeout": timeout,
                "content": content,
            }
            url = BASE + "/v1/customers/cus_1"
            mine = lean.build_request("POST", url, **args)
            theirs = http.build_request("POST", url, **args)
            assert type(mine) is type(theirs)
            assert mine.url == theirs.url
            assert mine.headers.raw == theirs.headers.raw
            assert mine.extensions == theirs.extensions
            assert mine.content == theirs.content


def test_lean_build_request_parses_a_url_once_and_stays_bounded() -> None:
    from nuvera_client import _own_transport as own

    http = httpx.AsyncClient()
    lean = own._Lean(http, None, httpx)
    url = "https://api.example.test/v1/customers/cus_1"
    first = lean.build_request("GET", url, params={"limit": 2})
    second = lean.build_request("GET", url)
    assert str(first.url) == url + "?limit=2"
    assert str(second.url) == url
    assert lean._url.cache_info().hits == 1
    for i in range(own.URL_CACHE_SIZE + 10):
        lean.build_request("GET", f"{url}{i}")
    assert lean._url.cache_info().currsize == own.URL_CACHE_SIZE
