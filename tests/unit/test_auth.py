"""NuveraAuth on httpx: every body kind signed over the bytes sent, sync and async."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_verifier import b64url_decode, verify
from loopback_server import base_url, serve

from nuvera_client import USER_AGENT, ApiKey, NuveraAuth, RequestSigner
from nuvera_client.errors import ConfigurationError, EnvironmentMismatchError

BASE = "https://api.sandbox.nuvera.com"


@pytest.fixture
def api_key() -> str:
    return ApiKey.generate("test").reveal()


@pytest.fixture
def auth(api_key: str, rsa_key: rsa.RSAPrivateKey) -> NuveraAuth:
    return NuveraAuth(api_key, rsa_key)


HTTPX_0_28 = tuple(int(p) for p in httpx.__version__.split(".")[:2]) >= (0, 28)


def _check(request: httpx.Request, public: rsa.RSAPublicKey, api_key: str) -> dict:  # type: ignore[type-arg]
    """Verify a request as it arrives at the transport; return its claims."""
    body = request.read()
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert request.headers["x-api-key"] == api_key
    if "content-length" in request.headers:
        assert int(request.headers["content-length"]) == len(body)
    verified = verify(
        token,
        public,
        method=request.method,
        uri=request.url.raw_path.decode("ascii"),
        body=body,
    )
    return verified.claims


def _client(
    auth: NuveraAuth,
    public: rsa.RSAPublicKey,
    api_key: str,
    seen: list[dict],  # type: ignore[type-arg]
) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_check(request, public, api_key))
        return httpx.Response(200, json={"ok": True})

    return httpx.Client(
        base_url=BASE, auth=auth, transport=httpx.MockTransport(handler)
    )


def _gen(parts: list[bytes]) -> Iterator[bytes]:
    yield from parts


_OPENED: list[io.BufferedReader] = []


def _open(path: Path) -> io.BufferedReader:
    handle = path.open("rb")
    _OPENED.append(handle)
    return handle


@pytest.fixture(autouse=True)
def _close_files() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


BODIES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "none": lambda _: {},
    "json": lambda _: {"json": {"name": "Zoë", "tags": ["a", "b"]}},
    "bytes": lambda _: {"content": b"\x00\x01raw"},
    "str": lambda _: {"content": "héllo"},
    "form": lambda _: {"data": {"a": "1", "b": "x y"}},
    "generator": lambda _: {"content": _gen([b"abc", b"", b"def" * 1000])},
    "list": lambda _: {"content": [b"ab", b"cd"]},
    "file": lambda tmp: {"content": _open(tmp / "f.bin")},
    "multipart-file": lambda tmp: {
        "data": {"customer_id": "cus_1", "type": "passport"},
        "files": {"file": ("p.png", _open(tmp / "f.bin"), "image/png")},
    },
    "multipart-bytes": lambda _: {"files": {"file": ("a.txt", b"abc", "text/plain")}},
    "multipart-generator-free-bytesio": lambda _: {
        "files": {"file": ("b.bin", io.BytesIO(b"x" * 70_000))}
    },
}


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 1024)
    return path


@pytest.mark.parametrize("kind", list(BODIES))
def test_sync_every_body_kind_verifies(
    kind: str,
    auth: NuveraAuth,
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    data_file: Path,
) -> None:
    seen: list[dict] = []  # type: ignore[type-arg]
    with _client(auth, rsa_key.public_key(), api_key, seen) as client:
        response = client.post("/v1/documents", **BODIES[kind](data_file.parent))
    assert response.status_code == 200
    assert len(seen) == 1
    assert seen[0]["method"] == "POST"
    assert seen[0]["uri"] == "/v1/documents"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kind", [k for k in BODIES if k not in ("generator", "file", "list")]
)
# (httpx itself refuses sync iterables and files on AsyncClient.)
async def test_async_every_body_kind_verifies(
    kind: str,
    auth: NuveraAuth,
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    data_file: Path,
) -> None:
    seen: list[dict] = []  # type: ignore[type-arg]

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen.append(_check(request, rsa_key.public_key(), api_key))
        return httpx.Response(201)

    async with httpx.AsyncClient(
        base_url=BASE, auth=auth, transport=httpx.MockTransport(handler)
    ) as client:
        response = await client.put(
            "/v1/customers/cus_1", **BODIES[kind](data_file.parent)
        )
    assert response.status_code == 201
    assert seen[0]["method"] == "PUT"


@pytest.mark.anyio
async def test_async_iterator_body_is_spooled(
    auth: NuveraAuth, rsa_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(40):
            yield bytes([index]) * 50_000

    seen: list[dict] = []  # type: ignore[type-arg]

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen.append(_check(request, rsa_key.public_key(), api_key))
        assert request.headers["content-length"] == str(40 * 50_000)
        assert "transfer-encoding" not in request.headers
        return httpx.Response(200)

    async with httpx.AsyncClient(
        base_url=BASE, auth=auth, transport=httpx.MockTransport(handler)
    ) as client:
        await client.post("/v1/documents", content=chunks())
    assert len(seen) == 1


def test_generator_is_spooled_with_length(
    auth: NuveraAuth, rsa_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    request = httpx.Request(
        "POST", f"{BASE}/v1/documents", content=_gen([b"a" * 10, b"b"])
    )
    assert request.headers["transfer-encoding"] == "chunked"
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["content-length"] == "11"
    assert "transfer-encoding" not in signed.headers
    _check(signed, rsa_key.public_key(), api_key)


def test_file_sent_from_its_position(
    auth: NuveraAuth, rsa_key: rsa.RSAPrivateKey, api_key: str, data_file: Path
) -> None:
    with data_file.open("rb") as handle:
        handle.seek(1000)
        request = httpx.Request("POST", f"{BASE}/v1/documents", content=handle)
        signed = next(auth.sync_auth_flow(request))
        # Spooled from where it stood (httpx's public API cannot seek it back).
        sent = b"".join(signed.stream)  # type: ignore[arg-type]
        assert sent == data_file.read_bytes()[1000:]
        claims = _check(signed, rsa_key.public_key(), api_key)
    assert signed.headers["content-length"] == str(256 * 1024 - 1000)
    assert claims["body_hash"] == hashlib.sha256(sent).hexdigest()


def test_non_seekable_stream_is_spooled(
    auth: NuveraAuth, rsa_key: rsa.RSAPrivateKey, api_key: str
) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._left = 3

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            if not self._left:
                return 0
            self._left -= 1
            buffer[:4] = b"pipe"
            return 4

    request = httpx.Request("POST", f"{BASE}/v1/documents", content=Pipe())
    signed = next(auth.sync_auth_flow(request))
    assert signed.read() == b"pipe" * 3
    _check(signed, rsa_key.public_key(), api_key)


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        (
            "/v1/customers",
            {"email": "a@b.com", "limit": 10},
            "/v1/customers?email=a%40b.com&limit=10",
        ),
        ("/v1/customers?", None, "/v1/customers"),
        ("/v1/customers?email=a%40b.com", None, "/v1/customers?email=a%40b.com"),
        ("/v1/x?q=a+b&r=%2F&s=%20", None, "/v1/x?q=a+b&r=%2F&s=%20"),
        # httpx 0.27 percent-encodes "|" and writes a space in params= as %20; 0.28
        # leaves "|" and writes "+". Either way the claim is what the request line
        # carries (checked by _check); the literal follows the installed httpx.
        (
            "/v1/x?filter[a]=b|c",
            None,
            "/v1/x?filter[a]=b|c" if HTTPX_0_28 else "/v1/x?filter[a]=b%7Cc",
        ),
        (
            "/v1/customers",
            {"name": "Zoë 山"},
            "/v1/customers?name=Zo%C3%AB+%E5%B1%B1"
            if HTTPX_0_28
            else "/v1/customers?name=Zo%C3%AB%20%E5%B1%B1",
        ),
        ("/v1/zoë/a b", None, "/v1/zo%C3%AB/a%20b"),
        ("/v1/x", {"s": ["a", "b"]}, "/v1/x?s=a&s=b"),
    ],
)
def test_uri_is_the_raw_target(
    auth: NuveraAuth,
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    url: str,
    params: dict | None,  # type: ignore[type-arg]
    expected: str,
) -> None:
    seen: list[dict] = []  # type: ignore[type-arg]
    with _client(auth, rsa_key.public_key(), api_key, seen) as client:
        client.get(url, params=params)
    assert seen[0]["uri"] == expected


def test_bare_question_mark_is_dropped_before_sending(auth: NuveraAuth) -> None:
    request = httpx.Request("GET", f"{BASE}/v1/customers?")
    assert request.url.raw_path == b"/v1/customers?"
    signed = next(auth.sync_auth_flow(request))
    assert signed.url.raw_path == b"/v1/customers"


def test_every_attempt_is_signed_afresh(auth: NuveraAuth) -> None:
    request = httpx.Request("GET", f"{BASE}/v1/customers")
    tokens = {
        next(auth.sync_auth_flow(request)).headers["authorization"] for _ in range(5)
    }
    assert len(tokens) == 5


def test_headers_and_user_agent(auth: NuveraAuth, api_key: str) -> None:
    request = httpx.Request(
        "GET", f"{BASE}/v1/x", headers={"user-agent": "python-httpx/0"}
    )
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("nuvera-python/")
    assert " python/" in USER_AGENT
    assert " httpx/" in USER_AGENT
    custom = httpx.Request("GET", f"{BASE}/v1/x", headers={"user-agent": "mine/1"})
    assert next(auth.sync_auth_flow(custom)).headers["user-agent"] == "mine/1"
    assert signed.headers["x-api-key"] == api_key


def test_sign_request_in_place_names_the_sdk_unless_told_it_does(
    auth: NuveraAuth, api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    # The default checks the User-Agent, as sync_auth_flow does.
    plain = httpx.Request(
        "GET", f"{BASE}/v1/x", headers={"user-agent": "python-httpx/0"}
    )
    auth.sign_request(plain)
    assert plain.headers["user-agent"] == USER_AGENT
    assert plain.headers["x-api-key"] == api_key
    verify(
        plain.headers["authorization"].removeprefix("Bearer "),
        rsa_key.public_key(),
        method="GET",
        uri="/v1/x",
    )
    # named=True: the caller's client already names the SDK; the header is left.
    named = httpx.Request(
        "GET", f"{BASE}/v1/x", headers={"user-agent": "python-httpx/0"}
    )
    auth.sign_request(named, named=True)
    assert named.headers["user-agent"] == "python-httpx/0"
    assert named.headers["x-api-key"] == api_key
    assert named.headers["authorization"].startswith("Bearer ")


@pytest.mark.anyio
async def test_asign_request_in_place_names_the_sdk_unless_told_it_does(
    auth: NuveraAuth, api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    plain = httpx.Request(
        "GET", f"{BASE}/v1/x", headers={"user-agent": "python-httpx/0"}
    )
    await auth.asign_request(plain)
    assert plain.headers["user-agent"] == USER_AGENT
    assert plain.headers["x-api-key"] == api_key
    verify(
        plain.headers["authorization"].removeprefix("Bearer "),
        rsa_key.public_key(),
        method="GET",
        uri="/v1/x",
    )
    named = httpx.Request(
        "GET", f"{BASE}/v1/x", headers={"user-agent": "python-httpx/0"}
    )
    await auth.asign_request(named, named=True)
    assert named.headers["user-agent"] == "python-httpx/0"
    assert named.headers["x-api-key"] == api_key


def test_ttl_and_signer_options(api_key: str, rsa_key: rsa.RSAPrivateKey) -> None:
    auth = NuveraAuth(api_key, rsa_key, ttl=60)
    token = next(auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/"))).headers[
        "authorization"
    ][7:]
    claims = json.loads(b64url_decode(token.split(".")[1]))
    assert claims["exp"] - claims["iat"] == 60
    signer = RequestSigner(rsa_key)
    assert NuveraAuth(api_key, signer=signer).signer is signer
    with pytest.raises(ConfigurationError, match="not both"):
        NuveraAuth(api_key, rsa_key, signer=signer)
    with pytest.raises(ConfigurationError, match="pass private_key="):
        NuveraAuth(api_key)


def test_clock_offset_is_used(
    api_key: str,
    rsa_key: rsa.RSAPrivateKey,
    fixed_now: int,
    fixed_clock: Callable[[], float],
) -> None:
    auth = NuveraAuth(api_key, signer=RequestSigner(rsa_key, clock=fixed_clock))
    auth.clock_offset = 120
    token = next(auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/"))).headers[
        "authorization"
    ][7:]
    assert json.loads(b64url_decode(token.split(".")[1]))["iat"] == fixed_now + 120


def test_rotate(api_key: str, rsa_keys: dict[int, rsa.RSAPrivateKey]) -> None:
    auth = NuveraAuth(api_key, rsa_keys[2048])
    auth.clock_offset = 5
    old_kid = auth.kid
    new_key = ApiKey.generate("test")
    auth.rotate(api_key=new_key.reveal(), private_key=rsa_keys[3072])
    assert auth.kid != old_kid
    assert auth.clock_offset == 5
    signed = next(auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/")))
    assert signed.headers["x-api-key"] == new_key.reveal()
    verify(
        signed.headers["authorization"][7:],
        rsa_keys[3072].public_key(),
        method="GET",
        uri="/",
        body=b"",
    )
    with pytest.raises(EnvironmentMismatchError, match="create a new client"):
        auth.rotate(api_key=ApiKey.generate("live").reveal())


def test_repr_is_redacted(auth: NuveraAuth, api_key: str) -> None:
    text = repr(auth)
    assert api_key not in text
    assert api_key[-4:] in text
    assert auth.kid in text


def test_async_body_on_sync_flow_is_a_clear_error(auth: NuveraAuth) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"

    request = httpx.Request("POST", f"{BASE}/", content=chunks())
    with pytest.raises(TypeError, match="AsyncClient"):
        next(auth.sync_auth_flow(request))


# --- over a real loopback socket: what arrives is what was hashed -------------


def _big_chunks() -> Iterator[bytes]:
    for index in range(48):
        yield bytes([index]) * 65_536


@pytest.mark.parametrize("kind", ["generator", "file", "multipart", "json", "bare-?"])
def test_sync_over_loopback(
    kind: str,
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    data_file: Path,
    http_stack: ModuleType,
) -> None:
    auth = NuveraAuth(api_key, rsa_key)
    with (
        serve(rsa_key.public_key(), api_key) as server,
        http_stack.Client(base_url=base_url(server), auth=auth, timeout=30) as client,
        data_file.open("rb") as handle,
    ):
        if kind == "generator":
            response = client.post("/v1/documents", content=_big_chunks())
        elif kind == "file":
            handle.seek(10)
            response = client.put("/v1/documents", content=handle)
        elif kind == "multipart":
            response = client.post(
                "/v1/documents",
                data={"customer_id": "cus_1"},
                files={"file": ("f.bin", handle, "application/octet-stream")},
            )
        elif kind == "json":
            response = client.patch("/v1/customers/cus_1", json={"name": "Zoë"})
        else:
            response = client.get("/v1/customers?")
    assert response.status_code == 200, server.seen[0].code
    seen = server.seen[0]
    assert seen.code == "ok"
    assert seen.claims["body_hash"] == seen.body_sha256
    if kind == "generator":
        assert seen.body_length == 48 * 65_536
    if kind == "file":
        assert seen.body_length == 256 * 1024 - 10
    if kind == "bare-?":
        assert seen.target == "/v1/customers"
    # PROTOCOL §2: the User-Agent names the library the request went through.
    assert (
        seen.headers["user-agent"]
        .split()[-1]
        .startswith(f"{http_stack.__name__}/{http_stack.__version__}")
    )


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["async-iterator", "sync-generator", "multipart"])
async def test_async_over_loopback(
    kind: str,
    rsa_key: rsa.RSAPrivateKey,
    api_key: str,
    data_file: Path,
    http_stack: ModuleType,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in _big_chunks():
            yield part

    auth = NuveraAuth(api_key, rsa_key)
    with serve(rsa_key.public_key(), api_key) as server, data_file.open("rb") as handle:
        async with http_stack.AsyncClient(
            base_url=base_url(server), auth=auth, timeout=30
        ) as client:
            if kind == "async-iterator":
                response = await client.post("/v1/documents", content=chunks())
            elif kind == "sync-generator":
                response = await client.post("/v1/documents", content=_big_chunks())
            else:
                response = await client.post(
                    "/v1/documents", files={"file": ("f.bin", handle)}
                )
    assert response.status_code == 200, server.seen[0].code
    assert server.seen[0].claims["body_hash"] == server.seen[0].body_sha256
