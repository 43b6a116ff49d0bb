"""Owns NuveraAuth: the glue from an ``httpx.Request`` to a signed request."""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncGenerator, Awaitable, Generator

import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._body import abody_hash, body_hash
from nuvera_client._retry import MAX_CLOCK_OFFSET
from nuvera_client._signer import DEFAULT_TTL, RequestSigner, SigningKey
from nuvera_client._signing_pool import sign_off_loop
from nuvera_client._stack import auth_bases, module_of, user_agent
from nuvera_client.errors import (
    ConfigurationError,
    EnvironmentMismatchError,
    InvalidClockOffsetError,
)


class _Credentials:
    """One immutable (API key, signer) pair; rotation swaps the whole object."""

    __slots__ = ("api_key", "local", "signer")

    def __init__(self, api_key: ApiKey, signer: RequestSigner) -> None:
        self.api_key = api_key
        self.signer = signer
        # In-memory keys sign in the shared signing pool; remote ones (a KMS
        # SigningKey waits on the network) in anyio's larger thread pool, so that
        # they cannot hold the few signing threads.
        self.local = signer.local


def signing_target(url: httpx.URL) -> tuple[httpx.URL, str]:
    """Return the URL to send and the request target to sign (path and query).

    PROTOCOL §2.1: a bare trailing "?" is never sent (ASGI servers cannot see
    it), so it is dropped from both.
    """
    raw = url.raw_path
    if raw.endswith(b"?") and not url.query:
        url = url.copy_with(query=None)
        raw = url.raw_path
    return url, raw.decode("ascii")


def _target(request: httpx.Request) -> str:
    """Return the request target to sign, dropping a bare "?" from the request."""
    request.url, target = signing_target(request.url)
    return target


class NuveraAuth(*auth_bases()):  # type: ignore[misc]
    """Sign every attempt of a Nuvera request, for ``httpx.Client`` and ``AsyncClient``.

    Each attempt gets ``x-api-key``, ``Authorization: Bearer <RS256 JWT>`` with a
    fresh ``jti``, the raw request target (``request.url.raw_path``) and the SHA-256
    of the exact body bytes sent, including multipart and streamed bodies.

    Use it with ``follow_redirects=False`` (httpx's default): httpx follows
    redirects inside one auth flow, so it would replay the signed headers on the
    next hop (refused as ``uri_mismatch``) and send ``x-api-key`` to another origin.
    The Nuvera API never redirects.

    Args:
        api_key: the application's API key (``nvk_live_…`` / ``nvk_test_…``).
        private_key: the signing key in any form
            [`RequestSigner`][nuvera_client.RequestSigner] accepts.
        signer: a ready [`RequestSigner`][nuvera_client.RequestSigner] instead of
            ``private_key``.
        passphrase: for an encrypted ``private_key``.
        ttl: token lifetime in seconds, 1..60.

    Raises:
        InvalidApiKeyError: the API key is malformed.
        InvalidPrivateKeyError: the private key cannot sign RS256.
    """

    def __init__(
        self,
        api_key: str | ApiKey,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        *,
        signer: RequestSigner | None = None,
        passphrase: str | bytes | None = None,
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self._credentials = _Credentials(
            ApiKey.parse(api_key), _make_signer(private_key, signer, passphrase, ttl)
        )

    @property
    def api_key(self) -> ApiKey:
        """The API key in use (redacted when printed)."""
        return self._credentials.api_key

    @property
    def signer(self) -> RequestSigner:
        """The [`RequestSigner`][nuvera_client.RequestSigner] in use."""
        return self._credentials.signer

    @property
    def kid(self) -> str:
        """The key id of the signing key in use."""
        return self._credentials.signer.kid

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock for ``iat`` (learned from the server)."""
        return self._credentials.signer.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._credentials.signer.clock_offset = checked_offset(value)

    def rotate(
        self,
        *,
        api_key: str | ApiKey | None = None,
        private_key: keys.PrivateKeySource | SigningKey | None = None,
        passphrase: str | bytes | None = None,
        signer: RequestSigner | None = None,
    ) -> None:
        """Swap in a new API key and/or signing key, atomically for all threads.

        The new key is parsed before the swap; requests already signing finish
        with the old pair. The learned clock offset is kept.

        Raises:
            EnvironmentMismatchError: the new API key is of another environment.
        """
        current = self._credentials
        new_key = current.api_key if api_key is None else ApiKey.parse(api_key)
        if new_key.env != current.api_key.env:
            raise EnvironmentMismatchError(
                f"cannot rotate a {current.api_key.env} API key to a {new_key.env} "
                "key: create a new client for the other environment"
            )
        if private_key is None and signer is None:
            new_signer = current.signer
        else:
            new_signer = _make_signer(
                private_key, signer, passphrase, current.signer.ttl
            )
            new_signer.clock_offset = current.signer.clock_offset
        self._credentials = _Credentials(new_key, new_signer)

    @staticmethod
    def _apply(request: httpx.Request, api_key: str, token: str, named: bool) -> None:
        headers = request.headers
        headers["x-api-key"] = api_key
        headers["authorization"] = f"Bearer {token}"
        # A client's default User-Agent names the library only: name us too.
        if not named and headers.get("user-agent", "").startswith("python-httpx"):
            headers["user-agent"] = user_agent(module_of(request))

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign ``request`` (sync clients); hashing may spool a one-shot body."""
        self.sign_request(request)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Sign ``request`` (async clients); RSA runs off the event loop.

        On asyncio, in-memory keys sign in a small shared pool of threads that
        wake the loop once per batch of tokens; on trio, and for keys that sign
        remotely (KMS), in anyio's worker threads. Every attempt gets a new ``jti``.
        """
        await self.asign_request(request)
        yield request

    def sign_request(self, request: httpx.Request, *, named: bool = False) -> None:
        """Sign ``request`` in place, as ``sync_auth_flow`` does (one attempt).

        ``named``: the request's User-Agent already names this SDK (the
        client's own httpx client sets it), so it is not checked.
        """
        target = _target(request)
        digest = body_hash(request)
        credentials = self._credentials
        token = credentials.signer.sign(request.method, target, body_hash=digest)
        self._apply(request, credentials.api_key.reveal(), token, named)

    async def asign_request(
        self, request: httpx.Request, *, named: bool = False
    ) -> None:
        """Sign ``request`` in place, as ``async_auth_flow`` does (one attempt).

        The client's own transport path signs with it before the transport
        sends. ``named`` as for ``sign_request``.
        """
        target = _target(request)
        digest = await abody_hash(request)
        pending, api_key = self.start_signing(request.method, target, digest)
        self._apply(request, api_key, await pending, named)

    def start_signing(
        self, method: str, target: str, digest: str
    ) -> tuple[Awaitable[str], str]:
        """Start signing one attempt off the event loop; await the token later.

        ``asign_request`` uses it. Returns the token's
        awaitable and the API key to send with it, both from one credentials
        pair (a rotation cannot split them).

        Args:
            method: the HTTP method.
            target: the request target exactly as sent (path and query).
            digest: the SHA-256 hex of the body sent.
        """
        credentials = self._credentials
        # cryptography releases the GIL while signing: off the loop, it runs in
        # parallel with other requests.
        sign = functools.partial(
            credentials.signer.sign, method, target, body_hash=digest
        )
        pending = sign_off_loop(sign, local=credentials.local)
        return pending, credentials.api_key.reveal()

    def __repr__(self) -> str:
        return f"NuveraAuth(api_key={self.api_key!r}, kid={self.kid!r})"


def checked_offset(value: object) -> float:
    """Return ``value`` as a clock offset, or raise: finite, within ±24 hours.

    Raises:
        InvalidClockOffsetError: anything else (the offset in use is kept).
    """
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            offset = float(value)
        except OverflowError:
            offset = math.inf
        if math.isfinite(offset) and abs(offset) <= MAX_CLOCK_OFFSET:
            return offset
    raise InvalidClockOffsetError(
        "a clock offset must be a finite number of seconds within "
        f"±{MAX_CLOCK_OFFSET:.0f}, got {value!r:.40}; fix the machine clock instead"
    )


def _make_signer(
    private_key: keys.PrivateKeySource | SigningKey | None,
    signer: RequestSigner | None,
    passphrase: str | bytes | None,
    ttl: int,
) -> RequestSigner:
    if signer is not None:
        if private_key is not None:
            raise ConfigurationError("pass either private_key= or signer=, not both")
        return signer
    if private_key is None:
        raise ConfigurationError(
            "a private key is needed to sign requests: pass private_key= "
            "(PEM, DER, JWK, Path, RSAPrivateKey or SigningKey) or signer="
        )
    return RequestSigner(private_key, passphrase=passphrase, ttl=ttl)
