"""Owns uploaded files: multipart forms, hashing, BLOB storage, streaming downloads."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from nuvera_client.sandbox._handlers import RequestContext
from nuvera_client.sandbox._problems import validation_failed
from nuvera_client.sandbox._routes._common import (
    check_body_size,
    invalid_request,
    payload_too_large,
)

CHUNK_BYTES = 64 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_FILENAME = 255

_CONTENT_TYPE_RE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(?:\s*;.*)?")


@dataclass
class Upload:
    """A file part, read once: its name, type, size and SHA-256."""

    part: UploadFile
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass
class Form:
    """A parsed multipart body: text fields, file parts, and field errors."""

    texts: dict[str, str]
    files: dict[str, list[UploadFile]]
    errors: dict[str, str]


async def read_form(
    ctx: RequestContext, *, text_fields: Iterable[str], file_fields: Iterable[str]
) -> Form:
    """Parse a ``multipart/form-data`` body, checking its size and field names.

    Raises:
        ApiProblem: 413 over ``ctx.max_body_bytes``, 400 for a malformed body.
    """
    check_body_size(ctx)
    try:
        form = await ctx.form()
    except (MultiPartException, HTTPException) as exc:
        detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
        raise invalid_request(f"The multipart body is malformed: {detail}") from None
    texts_allowed, files_allowed = set(text_fields), set(file_fields)
    result = Form({}, {}, {})
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name in files_allowed:
                result.files.setdefault(name, []).append(value)
            elif name in texts_allowed:
                result.errors.setdefault(name, "must be a text field, not a file")
            else:
                result.errors.setdefault(name, "unknown field")
        elif name in files_allowed:
            result.errors.setdefault(name, "must be a file part (with a filename)")
        elif name not in texts_allowed:
            result.errors.setdefault(name, "unknown field")
        elif name in result.texts:
            result.errors.setdefault(name, "given more than once")
        else:
            result.texts[name] = value
    return result


def _clean_filename(raw: str | None) -> str:
    # Browsers may send a path ("C:\\fakepath\\a.pdf"); keep the last component.
    name = re.split(r"[/\\]", raw or "")[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:MAX_FILENAME] or "upload"


def read_upload(part: UploadFile, max_bytes: int, field: str = "file") -> Upload:
    """Read a file part once, in chunks, for its size and SHA-256 (413 past limit).

    Reads the part's spooled file synchronously (a local temporary file), so a handler
    may call it inside its store transaction without suspending.

    Raises:
        ApiProblem: 413 past ``max_bytes``; 422 when the part's ``Content-Type``
            holds a character outside visible ASCII, SP and HTAB (it is sent back as
            a header on download).
    """
    raw_type = part.content_type or ""
    if any(not (0x20 <= ord(ch) <= 0x7E or ch == "\t") for ch in raw_type):
        raise validation_failed(
            {field: "the part Content-Type may hold only visible ASCII, SP and HTAB"}
        )
    digest = hashlib.sha256()
    size = 0
    part.file.seek(0)
    while chunk := part.file.read(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise payload_too_large(max_bytes)
        digest.update(chunk)
    content_type = raw_type.strip(" \t")
    if not _CONTENT_TYPE_RE.fullmatch(content_type):
        content_type = DEFAULT_CONTENT_TYPE
    return Upload(
        part, _clean_filename(part.filename), content_type, size, digest.hexdigest()
    )


def store_content(
    db: sqlite3.Connection, table: str, rowid: int, upload: Upload
) -> None:
    """Write the part's bytes into ``table.content`` of row ``rowid`` (a zeroblob)."""
    source = upload.part.file
    source.seek(0)
    if hasattr(db, "blobopen") and upload.size:
        # Python 3.11+: write in chunks, never holding the whole file in memory.
        with db.blobopen(table, "content", rowid) as blob:
            while chunk := source.read(CHUNK_BYTES):
                blob.write(chunk)
        return
    data = source.read()
    db.execute(
        f"UPDATE {table} SET content = ? WHERE seq = ?",  # noqa: S608 - fixed table names
        (data, rowid),
    )


async def stream_content(
    db: sqlite3.Connection, table: str, rowid: int, size: int
) -> AsyncIterator[bytes]:
    """Yield ``table.content`` of row ``rowid`` in chunks of at most 64 KiB.

    Reads the BLOB incrementally on Python 3.11+ (``blobopen``); on 3.10 it reads it
    once and slices it. The connection must stay open until the stream is drained.
    """
    if hasattr(db, "blobopen"):
        blob: Any = db.blobopen(table, "content", rowid, readonly=True)
        try:
            while chunk := blob.read(CHUNK_BYTES):
                yield chunk
        finally:
            blob.close()
        return
    row = db.execute(
        f"SELECT content FROM {table} WHERE seq = ?",  # noqa: S608 - fixed table names
        (rowid,),
    ).fetchone()
    data = bytes(row[0]) if row is not None and row[0] is not None else b""
    for start in range(0, min(size, len(data)), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]


def content_disposition(filename: str) -> str:
    """Return ``attachment; filename="…"`` (plus RFC 5987 ``filename*`` if needed)."""
    plain = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "_" for ch in filename
    )
    value = f'attachment; filename="{plain}"'
    if plain != filename:
        value += "; filename*=UTF-8''" + quote(filename, safe="")
    return value
