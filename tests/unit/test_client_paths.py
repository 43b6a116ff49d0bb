"""AsyncNuveraClient with its own httpx client against one with a user's client.

Both clients talk to the same scripted MockTransport through one attempt loop;
every request they put on the wire and every error they raise must be the same,
and an attempt goes either straight to the own client's transport (the lean path
of ``_own_transport``, public transport API) or through its public ``send()``.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import b64url_decode, verify
from scripted import API_KEY, BASE, CUSTOMER, PAYMENT, TS, Script, Server

from nuvera_client._api_key import ApiKey
from nuvera_client._client import AsyncNuveraClient
from nuvera_client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidResponseError,
    NotFoundError,
    NuveraDeprecationWarning,
    ServerError,
)

# Which path a call takes depends on httpx's log level (scripts/prove runs at DEBUG).
pytestmark = pytest.mark.usefixtures("http_library_logs_quiet")


def ok(body: Any, status: int = 200, **headers: str) -> Callable[..., httpx.Response]:
    # A factory: each client gets its own response object.
    return lambda _: httpx.Response(
        status, json=body, headers={"x-request-id": "req_ok", **headers}
    )


def error(status: int, code: str) -> Callable[..., httpx.Response]:
    body = {
        "error": {
            "type": "x",
            "code": code,
            "message": f"m {code}",
            "request_id": "req_abc",
            "details": {},
        }
    }
    return lambda _: httpx.Response(
        status, json=body, headers={"x-request-id": "req_abc"}
    )


class Pair:
    """A client on its own httpx client ("fast") and one on a user's ("slow")."""

    def __init__(self, key: rsa.RSAPrivateKey, *script: Script, **kw: Any) -> None:
        self.fast_server, self.slow_server = Server(*script), Server(*script)
        self.fast = AsyncNuveraClient(API_KEY, key, base_url=BASE, **kw)
        self.fast._use_transport(httpx.MockTransport(self.fast_server))
        self.user_http = httpx.AsyncClient(
            transport=httpx.MockTransport(self.slow_server)
        )
        self.slow = AsyncNuveraClient(
            API_KEY, key, base_url=BASE, http_client=self.user_http, **kw
        )
        self.sends = 0  # attempts through the own client's public send()
        self.lean = 0  # attempts straight to its own transport (_own_transport)
        self.sleeps: dict[str, list[float]] = {"fast": [], "slow": []}
        for name, client in (("fast", self.fast), ("slow", self.slow)):
            client._sleep = self._sleeper(self.sleeps[name])
        own_send = self.fast._http.send
        self.responses: list[httpx.Response] = []

        async def counting_send(*args: Any, **kwargs: Any) -> httpx.Response:
            self.sends += 1
            assert kwargs.get("follow_redirects") is False
            response = await own_send(*args, **kwargs)
            self.responses.append(response)
            return response

        self.fast._http.send = counting_send  # type: ignore[method-assign]
        lean = self.fast._calls.lean
        assert lean is not None
        own_exchange = lean.exchange

        async def counting_exchange(*args: Any) -> Any:
            self.lean += 1
            outcome = await own_exchange(*args)
            self.responses.append(outcome[0])
            return outcome

        lean.exchange = counting_exchange  # type: ignore[method-assign,assignment]

    @property
    def attempts(self) -> int:
        """Attempts of the own client, lean or through send()."""
        return self.sends + self.lean

    @staticmethod
    def _sleeper(into: list[float]) -> Callable[[float], Awaitable[None]]:
        async def sleep(delay: float) -> None:
            into.append(delay)

        return sleep

    async def run(
        self, action: Callable[[AsyncNuveraClient], Awaitable[Any]]
    ) -> tuple[Any, Any]:
        """Run ``action`` on both clients; return (fast, slow) results or errors."""
        results: list[Any] = []
        for client in (self.fast, self.slow):
            try:
                results.append(await action(client))
            except Exception as exc:  # compared by the caller
                results.append(exc)
        return results[0], results[1]

    async def aclose(self) -> None:
        await self.fast.aclose()
        await self.slow.aclose()
        await self.user_http.aclose()


@pytest.fixture
async def make_pair(
    rsa_key: rsa.RSAPrivateKey,
) -> AsyncIterator[Callable[..., Pair]]:
    made: list[Pair] = []

    def make(*script: Script, **kw: Any) -> Pair:
        made.append(Pair(rsa_key, *script, **kw))
        return made[-1]

    yield make
    for pair in made:
        await pair.aclose()


def claims(request: httpx.Request) -> dict[str, Any]:
    token = request.headers["authorization"].removeprefix("Bearer ")
    payload: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return payload


def assert_same_request(
    fast: httpx.Request,
    slow: httpx.Request,
    key: rsa.RSAPrivateKey,
    *,
    random: frozenset[bytes] = frozenset(),
) -> None:
    assert fast.method == slow.method
    assert fast.url == slow.url
    assert fast.url.raw_path == slow.url.raw_path
    assert fast.content == slow.content
    assert fast.extensions == slow.extensions
    # Same headers, same order; only the token differs (fresh jti, maybe iat).
    skip = {b"authorization", *random}
    fast_headers = [(k, v) for k, v in fast.headers.raw if k not in skip]
    slow_headers = [(k, v) for k, v in slow.headers.raw if k not in skip]
    assert fast_headers == slow_headers
    assert [k for k, _ in fast.headers.raw] == [k for k, _ in slow.headers.raw]
    assert fast.headers["x-api-key"] == API_KEY.reveal()
    assert fast.headers["user-agent"].startswith("nuvera-python/")
    target = fast.url.raw_path.decode("ascii")
    for request in (fast, slow):
        token = request.headers["authorization"].removeprefix("Bearer ")
        verify(
            token,
            key.public_key(),
            method=request.method,
            uri=target,
            body=request.content,
        )
    fast_claims, slow_claims = claims(fast), claims(slow)
    assert fast_claims["jti"] != slow_claims["jti"]
    for name in ("iat", "exp", "jti"):
        del fast_claims[name], slow_claims[name]
    assert fast_claims == slow_claims


async def first_data(client: AsyncNuveraClient, **query: Any) -> Any:
    return (await client.customers.list(**query).first_page()).data


CALLS: list[tuple[str, Callable[[AsyncNuveraClient], Awaitable[Any]], Script]] = [
    ("retrieve", lambda c: c.customers.retrieve("cus_1"), ok(CUSTOMER)),
    (
        "odd id",
        lambda c: c.customers.retrieve("cus 1/../ü?#%"),
        ok(CUSTOMER),
    ),
    (
        "list with query",
        lambda c: first_data(c, email="a+b@ex.com", limit=10, status="active"),
        ok({"data": [CUSTOMER], "has_more": False}),
    ),
    (
        "list with non-ASCII and reserved characters",
        lambda c: first_data(c, external_id="é&x=1 [ok]/?"),
        ok({"data": [], "has_more": False}),
    ),
    (
        "create (JSON, Idempotency-Key)",
        lambda c: c.customers.create(
            type="individual",
            name="Zoë",
            email="z@ex.com",
            metadata={"k": "v"},
            idempotency_key="idem-1",
        ),
        ok(CUSTOMER, 201),
    ),
    (
        "update (PATCH)",
        lambda c: c.customers.update("cus_1", name="Bob"),
        ok(CUSTOMER),
    ),
    (
        "cancel (bodiless POST)",
        lambda c: c.payments.cancel("pay_1", idempotency_key="idem-2"),
        ok(PAYMENT),
    ),
    (
        "per-call timeout",
        lambda c: c.customers.retrieve("cus_1", timeout=2.5),
        ok(CUSTOMER),
    ),
    (
        "download (bytes)",
        lambda c: c.documents.download("doc_1"),
        lambda _: httpx.Response(200, content=b"%PDF-1"),
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "action", "reply"), CALLS, ids=[c[0] for c in CALLS])
async def test_same_request_and_result(
    make_pair: Callable[..., Pair],
    rsa_key: rsa.RSAPrivateKey,
    name: str,
    action: Callable[[AsyncNuveraClient], Awaitable[Any]],
    reply: Script,
) -> None:
    pair = make_pair(reply)
    fast, slow = await pair.run(action)
    assert not isinstance(fast, Exception), fast
    assert fast == slow
    assert (pair.lean, pair.sends) == (1, 0)  # the lean path, never redirected
    assert len(pair.fast_server.requests) == len(pair.slow_server.requests) == 1
    assert_same_request(
        pair.fast_server.requests[0], pair.slow_server.requests[0], rsa_key
    )


def gzip_garbage(_: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=b"not gzip", headers={"content-encoding": "gzip"}
    )


def unparsable(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"{")


def bad_redirect(_: httpx.Request) -> httpx.Response:
    return httpx.Response(302, headers={"location": "http://a:b/"})  # bad port


ERRORS: list[tuple[str, list[Script], type[Exception] | None, int]] = [
    ("404", [error(404, "not_found")], NotFoundError, 1),
    ("503 until out of retries", [error(503, "unavailable")], ServerError, 3),
    ("503 then success", [error(503, "unavailable"), ok(CUSTOMER)], None, 2),
    ("connect timeout", [httpx.ConnectTimeout("slow")], APITimeoutError, 3),
    ("read timeout", [httpx.ReadTimeout("slow")], APITimeoutError, 3),
    ("connection reset", [httpx.ConnectError("reset")], APIConnectionError, 3),
    ("undecodable body", [gzip_garbage], APIConnectionError, 1),
    ("redirect (never followed)", [ok({}, 307, location="/v2")], APIError, 1),
    (
        "unparsable 200",
        [lambda _: httpx.Response(200, content=b"{")],
        InvalidResponseError,
        1,
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "script", "kind", "attempts"), ERRORS, ids=[e[0] for e in ERRORS]
)
async def test_same_errors_and_retries(
    make_pair: Callable[..., Pair],
    rsa_key: rsa.RSAPrivateKey,
    name: str,
    script: list[Script],
    kind: type[Exception] | None,
    attempts: int,
) -> None:
    pair = make_pair(*script)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    if kind is None:
        assert fast == slow
    else:
        assert type(fast) is type(slow) is kind
        assert str(fast) == str(slow)
        assert type(fast.__cause__) is type(slow.__cause__)
        if isinstance(fast, APIError):
            assert isinstance(slow, APIError)
            assert (fast.status_code, fast.code, fast.request_id) == (
                slow.status_code,
                slow.code,
                slow.request_id,
            )
    assert len(pair.fast_server.requests) == len(pair.slow_server.requests)
    assert len(pair.fast_server.requests) == attempts
    assert len(pair.sleeps["fast"]) == len(pair.sleeps["slow"]) == attempts - 1
    assert pair.attempts == attempts
    jtis = {claims(r)["jti"] for r in pair.fast_server.requests}
    assert len(jtis) == attempts  # every attempt re-signed
    for fast_request, slow_request in zip(
        pair.fast_server.requests, pair.slow_server.requests, strict=True
    ):
        assert_same_request(fast_request, slow_request, rsa_key)


@pytest.mark.anyio
async def test_timeout_error_carries_the_request_without_secrets(
    make_pair: Callable[..., Pair],
) -> None:
    def timeout(_: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")  # a new exception for each client

    pair = make_pair(timeout, max_retries=0)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert isinstance(fast, APITimeoutError)
    assert isinstance(slow, APITimeoutError)
    for err, server in ((fast, pair.fast_server), (slow, pair.slow_server)):
        cause = err.__cause__
        assert isinstance(cause, httpx.ReadTimeout)
        sent = server.requests[0]
        assert cause.request.url == sent.url
        assert cause.request.method == sent.method
        # The signed headers stay on the request sent, never on the exception.
        assert sent.headers["x-api-key"] == API_KEY.reveal()
        assert cause.request.headers["x-api-key"] == "[redacted]"
        assert cause.request.headers["authorization"] == "[redacted]"


@pytest.mark.anyio
async def test_response_is_read_closed_and_bound(
    make_pair: Callable[..., Pair],
) -> None:
    pair = make_pair(ok(CUSTOMER))
    customer = await pair.fast.customers.retrieve("cus_1")
    (response,) = pair.responses
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.request is pair.fast_server.requests[0]
    assert response.history == []
    assert customer.id == CUSTOMER["id"]


class _Chunks(httpx.AsyncByteStream):
    """A response body in chunks, as a network transport streams it."""

    def __init__(self, *chunks: bytes, fail: bool = False) -> None:
        self.chunks, self.fail, self.closed = chunks, fail, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail:
            raise httpx.RemoteProtocolError("peer closed the connection")

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_streamed_body_read_like_aread(make_pair: Callable[..., Pair]) -> None:
    body = json.dumps(CUSTOMER).encode()
    streams: list[_Chunks] = []

    def streamed(_: httpx.Request) -> httpx.Response:
        streams.append(_Chunks(body[:7], b"", body[7:]))
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=streams[-1])

    pair = make_pair(streamed)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert fast == slow
    assert fast.id == CUSTOMER["id"]
    assert pair.lean == 1
    (response,) = pair.responses
    assert response.num_bytes_downloaded == len(body)
    assert response.is_stream_consumed
    assert response.is_closed
    assert all(stream.closed for stream in streams)


@pytest.mark.anyio
async def test_body_cut_off_mid_stream_is_retried_like_send(
    make_pair: Callable[..., Pair],
) -> None:
    def cut(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(b'{"id":', fail=True))

    pair = make_pair(cut, cut, cut)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert isinstance(fast, APIConnectionError)
    assert isinstance(slow, APIConnectionError)
    assert str(fast) == str(slow)
    assert len(pair.fast_server.requests) == len(pair.slow_server.requests) == 3
    for err, server in ((fast, pair.fast_server), (slow, pair.slow_server)):
        cause = err.__cause__
        assert isinstance(cause, httpx.RemoteProtocolError)
        assert cause.request.url == server.requests[-1].url
        assert cause.request.headers["x-api-key"] == "[redacted]"


@pytest.mark.anyio
async def test_gzip_body_decoded(make_pair: Callable[..., Pair]) -> None:
    def gzipped(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=gzip.compress(json.dumps(CUSTOMER).encode()),
            headers={"content-encoding": "gzip"},
        )

    pair = make_pair(gzipped)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert fast == slow
    assert fast.id == "cus_1"


@pytest.mark.anyio
async def test_deprecation_warned_once_on_both_paths(
    make_pair: Callable[..., Pair],
) -> None:
    pair = make_pair(ok(CUSTOMER, deprecation="true", sunset="2027-01-01"))
    messages = []
    for client in (pair.fast, pair.slow):
        with pytest.warns(NuveraDeprecationWarning) as caught:
            await client.customers.retrieve("cus_1")
        await client.customers.retrieve("cus_1")  # once per endpoint: no warning
        assert len(caught) == 1
        messages.append(str(caught[0].message))
    assert messages[0] == messages[1]
    assert "2027-01-01" in messages[0]
    assert pair.fast.permissions_used == pair.slow.permissions_used


@pytest.mark.anyio
async def test_cookies_kept_like_send(
    make_pair: Callable[..., Pair],
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    # Nuvera sets no cookies, but if a proxy does, both paths send them back.
    def cookie(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=CUSTOMER, headers={"set-cookie": "lb=a1"})

    pair = make_pair(cookie, ok(CUSTOMER))
    for _ in range(2):
        fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
        assert fast == slow
    second_fast, second_slow = (
        pair.fast_server.requests[1],
        pair.slow_server.requests[1],
    )
    assert second_fast.headers["cookie"] == second_slow.headers["cookie"] == "lb=a1"
    assert_same_request(second_fast, second_slow, rsa_key)


@pytest.mark.anyio
async def test_closed_client_raises_like_send(
    make_pair: Callable[..., Pair],
) -> None:
    pair = make_pair(ok(CUSTOMER))
    await pair.fast.aclose()
    await pair.user_http.aclose()
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert type(fast) is type(slow) is RuntimeError
    assert str(fast) == str(slow)


@pytest.mark.anyio
async def test_malformed_redirect_is_the_3xx_on_the_lean_path(
    make_pair: Callable[..., Pair],
) -> None:
    # The one known difference: send() builds the next request of any redirect
    # (never followed) and fails on a malformed Location; the lean path builds
    # none and reports the 302 as received. Signed requests are never redirected.
    pair = make_pair(bad_redirect)
    fast, slow = await pair.run(lambda c: c.customers.retrieve("cus_1"))
    assert isinstance(fast, APIError)
    assert fast.status_code == 302
    assert len(pair.fast_server.requests) == 1
    assert isinstance(slow, APIConnectionError)
    assert isinstance(slow.__cause__, httpx.RemoteProtocolError)


@pytest.mark.anyio
async def test_streams_keep_send_and_uploads_go_lean(
    make_pair: Callable[..., Pair],
) -> None:
    document = {
        "id": "doc_1",
        "object": "document",
        "customer_id": "cus_1",
        "type": "passport",
        "filename": "p.pdf",
        "content_type": "application/pdf",
        "size": 3,
        "sha256": "00" * 32,
        "created_at": TS,
    }
    pair = make_pair(lambda _: httpx.Response(200, content=b"abc"), ok(document, 201))
    async with pair.fast.documents.stream("doc_1") as chunks:
        assert b"".join([chunk async for chunk in chunks]) == b"abc"
    assert (pair.sends, pair.lean) == (1, 0)  # a streamed body: send(stream=True)
    await pair.fast.documents.upload(customer_id="cus_1", type="passport", file=b"abc")
    assert (pair.sends, pair.lean) == (1, 1)
    upload = pair.fast_server.requests[1]
    assert upload.headers["content-type"].startswith("multipart/form-data")


@pytest.mark.anyio
async def test_user_http_client_keeps_send_and_its_hooks(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.headers["authorization"][:7])

    server = Server(ok(CUSTOMER))
    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(server),
            event_hooks={"request": [hook]},
        ) as http,
        AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http) as client,
    ):
        await client.customers.retrieve("cus_1")
        await client.customers.retrieve("cus_1")
    assert seen == ["Bearer ", "Bearer "]  # the hook saw the signed request
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_use_transport_needs_an_own_client(rsa_key: rsa.RSAPrivateKey) -> None:
    async with httpx.AsyncClient() as http:
        client = AsyncNuveraClient(API_KEY, rsa_key, base_url=BASE, http_client=http)
        with pytest.raises(RuntimeError, match="owns"):
            client._use_transport(httpx.MockTransport(ok(CUSTOMER)))


@pytest.mark.anyio
@pytest.mark.parametrize("skew", [300, -300])
async def test_clock_skew_learned_on_both_paths(
    make_pair: Callable[..., Pair], rsa_key: rsa.RSAPrivateKey, skew: int
) -> None:
    code = "token_not_yet_valid" if skew < 0 else "token_expired"
    body = {
        "error": {
            "type": "authentication_error",
            "code": code,
            "message": "m",
            "request_id": "req_1",
            "details": {"server_time": int(time.time()) + skew},
        }
    }
    pair = make_pair(lambda _: httpx.Response(401, json=body), ok(PAYMENT, 201))
    fast, slow = await pair.run(
        lambda c: c.payments.create(
            customer_id="c", beneficiary_id="b", amount="1.00", currency="EUR"
        )
    )
    assert fast == slow
    assert pair.lean == 2
    assert pair.sleeps["fast"] == pair.sleeps["slow"] == []
    assert pair.fast.auth.clock_offset == pytest.approx(skew, abs=2)
    first, second = pair.fast_server.requests
    assert claims(second)["iat"] - claims(first)["iat"] == pytest.approx(skew, abs=2)
    # The same Idempotency-Key (made once per call) on both attempts.
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["idempotency-key"].startswith("nvidem_")
    assert claims(first)["jti"] != claims(second)["jti"]
    generated = frozenset({b"idempotency-key"})
    assert_same_request(second, pair.slow_server.requests[1], rsa_key, random=generated)


@pytest.mark.anyio
async def test_rotation_seen_by_the_next_attempt(
    make_pair: Callable[..., Pair],
) -> None:
    pair = make_pair(ok(CUSTOMER))
    await pair.fast.customers.retrieve("cus_1")
    new_key = ApiKey.generate("test")
    pair.fast.rotate_credentials(api_key=new_key)
    await pair.fast.customers.retrieve("cus_1")
    keys_sent = [r.headers["x-api-key"] for r in pair.fast_server.requests]
    assert keys_sent == [API_KEY.reveal(), new_key.reveal()]
    assert pair.lean == 2


@pytest.mark.anyio
async def test_httpx_request_log_line_kept(
    make_pair: Callable[..., Pair], caplog: pytest.LogCaptureFixture
) -> None:
    pair = make_pair(ok(CUSTOMER))
    lines = []
    for client in (pair.fast, pair.slow):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="httpx"):
            await client.customers.retrieve("cus_1")
        lines.append([r.getMessage() for r in caplog.records if r.name == "httpx"])
    assert lines[0] == lines[1]
    assert lines[0] == [
        'HTTP Request: GET http://127.0.0.1:8787/v1/customers/cus_1 "HTTP/1.1 200 OK"'
    ]
    assert API_KEY.reveal() not in caplog.text
