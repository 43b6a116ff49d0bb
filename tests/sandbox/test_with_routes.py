"""The core app with the real REST handlers (``_routes``), in-process and loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import public_pem
from sandbox_support import Caller, Clock

from nuvera_client.sandbox import PERMISSIONS, Sandbox

pytest.importorskip("nuvera_client.sandbox._routes")


@pytest.fixture(params=["in-process", "loopback"])
def real(
    request: pytest.FixtureRequest, rsa_key: rsa.RSAPrivateKey
) -> Iterator[Caller]:
    clock = Clock()
    sandbox = Sandbox(clock=clock)
    app = sandbox.create_application(
        name="real", permissions=list(PERMISSIONS), public_key_pem=public_pem(rsa_key)
    )
    try:
        if request.param == "in-process":
            with httpx.Client(transport=sandbox.transport(), base_url="http://t") as c:
                yield Caller(sandbox, clock, c, app, rsa_key)
        else:
            with sandbox.serve() as server, httpx.Client(base_url=server.base_url) as c:
                yield Caller(sandbox, clock, c, app, rsa_key)
    finally:
        sandbox.close()


def test_partner_story(real: Caller) -> None:
    body = b'{"type":"individual","name":"Ada Lovelace","email":"ada@example.com"}'
    created = real.send("POST", "/v1/customers", body, content_type="application/json")
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    assert customer_id.startswith("cus_")
    listed = real.send("GET", "/v1/customers?email=ada%40example.com&limit=10")
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["data"]] == [customer_id]
    assert real.send("GET", "/v1/crypto/assets").status_code == 200
    # A multipart upload through the core's form parsing, then a streamed download.
    content = b"%PDF-1.7\n" + bytes(range(256)) * 64
    request = httpx.Request(
        "POST",
        "http://t/v1/documents",
        data={"customer_id": customer_id, "type": "passport"},
        files={"file": ("passport.pdf", content, "application/pdf")},
    )
    uploaded = real.send(
        "POST",
        "/v1/documents",
        request.read(),
        content_type=request.headers["content-type"],
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    downloaded = real.send("GET", f"/v1/documents/{document['id']}/content")
    assert downloaded.status_code == 200
    assert downloaded.content == content
    # Idempotency is the core's job: required, then replayed.
    refused = real.send("POST", "/v1/payments", b"{}", content_type="application/json")
    assert refused.json()["error"]["code"] == "idempotency_key_required"


def test_an_upload_cut_inside_its_file_part_is_400_not_422(real: Caller) -> None:
    # The form parser dropped the cut part without a word, so the route answered 422
    # "file: required" for a body that is not multipart at all.
    body = b'{"type":"individual","name":"Ada","email":"ada@example.com"}'
    created = real.send("POST", "/v1/customers", body, content_type="application/json")
    request = httpx.Request(
        "POST",
        "http://t/v1/documents",
        data={"customer_id": created.json()["id"], "type": "passport"},
        files={"file": ("passport.pdf", b"%PDF-1.7\n" * 200, "application/pdf")},
    )
    whole = request.read()
    cut = whole[: whole.rindex(b"%PDF")]
    refused = real.send(
        "POST", "/v1/documents", cut, content_type=request.headers["content-type"]
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "invalid_request"
    assert real.send("GET", "/v1/documents").json()["data"] == []


def test_unknown_id_and_405_come_from_the_core(real: Caller) -> None:
    assert real.send("PUT", "/v1/customers").status_code == 405
    assert real.send("GET", "/v1/customers/cus_missing").status_code == 404
