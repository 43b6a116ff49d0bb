"""Hypothesis on every parser fed untrusted input (issue 17, point 3).

Only documented typed errors, no crash, no 500. Inputs that once broke a parser
stay here as ``@example`` regressions. ``scripts/prove`` runs the same targets
longer, and under atheris where it installs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from proof import fuzz_targets as targets

# scripts/prove raises the count through NUVERA_PROOF_EXAMPLES.
QUICK = settings(
    max_examples=int(os.environ.get("NUVERA_PROOF_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module", autouse=True)
def _release_the_sandbox() -> Iterator[None]:
    yield
    targets.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@QUICK
@given(st.binary(max_size=80) | st.text(max_size=60).map(str.encode))
@example(b"nvk_test_" + b"A" * 38)
@example(b"nvk_live_\xc3\xa9" + b"0" * 37)
@example(b"  nvk_test_" + b"0" * 38 + b"\t")
def test_api_key_parser(data: bytes) -> None:
    targets.api_key(data)


@QUICK
@given(
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries(
        {
            "kty": st.sampled_from(["RSA", "EC"]),
            "n": st.text(max_size=8),
            "e": st.text(max_size=8),
        },
        optional={"d": st.text(max_size=8), "p": st.text(max_size=4)},
    ).map(lambda v: json.dumps(v).encode())
)
@example(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
@example(b"-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n")
@example(b'{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}')
@example(b"0\x82\x00\x00")
def test_private_key_loader(data: bytes) -> None:
    targets.private_key(data)


@QUICK
@given(
    st.binary(max_size=120) | json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 503]),
)
@example(b'{"error": {"code": 5, "details": []}}', 401)
@example(b'{"data": [{}], "has_more": true, "next_cursor": 7}', 200)
@example(b'{"id": "cus_1", "object": "customer"}', 200)
@example(b"\xff\xfe", 200)
def test_client_response_parsing(data: bytes, status: int) -> None:
    targets.response(data, status)


@QUICK
@given(st.binary(max_size=120))
@example(b"a.b.c")
@example(b"eyJhbGciOiJSUzI1NiJ9.e30.")
@example(b"\xff" * 20)
def test_verifier_jws_parsing(data: bytes) -> None:
    targets.jws(data)


@QUICK
@given(
    st.binary(max_size=200)
    | st.lists(
        st.sampled_from(
            [
                b"--fuzzboundary\r\n",
                b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n',
                b'Content-Disposition: form-data; name="customer_id"\r\n',
                b'Content-Disposition: form-data; name="type"\r\n',
                b'Content-Disposition: form-data; name="body"\r\n',
                b"Content-Type: image/png\r\n",
                b"\r\n",
                b"passport",
                b"\x89PNG",
                b"--fuzzboundary--\r\n",
            ]
        ),
        max_size=14,
    ).map(b"".join)
)
@example(b"--fuzzboundary--\r\n")
@example(b'--fuzzboundary\r\nContent-Disposition: form-data; name="file"\r\n\r\n')
def test_multipart_parsing(data: bytes) -> None:
    targets.multipart(data)


@QUICK
@given(st.binary(max_size=60) | st.text(max_size=40).map(str.encode))
@example(b"Y3VzOjE")
@example(b"cGF5Oi0x")
@example(b"Y3VzOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5")
def test_cursor_decoding(data: bytes) -> None:
    targets.cursor(data)


@QUICK
@given(st.binary(max_size=100) | json_values.map(lambda v: json.dumps(v).encode()))
@example(b'{"subject": "\\ud800", "body": "x"}')
@example(b'{"subject": "s", "body": "b", "priority": "\\udfff"}')
def test_json_bodies(data: bytes) -> None:
    targets.json_body(data)
