"""Sign Nuvera requests made with ``requests`` (the ``requests`` extra).

    import requests
    from nuvera_client.requests_auth import NuveraRequestsAuth

    auth = NuveraRequestsAuth(api_key, Path("nuvera-key.pem"))
    requests.get("https://api.sandbox.nuvera.com/v1/customers", auth=auth)

The signing is the same as [`nuvera_client.NuveraAuth`][nuvera_client.NuveraAuth]
(PROTOCOL §2): the ``uri`` claim is the request target ``requests`` writes on the
request line (``PreparedRequest.path_url``) and ``body_hash`` covers the exact bytes
sent. Multipart bodies built by requests-toolbelt's ``MultipartEncoder`` (and any other
one-shot stream or generator) are hashed while being copied to a temporary file that is
then sent, so a large upload is never held in memory.

Redirects are followed without credentials: a redirected request carries no
``x-api-key`` and no token (Nuvera itself never redirects).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

try:
    import requests
    import requests.auth
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "nuvera_client.requests_auth needs the 'requests' extra: "
        "pip install 'nuvera-client[requests]'"
    ) from exc

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import _make_signer
from nuvera_client._body import CHUNK_SIZE, HashingSpool, seekable
from nuvera_client._signer import DEFAULT_TTL, RequestSigner, SigningKey
from nuvera_client._stack import USER_AGENT

__all__ = ["NuveraRequestsAuth"]


class NuveraRequestsAuth(requests.auth.AuthBase):
    """Sign every ``requests`` call for the Nuvera API (``x-api-key`` + RS256 JWT).

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
        self._api_key = ApiKey.parse(api_key)
        self._signer = _make_signer(private_key, signer, passphrase, ttl)

    @property
    def api_key(self) -> ApiKey:
        """The API key in use (redacted when printed)."""
        return self._api_key

    @property
    def signer(self) -> RequestSigner:
        """The [`RequestSigner`][nuvera_client.RequestSigner] in use."""
        return self._signer

    @property
    def kid(self) -> str:
        """The key id of the signing key."""
        return self._signer.kid

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign ``request``; a one-shot body is swapped for a spooled copy."""
        url = request.url or ""
        if url.endswith("?"):
            request.url = url[:-1]  # PROTOCOL §2.1: never send a bare "?"
        digest = _hash_body(request)
        token = self._signer.sign(
            request.method or "GET", request.path_url, body_hash=digest
        )
        request.headers["x-api-key"] = self._api_key.reveal()
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook(  # type: ignore[no-untyped-call]
            "response", _drop_credentials_on_redirect
        )
        if request.headers.get("User-Agent", "").startswith("python-requests/"):
            request.headers["User-Agent"] = _user_agent()
        return request

    def __repr__(self) -> str:
        return f"NuveraRequestsAuth(api_key={self._api_key!r}, kid={self.kid!r})"


def _drop_credentials_on_redirect(
    response: requests.Response, *args: Any, **kwargs: Any
) -> requests.Response:
    """Keep the API key and token off any redirected request.

    ``requests`` follows redirects with a copy of the signed request, never
    asking the auth again: it drops ``Authorization`` only across hosts and would
    send ``x-api-key`` anywhere, while the old token would not match the new
    target anyway. Nuvera does not redirect; call the final URL instead.
    """
    if response.is_redirect:
        response.request.headers.pop("x-api-key", None)
        response.request.headers.pop("Authorization", None)
    return response


def _user_agent() -> str:
    return f"{USER_AGENT.split(' httpx/')[0]} requests/{requests.__version__}"


def _set_length(request: requests.PreparedRequest, length: int) -> None:
    request.headers.pop("Transfer-Encoding", None)
    request.headers["Content-Length"] = str(length)


def _hash_body(request: requests.PreparedRequest) -> str:
    body: Any = request.body
    if body is None:
        return hashlib.sha256(b"").hexdigest()
    if isinstance(body, str):
        # http.client would send a str as Latin-1: send the UTF-8 bytes we hash.
        body = request.body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        if "Content-Length" in request.headers or data:
            _set_length(request, len(data))
        return hashlib.sha256(data).hexdigest()
    if hasattr(body, "read") and seekable(body):
        # A file: hash from where it stands, then put it back for sending.
        position = body.tell()
        digest = hashlib.sha256()
        length = 0
        try:
            while chunk := body.read(CHUNK_SIZE):
                data = _as_bytes(chunk)
                digest.update(data)
                length += len(data)
        finally:
            body.seek(position)
        _set_length(request, length)
        return digest.hexdigest()
    if hasattr(body, "read"):
        chunks: Iterable[Any] = iter(lambda: body.read(CHUNK_SIZE), b"")
    elif isinstance(body, Iterable):
        chunks = body
    else:
        raise TypeError(
            f"cannot sign a request body of type {type(body).__name__}: "
            "use bytes, str, a file object, an iterator of bytes or a MultipartEncoder"
        )
    return _spool(request, chunks)


def _spool(request: requests.PreparedRequest, chunks: Iterable[Any]) -> str:
    """Copy a one-shot body to a temporary file while hashing it; send the copy."""
    spool = HashingSpool()
    for chunk in chunks:
        spool.write(_as_bytes(chunk))
    digest = spool.finish()
    request.body = spool.file  # type: ignore[assignment]
    _set_length(request, spool.length)
    return digest


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    return bytes(chunk)
