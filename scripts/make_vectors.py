"""Write docs/spec/vectors.json: conformance vectors for PROTOCOL §2.1 tokens.

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
        "name": "Zoë Łukasiewicz 山田",
        "note": "€5",
    }
    payment = {
        "amount": "1250.00",
        "beneficiary_id": "ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
        "currency": "USDC",
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
        },
        {
            "name": "get-repeated-keys",
            "method": "GET",
            "uri": "/v1/payments?status=pending&status=completed&limit=100",
        },
        {
            "name": "get-non-ascii-query",
            "method": "GET",
            "uri": "/v1/customers?name=Zo%C3%AB%20%E5%B1%B1%E7%94%B0",
            "note": "non-ASCII is percent-encoded UTF-8 on the wire; uri is ASCII",
        },
        {
            "name": "get-unencoded-brackets",
            "method": "GET",
            "uri": "/v1/customers?filter[status]=active",
            "note": "brackets left unencoded by the client are signed as sent",
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
        },
        {
            "name": "patch-json",
            "method": "PATCH",
            "uri": "/v1/beneficiaries/ben_8Hq2LmN4pR6sT9vW1xY3zA5b",
            "body": b'{"nickname":"Main account"}',
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
        for name in ("content_type", "content_encoding")
        if name in case
    }
    if headers:
        inputs["headers"] = headers
    vector: dict[str, Any] = {"name": case["name"]}
    if "note" in case:
        vector["note"] = case["note"]
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
        "vectors": [
            sign(keys[case.get("bits", 2048)], case, index)
            for index, case in enumerate(cases())
        ],
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
