"""Write docs/spec/vectors.json: tokens, API keys and kids (PROTOCOL §1, §2).

The layout of the file is documented in docs/spec/vectors.md.

The outputs are computed here with a minimal implementation of its own
(cryptography + json + base64 + hashlib), never with ``nuvera_client``, so the
vectors check our signer rather than echo it.

    .venv/bin/python scripts/make_vectors.py          # recompute, keeping the keys
    .venv/bin/python scripts/make_vectors.py --new-keys
    .venv/bin/python scripts/make_vectors.py --check  # exit 1 if the file is stale

The keys in the file are TEST-ONLY keys, published on purpose. Never use them
with Nuvera, and never register their public halves on an application.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

OUT = Path(__file__).resolve().parent.parent / "docs" / "spec" / "vectors.json"
KEY_SIZES = (2048, 3072, 4096)
IAT = 1767225600  # 2026-01-01T00:00:00Z
BOUNDARY = "nuvera-vector-boundary-7f3a9c"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jcs(value: dict[str, Any]) -> str:
    # Enough of RFC 8785 for ASCII member names, strings and integers.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def kid(public: rsa.RSAPublicKey) -> str:
    numbers = public.public_numbers()

    def uint(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    member = f'{{"e":"{uint(numbers.e)}","kty":"RSA","n":"{uint(numbers.n)}"}}'
    return b64url(hashlib.sha256(member.encode("ascii")).digest())


def signed_uri(uri: str) -> str:
    # PROTOCOL §2.1: a bare trailing "?" is dropped before signing and sending.
    return uri[:-1] if uri.endswith("?") and uri.count("?") == 1 else uri


def multipart_body() -> bytes:
    crlf = b"\r\n"
    parts = [
        b"--" + BOUNDARY.encode(),
        b'Content-Disposition: form-data; name="customer_id"',
        b"",
        b"cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
        b"--" + BOUNDARY.encode(),
        b'Content-Disposition: form-data; name="type"',
        b"",
        b"passport",
        b"--" + BOUNDARY.encode(),
        b'Content-Disposition: form-data; name="file"; filename="passport.png"',
        b"Content-Type: image/png",
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\xff\xfe",
        b"--" + BOUNDARY.encode() + b"--",
        b"",
    ]
    return crlf.join(parts)


def cases() -> list[dict[str, Any]]:
    """The requests to sign: name, key size, method, uri, body, headers, ttl, jti."""
    customer = {
        "email": "zoe@example.com",
        "metadata": {"note": "€5"},
        "name": "Zoë Łukasiewicz 山田",
        "type": "individual",
    }
    payment = {
        "amount": "1250.00",
        "beneficiary_id": "ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
        "currency": "USDC",
        "customer_id": "cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
    }
    gz = _gzip(json.dumps(payment, separators=(",", ":")).encode())
    json_bytes = json.dumps
    return [
        {"name": "get-no-query", "method": "GET", "uri": "/v1/customers"},
        {
            "name": "get-encoded-query",
            "method": "GET",
            "uri": "/v1/customers?email=a%40b.com&limit=10",
        },
        {
            "name": "get-reserved-encodings",
            "method": "GET",
            "uri": "/v1/documents?path=a%2Fb%2Fc&q=x+y&r=hello%20world&s=%2B1",
            "note": "'+' and '%20' and '%2B' are kept exactly as sent",
            "signing_only": "/v1/documents takes none of these query parameters "
            "(a server verifies the token, then answers 422 validation_failed)",
        },
        {
            "name": "get-repeated-keys",
            "method": "GET",
            "uri": "/v1/payments?status=processing&status=completed&limit=100",
        },
        {
            "name": "get-non-ascii-query",
            "method": "GET",
            "uri": "/v1/customers?email=zo%C3%AB%40example.com"
            "&external_id=%E5%B1%B1%E7%94%B0",
            "note": "non-ASCII is percent-encoded UTF-8 on the wire; uri is ASCII",
        },
        {
            "name": "get-unencoded-brackets",
            "method": "GET",
            "uri": "/v1/customers?filter[status]=active",
            "note": "brackets left unencoded by the client are signed as sent",
            "signing_only": "filter[status] is no parameter of /v1/customers "
            "(a server verifies the token, then answers 422 validation_failed)",
        },
        {
            "name": "get-bare-question-mark",
            "method": "GET",
            "uri": "/v1/customers?",
            "note": "the empty query is dropped: the signed and sent target is "
            "/v1/customers",
        },
        {
            "name": "post-json-non-ascii",
            "method": "POST",
            "uri": "/v1/customers",
            "body": json_bytes(
                customer, ensure_ascii=False, separators=(",", ":")
            ).encode("utf-8"),
            "content_type": "application/json",
        },
        {
            "name": "put-json",
            "method": "PUT",
            "uri": "/v1/customers/cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
            "body": b'{"external_id":"crm-42","status":"active"}',
            "content_type": "application/json",
            "signing_only": "no endpoint takes PUT (a server verifies the token, "
            "then answers 405 method_not_allowed)",
        },
        {
            "name": "patch-json",
            "method": "PATCH",
            "uri": "/v1/beneficiaries/ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
            "body": b'{"name":"Main account"}',
            "content_type": "application/json",
        },
        {
            "name": "delete-empty-body",
            "method": "DELETE",
            "uri": "/v1/beneficiaries/ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
        },
        {
            "name": "post-multipart",
            "method": "POST",
            "uri": "/v1/documents",
            "body": multipart_body(),
            "content_type": f"multipart/form-data; boundary={BOUNDARY}",
            "note": "the hash covers the whole encoded multipart body, boundaries "
            "and CRLFs included",
        },
        {
            "name": "post-gzip",
            "method": "POST",
            "uri": "/v1/payments",
            "body": gz,
            "content_type": "application/json",
            "content_encoding": "gzip",
            "idempotency_key": "vector-post-gzip-0001",
            "note": "a gzip body is hashed as sent: compressed",
        },
        {"name": "get-3072", "bits": 3072, "method": "GET", "uri": "/v1/crypto/assets"},
        {
            "name": "post-3072",
            "bits": 3072,
            "method": "POST",
            "uri": "/v1/support/tickets/tkt_4bN7cQ1dR5eS8fT2gU6hV9iW/close",
        },
        {
            "name": "get-4096",
            "bits": 4096,
            "method": "GET",
            "uri": "/v1/screening/results?subject_id=cus_3kT9wQ2mZ8bX5vL1nR7pY4cD",
        },
        {
            "name": "post-4096-json",
            "bits": 4096,
            "method": "POST",
            "uri": "/v1/payments",
            "body": json_bytes(payment, separators=(",", ":")).encode("utf-8"),
            "content_type": "application/json",
            "idempotency_key": "vector-post-4096-json-0001",
        },
        {"name": "ttl-60", "method": "GET", "uri": "/v1/crypto/networks", "ttl": 60},
    ]


def sign(key: rsa.RSAPrivateKey, case: dict[str, Any], index: int) -> dict[str, Any]:
    body: bytes = case.get("body", b"")
    ttl = case.get("ttl", 30)
    jti = f"{index + 1:04x}" + hashlib.sha256(case["name"].encode()).hexdigest()[:28]
    iat = IAT + index
    key_id = kid(key.public_key())
    body_hash = hashlib.sha256(body).hexdigest()
    header = jcs({"alg": "RS256", "kid": key_id, "typ": "JWT"})
    payload = jcs(
        {
            "aud": "nuvera-rest-api",
            "body_hash": body_hash,
            "exp": iat + ttl,
            "iat": iat,
            "iss": "nuvera-api",
            "jti": jti,
            "method": case["method"],
            "uri": signed_uri(case["uri"]),
        }
    )
    signing_input = f"{b64url(header.encode())}.{b64url(payload.encode())}"
    signature = key.sign(
        signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
    )
    inputs: dict[str, Any] = {
        "key": f"rsa-{case.get('bits', 2048)}",
        "method": case["method"],
        "uri": case["uri"],
        "body_base64": base64.b64encode(body).decode("ascii"),
        "iat": iat,
        "jti": jti,
        "ttl": ttl,
    }
    try:
        inputs["body_utf8"] = body.decode("utf-8")
    except UnicodeDecodeError:
        inputs["body_utf8"] = None
    headers = {
        name.replace("_", "-"): case[name]
        for name in ("content_type", "content_encoding", "idempotency_key")
        if name in case
    }
    if headers:
        inputs["headers"] = headers
    vector: dict[str, Any] = {"name": case["name"]}
    if "note" in case:
        vector["note"] = case["note"]
    # Signing-only: the token is right, but the API refuses the call's shape.
    vector["signing_only"] = "signing_only" in case
    if "signing_only" in case:
        vector["signing_only_reason"] = case["signing_only"]
    vector["input"] = inputs
    vector["output"] = {
        "signed_uri": signed_uri(case["uri"]),
        "body_hash": body_hash,
        "kid": key_id,
        "header_json": header,
        "payload_json": payload,
        "signing_input": signing_input,
        "token": f"{signing_input}.{b64url(signature)}",
    }
    return vector


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(value: int, width: int) -> str:
    digits = ""
    while value:
        value, digit = divmod(value, 62)
        digits = BASE62[digit] + digits
    return digits.rjust(width, "0")


def api_key_parts(env: str, random: str) -> dict[str, Any]:
    body = f"nvk_{env}_{random}"
    crc = zlib.crc32(body.encode("ascii"))
    key = body + base62(crc, 6)
    return {
        "key": key,
        "valid": True,
        "env": env,
        "random": random,
        "crc32": crc,
        "check": base62(crc, 6),
        "prefix": key[:13],
        "last_four": key[-4:],
        "sha256": hashlib.sha256(key.encode("ascii")).hexdigest(),
    }


def _random_part(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest() * 2
    return "".join(BASE62[byte % 62] for byte in digest[:32])


def api_key_vectors() -> list[dict[str, Any]]:
    """API keys (PROTOCOL §1.1): valid ones with every derived part, invalid with why.

    ``reason`` is the first failing check, in this order: empty, prefix,
    environment, length, charset, checksum.
    """
    worked = api_key_parts("test", "Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae")
    live = api_key_parts("live", _random_part("nuvera-vector-live"))
    # A key whose check starts with '0': the left padding of the base62 CRC.
    padded = next(
        parts
        for index in range(100_000)
        if (parts := api_key_parts("test", _random_part(f"pad-{index}")))["check"][0]
        == "0"
    )
    good = worked["key"]
    wrong_check = good[:-1] + ("A" if good[-1] != "A" else "B")

    def bad(key: str, reason: str, note: str) -> dict[str, Any]:
        return {"key": key, "valid": False, "reason": reason, "note": note}

    return [
        {**worked, "note": "the worked example of PROTOCOL §1.1"},
        {**live, "note": "a live key"},
        {**padded, "note": "the base62 check is left-padded with '0' to 6 chars"},
        bad("", "empty", "empty (or only whitespace)"),
        bad("nvx_test_" + good[9:], "prefix", "does not start with nvk_"),
        bad("nvk_prod_" + good[9:], "environment", "neither live nor test"),
        bad(good[:-1], "length", "one character short (46)"),
        bad(good + "0", "length", "one character too many (48)"),
        bad(good[:20] + "-" + good[21:], "charset", "'-' is outside base62"),
        bad(wrong_check, "checksum", "last character changed: CRC32 differs"),
    ]


def kid_vectors(keys: dict[int, rsa.RSAPrivateKey]) -> list[dict[str, Any]]:
    """RFC 7638 kid derivation, every stage, for each vector key."""
    out = []
    for bits in KEY_SIZES:
        numbers = keys[bits].public_key().public_numbers()

        def uint(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        jwk = {"e": uint(numbers.e), "kty": "RSA", "n": uint(numbers.n)}
        member = jcs(jwk)
        digest = hashlib.sha256(member.encode("ascii")).digest()
        out.append(
            {
                "key": f"rsa-{bits}",
                "public_jwk": jwk,
                "thumbprint_input": member,
                "thumbprint_sha256_hex": digest.hex(),
                "kid": b64url(digest),
            }
        )
    return out


def load_keys(new: bool) -> dict[int, rsa.RSAPrivateKey]:
    found: dict[int, rsa.RSAPrivateKey] = {}
    if OUT.exists() and not new:
        for entry in json.loads(OUT.read_text("utf-8"))["keys"].values():
            key = serialization.load_pem_private_key(entry["pem"].encode(), None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise SystemExit("vectors.json holds a key that is not RSA")
            found[key.key_size] = key
    for bits in KEY_SIZES:
        if bits not in found:
            found[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return found


def build(keys: dict[int, rsa.RSAPrivateKey]) -> str:
    document = {
        "description": "Conformance vectors for Nuvera request tokens (PROTOCOL §2.1). "
        "Given the key, method, uri, body, iat, jti and ttl, a conforming SDK "
        "produces output.token byte for byte. See docs/spec/signing.md.",
        "warning": "TEST-ONLY KEYS: these private keys are public. Never use them "
        "outside tests and never upload their public keys to Nuvera.",
        "generator": "scripts/make_vectors.py (independent of nuvera_client)",
        "keys": {
            f"rsa-{bits}": {
                "test_only": True,
                "bits": bits,
                "kid": kid(keys[bits].public_key()),
                "pem": keys[bits]
                .private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                .decode("ascii"),
                "public_pem": keys[bits]
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo,
                )
                .decode("ascii"),
            }
            for bits in KEY_SIZES
        },
        "layout": "docs/spec/vectors.md",
        "vectors": [
            sign(keys[case.get("bits", 2048)], case, index)
            for index, case in enumerate(cases())
        ],
        "api_keys": api_key_vectors(),
        "kids": kid_vectors(keys),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _gzip(data: bytes) -> bytes:
    """Gzip with a fixed header (gzip.compress's header differs across Pythons)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(data) + deflate.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # mtime 0, OS unknown
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return header + raw + trailer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-keys", action="store_true", help="generate new keys")
    parser.add_argument("--check", action="store_true", help="fail if stale")
    args = parser.parse_args(argv)
    text = build(load_keys(args.new_keys))
    if args.check:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run scripts/make_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
