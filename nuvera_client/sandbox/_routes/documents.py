"""Owns documents: multipart upload, metadata, streamed content, the KYC emulation."""

from __future__ import annotations

from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import validation_failed
from nuvera_client.sandbox._routes import customers
from nuvera_client.sandbox._routes._common import (
    ID_PATTERNS,
    check_query,
    fresh_id,
    iso,
    json_reply,
    media_type,
    now_ts,
    unsupported_media_type,
)
from nuvera_client.sandbox._routes._files import (
    content_disposition,
    read_form,
    read_upload,
    store_content,
    stream_content,
)
from nuvera_client.sandbox._routes._pagination import (
    filter_id,
    page_params,
)
from nuvera_client.sandbox._routes._tables import OwnedTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    type TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    content BLOB
);
CREATE INDEX IF NOT EXISTS documents_app
    ON documents (application_id, customer_id, seq);
"""

TYPES = (
    "passport",
    "id_card",
    "drivers_license",
    "proof_of_address",
    "bank_statement",
    "other",
)
IDENTITY_TYPES = ("passport", "id_card", "drivers_license")
REJECT_MARKER = "Reject"

# The content column is last and never selected here, so SQLite skips its pages.
_COLUMNS = (
    "seq, id, customer_id, type, filename, content_type, size, sha256, created_at"
)


def render(row: dict[str, Any]) -> JSON:
    """Render a stored document's metadata."""
    return {
        "id": row["id"],
        "object": "document",
        "customer_id": row["customer_id"],
        "type": row["type"],
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size": row["size"],
        "sha256": row["sha256"],
        "created_at": iso(row["created_at"]),
    }


_DOCUMENTS = OwnedTable("doc", "document", "documents", _COLUMNS)


def _start_kyc(ctx: RequestContext, customer: dict[str, Any]) -> None:
    # Sandbox emulation: KYC goes pending, then is decided at once, in this request.
    customers.set_kyc_status(ctx, customer["id"], "pending")
    outcome = "rejected" if REJECT_MARKER in customer["name"] else "verified"
    customers.set_kyc_status(ctx, customer["id"], outcome)


async def upload_document(ctx: RequestContext) -> Reply:
    """POST /v1/documents: multipart fields customer_id, type and the part file."""
    check_query(ctx)
    kind = media_type(ctx)
    if kind != "multipart/form-data":
        raise unsupported_media_type(["multipart/form-data"], kind)
    form = await read_form(
        ctx, text_fields=("customer_id", "type"), file_fields=("file",)
    )
    errors = form.errors
    customer = None
    customer_id = form.texts.get("customer_id")
    if customer_id is None:
        errors.setdefault("customer_id", "required")
    elif not ID_PATTERNS["cus"].fullmatch(customer_id):
        errors.setdefault("customer_id", "must be an id starting with cus_")
    else:
        customer = customers.CUSTOMERS.find(ctx.db, ctx.application_id, customer_id)
        if customer is None:
            errors.setdefault("customer_id", "no such customer")
    doc_type = form.texts.get("type")
    if doc_type is None:
        errors.setdefault("type", "required")
    elif doc_type not in TYPES:
        errors.setdefault("type", "must be one of: " + ", ".join(TYPES))
    parts = form.files.get("file", [])
    if not parts and "file" not in errors:
        errors["file"] = "required"
    elif len(parts) > 1:
        errors["file"] = "give exactly one file part"
    upload = None
    if len(parts) == 1:
        upload = read_upload(parts[0], ctx.max_body_bytes)
        if upload.size == 0:
            errors["file"] = "the file is empty"
    if errors:
        raise validation_failed(errors)
    if customer is None or upload is None or doc_type is None:
        raise RuntimeError("document fields missing after validation")
    document_id = fresh_id(ctx, "doc")
    cursor = ctx.db.execute(
        "INSERT INTO documents (id, application_id, customer_id, type, filename,"
        " content_type, size, sha256, created_at, content)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, zeroblob(?))",
        (
            document_id,
            ctx.application_id,
            customer["id"],
            doc_type,
            upload.filename,
            upload.content_type,
            upload.size,
            upload.sha256,
            now_ts(ctx),
            upload.size,
        ),
    )
    if cursor.lastrowid is None:
        raise RuntimeError("document insert returned no row id")
    store_content(ctx.db, "documents", cursor.lastrowid, upload)
    if doc_type in IDENTITY_TYPES:
        _start_kyc(ctx, customer)
    return json_reply(render(_DOCUMENTS.written(ctx, document_id)), 201)


async def list_documents(ctx: RequestContext) -> Reply:
    """GET /v1/documents: metadata, newest first, filter ``customer_id``."""
    page = page_params(ctx, "doc", ["customer_id"])
    where: list[tuple[str, Any]] = []
    customer_id = filter_id(ctx, "customer_id", ["cus"])
    if customer_id is not None:
        where.append(("customer_id = ?", customer_id))
    return _DOCUMENTS.list_reply(ctx, page, render, where)


async def retrieve_document(ctx: RequestContext) -> Reply:
    """GET /v1/documents/{id}: metadata incl. ``size`` and ``sha256``."""
    check_query(ctx)
    return json_reply(render(_DOCUMENTS.existing(ctx)))


async def download_document(ctx: RequestContext) -> Reply:
    """GET /v1/documents/{id}/content: the raw bytes, streamed in 64 KiB chunks."""
    check_query(ctx)
    row = _DOCUMENTS.existing(ctx)
    return Reply(
        status=200,
        stream=stream_content(ctx.db, "documents", row["seq"], row["size"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": content_disposition(row["filename"]),
            "Content-Length": str(row["size"]),
        },
    )
