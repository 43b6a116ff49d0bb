"""Owns an independent reading of PROTOCOL.md: tokens, kids, API keys, raw HTTP.

Nothing here imports ``nuvera_client``: every value is rebuilt from the contract
with ``cryptography``, ``json``, ``hashlib``, ``zlib`` and sockets only, so a bug
shared with the SDK cannot make both sides agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ISSUER = "nuvera-api"
AUDIENCE = "nuvera-rest-api"


def b64url(data: bytes) -> str:
    """Base64url without padding (PROTOCOL §2.1)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jcs(value: Mapping[str, object]) -> bytes:
    """RFC 8785 for flat objects of ASCII strings and integers (PROTOCOL §2.1)."""
    parts = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"jcs: {key} is neither int nor str")
        rendered = str(item) if isinstance(item, int) else _jcs_string(item)
        parts.append(f"{_jcs_string(key)}:{rendered}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def _jcs_string(text: str) -> str:
    out = ['"']
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
    short.update({"\r": "\\r", "\t": "\\t"})
    for char in text:
        if char in short:
            out.append(short[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def _int_b64(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def kid_of(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, base64url without padding (PROTOCOL §1.2)."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    numbers = public.public_numbers()
    # RFC 7638 §3.2: required members only, sorted, no whitespace.
    jwk = f'{{"e":"{_int_b64(numbers.e)}","kty":"RSA","n":"{_int_b64(numbers.n)}"}}'
    return b64url(hashlib.sha256(jwk.encode("ascii")).digest())


def claims(
    *,
    method: str,
    uri: str,
    body: bytes = b"",
    iat: int,
    jti: str | None = None,
    ttl: int = 30,
) -> dict[str, object]:
    """The claim set of PROTOCOL §2.1 for one request."""
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + ttl,
        "jti": jti if jti is not None else secrets.token_hex(16),
        "method": method,
        "uri": uri,
        "body_hash": sha256_hex(body),
    }


def sign_raw(key: rsa.RSAPrivateKey, header_bytes: bytes, payload_bytes: bytes) -> str:
    """Sign arbitrary header/payload bytes with RS256; return the compact JWS."""
    signing_input = f"{b64url(header_bytes)}.{b64url(payload_bytes)}"
    signature = key.sign(
        signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64url(signature)}"


def token(
    key: rsa.RSAPrivateKey,
    payload: Mapping[str, object],
    *,
    header: Mapping[str, object] | None = None,
) -> str:
    """A compact RS256 JWS with canonical (JCS) header and payload."""
    head = (
        header
        if header is not None
        else {"alg": "RS256", "kid": kid_of(key), "typ": "JWT"}
    )
    return sign_raw(key, jcs(head), jcs(payload))


def request_token(
    key: rsa.RSAPrivateKey,
    *,
    method: str,
    uri: str,
    body: bytes = b"",
    iat: int,
    jti: str | None = None,
    ttl: int = 30,
) -> str:
    """The token a conforming client sends for one request."""
    return token(
        key, claims(method=method, uri=uri, body=body, iat=iat, jti=jti, ttl=ttl)
    )


def base62(number: int, width: int = 6) -> str:
    """Base62, most significant digit first, left-padded with '0' (PROTOCOL §1.1)."""
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def api_key(env: str, random_part: str) -> str:
    """Build ``nvk_{env}_{random}{check}`` from its parts (PROTOCOL §1.1)."""
    body = f"nvk_{env}_{random_part}"
    return body + base62(zlib.crc32(body.encode("ascii")))


def random_api_key(env: str = "test") -> str:
    """A well-formed key no server knows."""
    return api_key(env, "".join(secrets.choice(ALPHABET) for _ in range(32)))


@dataclass
class RawResponse:
    """One HTTP/1.1 response read off a socket."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    json_body: object = field(default=None)

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        """Every value of header ``name``."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def error(self) -> dict[str, object]:
        """The ``error`` object of a §6 error body."""
        assert isinstance(self.json_body, dict), self.body[:300]
        err = self.json_body["error"]
        assert isinstance(err, dict)
        return err


def raw_request(
    port: int,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    timeout: float = 10.0,
) -> RawResponse:
    """Send one request exactly as given to 127.0.0.1:port and read the reply."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method.upper() in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    wire = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(wire)
        chunks = []
        for _ in range(100_000):  # bounded: the server closes after one reply
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return _parse_response(b"".join(chunks))


def _parse_response(data: bytes) -> RawResponse:
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    lowered = {k.lower(): v for k, v in headers}
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(rest)
    elif "content-length" in lowered:
        body = rest[: int(lowered["content-length"])]
    else:
        body = rest
    parsed: object = None
    if body and lowered.get("content-type", "").startswith("application/json"):
        parsed = json.loads(body)
    return RawResponse(status, headers, body, parsed)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    for _ in range(1_000_000):
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
