"""Request-path hardening of issue 15, on both clients and both HTTP stacks.

Each test fails without its fix: redirects, the clock offset, response size and
depth, secrets in server text and exception chains, dot ids, warning locations.
Every test runs on httpx and, when it is importable, on httpx2.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, CUSTOMER

from nuvera_client import AsyncNuveraClient, NuveraClient, NuveraDeprecationWarning
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    InvalidClockOffsetError,
    InvalidIdError,
    InvalidResponseError,
)

Handler = Callable[[Any], Any]


@pytest.fixture
def mod(http_stack: ModuleType) -> ModuleType:
    """The HTTP library under test: httpx, then httpx2 (``http_stack``)."""
    return http_stack


class Recorder:
    """A MockTransport handler of either stack that records what it was sent."""

    def __init__(self, mod: ModuleType, *replies: Handler) -> None:
        self.mod, self.replies = mod, list(replies)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply(request)


def ok(mod: ModuleType, body: Any = CUSTOMER, **headers: str) -> Handler:
    return lambda _: mod.Response(200, json=body, headers=headers)


def error(mod: ModuleType, status: int, code: str, **details: Any) -> Handler:
    body = {
        "error": {
            "type": "authentication_error",
            "code": code,
            "message": f"m {code}",
            "request_id": "req_1",
            "details": details,
        }
    }
    return lambda _: mod.Response(status, json=body)


@pytest.fixture
def sync_client(
    rsa_key: rsa.RSAPrivateKey, mod: ModuleType
) -> Iterator[Callable[..., tuple[NuveraClient, Recorder]]]:
    made: list[Any] = []

    def make(*replies: Handler, **kw: Any) -> tuple[NuveraClient, Recorder]:
        recorder = Recorder(mod, *replies)
        http = mod.Client(
            transport=mod.MockTransport(recorder),
            follow_redirects=kw.pop("follow_redirects", False),
        )
        client = NuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http, **kw)
        client._sleep = lambda _: None
        made.append(http)
        return client, recorder

    yield make
    for http in made:
        http.close()


@pytest.fixture
def async_client(
    rsa_key: rsa.RSAPrivateKey, mod: ModuleType
) -> Callable[..., tuple[AsyncNuveraClient, Recorder]]:
    def make(*replies: Handler, **kw: Any) -> tuple[AsyncNuveraClient, Recorder]:
        recorder = Recorder(mod, *replies)
        http = mod.AsyncClient(
            transport=mod.MockTransport(recorder),
            follow_redirects=kw.pop("follow_redirects", False),
        )
        client = AsyncNuveraClient(
            API_KEY, rsa_key, base_url=BASE, http_client=http, **kw
        )

        async def no_sleep(_: float) -> None:
            return None

        client._sleep = no_sleep
        return client, recorder

    return make


def redirect(mod: ModuleType) -> Handler:
    return lambda _: mod.Response(307, headers={"location": "https://evil.example/x"})


# -- redirects ---------------------------------------------------------------------


def test_sync_user_client_following_redirects_is_not_redirected(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, recorder = sync_client(redirect(mod), ok(mod), follow_redirects=True)
    with pytest.raises(APIError) as caught:
        client.customers.retrieve("cus_1")
    assert caught.value.status_code == 307
    assert [str(r.url.host) for r in recorder.requests] == ["127.0.0.1"]


@pytest.mark.anyio
async def test_async_user_client_following_redirects_is_not_redirected(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, recorder = async_client(redirect(mod), ok(mod), follow_redirects=True)
    with pytest.raises(APIError) as caught:
        await client.customers.retrieve("cus_1")
    assert caught.value.status_code == 307
    assert [str(r.url.host) for r in recorder.requests] == ["127.0.0.1"]


# -- clock offset -------------------------------------------------------------------

BAD_TIMES = [math.inf, -math.inf, math.nan, 1e300, 10**400, "soon"]


@pytest.mark.parametrize("server_time", BAD_TIMES, ids=repr)
def test_unusable_server_time_leaves_the_offset(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]],
    mod: ModuleType,
    server_time: Any,
) -> None:
    text = json.dumps(
        {
            "error": {
                "type": "authentication_error",
                "code": "token_expired",
                "message": "expired",
                "details": {"server_time": server_time},
            }
        }
    )  # json.dumps writes Infinity / NaN, as a broken server would
    client, recorder = sync_client(
        lambda _: mod.Response(401, content=text.encode()), ok(mod)
    )
    with pytest.raises(AuthenticationError, match="token_expired"):
        client.customers.retrieve("cus_1")
    assert client.auth.clock_offset == 0.0
    assert len(recorder.requests) == 1  # not re-signed with a nonsense clock
    assert client.customers.retrieve("cus_1").id == "cus_1"  # healthy again


def test_offset_beyond_a_day_is_refused_typed(rsa_key: rsa.RSAPrivateKey) -> None:
    client = NuveraClient(API_KEY, rsa_key, base_url=BASE)
    client.auth.clock_offset = 120
    for bad in (math.inf, math.nan, 86_401.0, -86_401, 10**400, True):
        with pytest.raises(InvalidClockOffsetError, match="clock"):
            client.auth.clock_offset = bad
        assert client.auth.clock_offset == 120.0
    client.close()


@pytest.mark.parametrize("skew", [86_000, -86_000])
def test_offset_within_a_day_is_learned(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]],
    mod: ModuleType,
    skew: int,
) -> None:
    import time

    client, _ = sync_client(
        error(mod, 401, "token_expired", server_time=int(time.time()) + skew),
        ok(mod),
    )
    assert client.customers.retrieve("cus_1").id == "cus_1"
    assert client.auth.clock_offset == pytest.approx(skew, abs=5)


# -- response size and depth ------------------------------------------------------


def test_deeply_nested_json_is_invalid_response(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    client, _ = sync_client(lambda _: mod.Response(200, content=deep))
    with pytest.raises(InvalidResponseError, match="nested too deeply"):
        client.customers.retrieve("cus_1")


@pytest.mark.anyio
async def test_async_oversized_json_is_invalid_response(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]], mod: ModuleType
) -> None:
    big = json.dumps({**CUSTOMER, "metadata": {"pad": "x" * 5000}}).encode()
    client, recorder = async_client(
        lambda _: mod.Response(200, content=big), max_response_bytes=4096
    )
    with pytest.raises(InvalidResponseError, match="max_response_bytes") as caught:
        await client.customers.retrieve("cus_1")
    assert caught.value.details == {"max_response_bytes": 4096}
    assert len(recorder.requests) == 1  # not retried


def test_gzip_bomb_is_bounded_while_read(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 512 * 1024

    class Chunks(mod.SyncByteStream):  # type: ignore[name-defined,misc]
        def __iter__(self) -> Iterator[bytes]:
            for start in range(0, len(bomb), 16 * 1024):
                yield bomb[start : start + 16 * 1024]

    client, _ = sync_client(
        lambda _: mod.Response(
            200, headers={"content-encoding": "gzip"}, stream=Chunks()
        ),
        max_response_bytes=1024 * 1024,
    )
    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError):
            client.customers.retrieve("cus_1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 64 MiB decoded without the cap; the cap plus a few decoded chunks with it.
    assert peak < 24 * 1024 * 1024, peak


def test_streamed_download_is_not_capped(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    blob = b"%PDF" + b"\x00" * 20_000
    client, _ = sync_client(
        lambda _: mod.Response(200, content=blob), max_response_bytes=1024
    )
    with client.documents.stream("doc_1") as chunks:
        assert b"".join(chunks) == blob


def test_max_response_bytes_is_checked(rsa_key: rsa.RSAPrivateKey) -> None:
    from nuvera_client.errors import ConfigurationError

    bad: Any
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="max_response_bytes"):
            NuveraClient(API_KEY, rsa_key, base_url=BASE, max_response_bytes=bad)


# -- secrets in server text and exception chains ---------------------------------


def _leaks(text: str, token: str) -> bool:
    return API_KEY.reveal() in text or token in text


def test_server_echo_of_key_and_token_is_redacted(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    def echo(request: Any) -> Any:
        message = (
            f"got {request.headers['x-api-key']} and {request.headers['authorization']}"
            + " pad" * 10_000
        )
        body = {"error": {"code": "invalid_signature", "message": message}}
        return mod.Response(401, json=body, headers={"x-echo": message[:200]})

    client, recorder = sync_client(echo)
    with pytest.raises(AuthenticationError) as caught:
        client.customers.retrieve("cus_1")
    token = recorder.requests[0].headers["authorization"].split()[1]
    err = caught.value
    everything = str(err) + repr(err.details) + repr(err.headers) + err.message
    assert not _leaks(everything, token)
    assert "[redacted]" in err.message
    assert len(str(err)) < 2000  # truncated


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e)


def _assert_chain_clean(exc: BaseException, token: str) -> None:
    for link in _chain(exc):
        assert not _leaks(str(link) + repr(link), token)
        request = None
        with contextlib.suppress(AttributeError, RuntimeError):
            request = link.request  # type: ignore[attr-defined]
        if request is not None:
            for _, value in request.headers.items():
                assert not _leaks(value, token), (type(link), value)


def test_sync_connection_error_chain_has_no_signed_headers(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, recorder = sync_client(mod.ConnectError("refused"), max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        client.customers.retrieve("cus_1")
    token = recorder.requests[0].headers["authorization"].split()[1]
    assert isinstance(caught.value.__cause__, mod.ConnectError)
    _assert_chain_clean(caught.value, token)
    # The request that was sent kept its headers (transports and hooks saw them).
    assert recorder.requests[0].headers["x-api-key"] == API_KEY.reveal()


@pytest.mark.anyio
async def test_async_timeout_chain_has_no_signed_headers(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, recorder = async_client(mod.ReadTimeout("slow"), max_retries=1)
    with pytest.raises(APIConnectionError) as caught:
        await client.customers.retrieve("cus_1")
    assert len(recorder.requests) == 2
    token = recorder.requests[-1].headers["authorization"].split()[1]
    _assert_chain_clean(caught.value, token)


# -- ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_sync_dot_ids_are_refused_before_sending(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]],
    mod: ModuleType,
    bad: str,
) -> None:
    client, recorder = sync_client(ok(mod))
    with pytest.raises(InvalidIdError, match=r"GET /v1/customers/\{id\}: id must be"):
        client.customers.retrieve(bad)
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("bad", ["", ".", ".."])
async def test_async_dot_ids_are_refused_before_sending(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]],
    mod: ModuleType,
    bad: str,
) -> None:
    client, recorder = async_client(ok(mod))
    with pytest.raises(InvalidIdError):
        await client.documents.download(bad)
    assert recorder.requests == []


# -- warnings point at the caller --------------------------------------------------


def test_sync_deprecation_warning_points_here(
    sync_client: Callable[..., tuple[NuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, _ = sync_client(ok(mod, deprecation="true"))
    with pytest.warns(NuveraDeprecationWarning) as record:
        client.customers.retrieve("cus_1")
    assert record[0].filename == __file__


@pytest.mark.anyio
async def test_async_deprecation_warning_points_here(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]], mod: ModuleType
) -> None:
    client, _ = async_client(ok(mod, deprecation="true"))
    with pytest.warns(NuveraDeprecationWarning) as record:
        await client.customers.retrieve("cus_1")
    assert record[0].filename == __file__


@pytest.mark.anyio
async def test_async_warning_from_a_page_and_a_stream_points_here(
    async_client: Callable[..., tuple[AsyncNuveraClient, Recorder]], mod: ModuleType
) -> None:
    page = {"data": [CUSTOMER], "has_more": False, "next_cursor": None}
    client, _ = async_client(ok(mod, page, deprecation="true"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        customers = [c async for c in client.customers.list()]
    assert [c.id for c in customers] == ["cus_1"]
    assert [w.filename for w in record] == [__file__]
    client2, _ = async_client(
        lambda _: mod.Response(200, content=b"abc", headers={"sunset": "2027-01-01"})
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        async with client2.documents.stream("doc_1") as chunks:
            assert b"".join([c async for c in chunks]) == b"abc"
    assert [w.filename for w in record] == [__file__]


# -- choosing the HTTP stack ---------------------------------------------------------


def test_http_stack_argument_and_environment(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nuvera_client.errors import ConfigurationError

    name = http_stack.__name__
    client = NuveraClient(API_KEY, rsa_key, base_url=BASE, http_stack=name)
    assert isinstance(client._http, http_stack.Client)
    agent = client._http.headers["user-agent"]
    assert agent.endswith(f" {name}/{http_stack.__version__}")
    client.close()
    monkeypatch.setenv("NUVERA_HTTP_STACK", name)
    aclient = AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE)
    assert isinstance(aclient._http, http_stack.AsyncClient)
    monkeypatch.setenv("NUVERA_HTTP_STACK", "requests")
    with pytest.raises(ConfigurationError, match="http_stack must be one of"):
        NuveraClient(API_KEY, rsa_key, base_url=BASE)
    with pytest.raises(ConfigurationError, match="http_client= must be"):
        NuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="http_client= must be"):
        AsyncNuveraClient(
            API_KEY, rsa_key, base_url=BASE, http_client=http_stack.Client()
        )


def test_nuvera_auth_is_an_auth_of_the_stack(
    rsa_key: rsa.RSAPrivateKey, http_stack: ModuleType
) -> None:
    from nuvera_client import NuveraAuth

    auth = NuveraAuth(API_KEY, rsa_key)
    assert isinstance(auth, http_stack.Auth)
    request = http_stack.Request("POST", f"{BASE}/v1/customers", json={"a": 1})
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["x-api-key"] == API_KEY.reveal()
    assert signed.headers["authorization"].startswith("Bearer ey")
