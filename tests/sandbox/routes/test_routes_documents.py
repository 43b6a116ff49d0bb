"""Documents: multipart upload, size limit, metadata, streamed content, KYC."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest

from nuvera_client.sandbox._routes._files import content_disposition

from .conftest import Api

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n" + b"0123456789" * 50


async def upload(
    api: Api,
    customer_id: str,
    content: bytes = PDF,
    *,
    doc_type: str = "passport",
    filename: str = "passport.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return await api.request(
        "POST",
        "/v1/documents",
        data={"customer_id": customer_id, "type": doc_type},
        files={"file": (filename, content, content_type)},
    )


async def test_upload_stores_size_and_sha256(
    api: Api, openapi_schema: Callable[[Any, str], None]
) -> None:
    customer = await api.customer()
    result = await upload(api, customer["id"])
    assert result.status == 201, result.body
    body = result.body
    assert body["id"].startswith("doc_")
    assert body["object"] == "document"
    assert body["customer_id"] == customer["id"]
    assert body["type"] == "passport"
    assert body["filename"] == "passport.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    openapi_schema(body, "Document")
    assert (await api.get(f"/v1/documents/{body['id']}")).body == body


async def test_download_streams_in_64k_chunks(api: Api) -> None:
    customer = await api.customer()
    content = os.urandom(200 * 1024 + 7)
    document = (await upload(api, customer["id"], content, doc_type="other")).body
    result = await api.get(f"/v1/documents/{document['id']}/content")
    assert result.status == 200
    assert result.content == content
    assert [len(chunk) for chunk in result.chunks] == [65536, 65536, 65536, 8199]
    assert result.media_type == "application/pdf"
    assert result.headers["Content-Length"] == str(len(content))
    assert (
        result.headers["Content-Disposition"] == 'attachment; filename="passport.pdf"'
    )


async def test_download_without_blobopen_falls_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await api.customer()
    content = os.urandom(70000)
    document = (await upload(api, customer["id"], content, doc_type="other")).body

    class NoBlob:
        """A connection proxy without ``blobopen`` (Python 3.10)."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            if name == "blobopen":
                raise AttributeError(name)
            return getattr(self._inner, name)

    api.db = NoBlob(api.db)  # type: ignore[assignment]
    again = await upload(api, customer["id"], content, doc_type="other")
    assert again.body["sha256"] == document["sha256"]
    for doc_id in (document["id"], again.body["id"]):
        result = await api.get(f"/v1/documents/{doc_id}/content")
        assert result.content == content
        assert [len(chunk) for chunk in result.chunks] == [65536, 70000 - 65536]


async def test_default_content_type_and_odd_filenames(api: Api) -> None:
    customer = await api.customer()
    result = await api.request(
        "POST",
        "/v1/documents",
        data={"customer_id": customer["id"], "type": "other"},
        files={"file": ("C:\\fakepath\\scan.png", b"png", "")},
    )
    assert result.status == 201, result.body
    assert result.body["content_type"] == "application/octet-stream"
    assert result.body["filename"] == "scan.png"


def test_content_disposition_escapes() -> None:
    assert content_disposition("scan.pdf") == 'attachment; filename="scan.pdf"'
    assert content_disposition('a"b.pdf') == (
        "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf"
    )
    assert content_disposition("résumé.pdf") == (
        "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )


async def test_identity_document_verifies_kyc(api: Api) -> None:
    customer = await api.customer()
    await upload(api, customer["id"], doc_type="proof_of_address")
    assert (await api.get(f"/v1/customers/{customer['id']}")).body["kyc_status"] == (
        "not_started"
    )
    await upload(api, customer["id"], doc_type="id_card")
    assert (await api.get(f"/v1/customers/{customer['id']}")).body["kyc_status"] == (
        "verified"
    )
    rejected = await api.customer(name="Reject Me")
    await upload(api, rejected["id"], doc_type="drivers_license")
    assert (await api.get(f"/v1/customers/{rejected['id']}")).body["kyc_status"] == (
        "rejected"
    )


async def test_empty_file_is_422(api: Api) -> None:
    customer = await api.customer()
    result = await upload(api, customer["id"], b"")
    assert result.fields == {"file": "the file is empty"}


async def test_over_the_limit_is_413(api: Api) -> None:
    customer = await api.customer()
    api.max_body_bytes = 1024
    result = await upload(api, customer["id"], b"x" * 2048)
    assert result.status == 413
    assert result.error["code"] == "payload_too_large"
    assert result.error["details"] == {"max_bytes": 1024}
    assert (await api.get("/v1/documents")).body["data"] == []


@pytest.mark.parametrize(
    ("data", "files", "fields"),
    [
        ({"type": "passport"}, {"file": ("a.pdf", b"x")}, {"customer_id": "required"}),
        (
            {"customer_id": "cus_nobody", "type": "passport"},
            {"file": ("a.pdf", b"x")},
            {"customer_id": "no such customer"},
        ),
        (
            {"customer_id": "nobody", "type": "passport"},
            {"file": ("a.pdf", b"x")},
            {"customer_id": "must be an id starting with cus_"},
        ),
        ({"customer_id": "$CUS"}, {"file": ("a.pdf", b"x")}, {"type": "required"}),
        (
            {"customer_id": "$CUS", "type": "selfie"},
            {"file": ("a.pdf", b"x")},
            {
                "type": "must be one of: passport, id_card, drivers_license,"
                " proof_of_address, bank_statement, other"
            },
        ),
        ({"customer_id": "$CUS", "type": "passport"}, None, {"file": "required"}),
        (
            {"customer_id": "$CUS", "type": "passport", "file": "inline text"},
            None,
            {"file": "must be a file part (with a filename)"},
        ),
        (
            {"customer_id": "$CUS", "type": "passport", "note": "x"},
            {"file": ("a.pdf", b"x")},
            {"note": "unknown field"},
        ),
        (
            {"customer_id": "$CUS", "type": "passport"},
            [("file", ("a.pdf", b"x")), ("file", ("b.pdf", b"y"))],
            {"file": "give exactly one file part"},
        ),
        (
            {"customer_id": "$CUS", "type": "passport"},
            {"file": ("a.pdf", b"x"), "type": ("t.txt", b"passport")},
            {"type": "must be a text field, not a file"},
        ),
    ],
)
async def test_upload_validation(
    api: Api, data: dict[str, str], files: Any, fields: dict[str, str]
) -> None:
    customer = await api.customer()
    data = {k: customer["id"] if v == "$CUS" else v for k, v in data.items()}
    if files is None:
        result = await api.request(
            "POST",
            "/v1/documents",
            content=_form_without_files(data),
            content_type="multipart/form-data; boundary=zzz",
        )
    else:
        result = await api.request("POST", "/v1/documents", data=data, files=files)
    assert result.status == 422, result.body
    assert result.fields == fields


def _form_without_files(data: dict[str, str]) -> bytes:
    parts = [
        f'--zzz\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in data.items()
    ]
    return ("".join(parts) + "--zzz--\r\n").encode()


async def test_wrong_media_type_is_415_and_bad_multipart_is_400(api: Api) -> None:
    customer = await api.customer()
    as_json = await api.post("/v1/documents", {"customer_id": customer["id"]})
    assert as_json.status == 415
    assert as_json.error["details"]["accepted"] == ["multipart/form-data"]
    broken = await api.request(
        "POST",
        "/v1/documents",
        content=b"this is not multipart",
        content_type="multipart/form-data",
    )
    assert broken.status == 400
    assert broken.error["code"] == "invalid_request"


async def test_list_filter_and_404s(api: Api) -> None:
    ada = await api.customer()
    bob = await api.customer()
    first = (await upload(api, ada["id"], doc_type="other")).body
    second = (await upload(api, bob["id"], doc_type="other")).body
    everything = await api.get("/v1/documents")
    assert [d["id"] for d in everything.body["data"]] == [second["id"], first["id"]]
    only_ada = await api.get(f"/v1/documents?customer_id={ada['id']}")
    assert [d["id"] for d in only_ada.body["data"]] == [first["id"]]
    assert (await api.get("/v1/documents/doc_nothing")).status == 404
    assert (await api.get("/v1/documents/doc_nothing/content")).status == 404
    assert (await api.get("/v1/documents/nothing/content")).status == 404
