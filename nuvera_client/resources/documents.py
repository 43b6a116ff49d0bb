"""Documents (``/v1/documents``): DOCUMENTS_READ / DOCUMENTS_WRITE; uploads stream."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path

import anyio

from nuvera_client._notebook import Progress, ProgressReporter
from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client._resource import (
    AsyncResource,
    Call,
    ExtraBody,
    ExtraHeaders,
    ExtraQuery,
    FileInput,
    FilePart,
    SyncResource,
    TimeoutTypes,
    query_params,
)
from nuvera_client.models.documents import Document, DocumentType

__all__ = ["AsyncDocuments", "Documents"]

_PATH = "/v1/documents"


def _list(
    cursor: str | None,
    customer_id: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[Document]]:
    return Call(
        "GET",
        _PATH,
        parse=page_parser(Document.from_dict),
        query=query_params(customer_id=customer_id, limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _upload(
    customer_id: str,
    type: DocumentType | str,
    file: FileInput,
    filename: str | None,
    content_type: str | None,
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
    watcher: ProgressReporter | None = None,
) -> Call[Document]:
    # The multipart body streams from the file; the auth hashes it in a first pass
    # (not reported), and the watcher sees the bytes of each attempt's send.
    return Call(
        "POST",
        _PATH,
        parse=Document.from_dict,
        form={"customer_id": customer_id, "type": str(getattr(type, "value", type))},
        files=(FilePart("file", file, filename, content_type),),
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
        upload_watcher=watcher,
    )


def _retrieve(
    document_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[Document]:
    return Call(
        "GET",
        "/v1/documents/{id}",
        {"id": document_id},
        parse=Document.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _content(
    document_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[None]:
    return Call(
        "GET",
        "/v1/documents/{id}/content",
        {"id": document_id},
        max_retries=max_retries,
        timeout=timeout,
    )


def _upload_reporter(
    progress: Progress, file: FileInput, filename: str | None
) -> ProgressReporter | None:
    if progress is None or progress is False:
        return None
    name = FilePart("file", file, filename).resolved_filename()
    return ProgressReporter(progress, description=name, unit="B")


def _partial_path(target: Path) -> Path:
    # Written beside the target, then renamed: a failed download leaves no stub.
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")


class Documents(SyncResource):
    """Identity and supporting documents of customers."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[Document]:
        """List documents, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def upload(
        self,
        *,
        customer_id: str,
        type: DocumentType | str,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
        progress: Progress = None,
    ) -> Document:
        """Upload a document, streamed in constant memory.

        Args:
            customer_id: the customer it belongs to.
            type: ``passport``, ``id_card``, ``drivers_license``, ...
            file: a path, the bytes, or a binary file object (a non-seekable one
                is spooled to a temporary file so that retries can resend it).
            filename: the name sent (default: from the path or file object).
            content_type: the part's type (default: guessed from the filename).
            idempotency_key: your own key (default: a fresh random one).
            max_retries: this call's retry budget.
            timeout: this call's timeout.
            extra_headers: headers to add (signed; not the credentials, Idempotency-Key
                or the body headers).
            extra_query: query parameters to add (signed in ``uri``).
            extra_body: fields merged over the body (for fields newer than the SDK).
            progress: ``True`` shows a tqdm bar of the bytes sent (the ``notebook``
                extra); a callable gets ``(bytes_so_far, chunks_so_far)`` per chunk.
                A retried attempt sends the body again and counts from zero.
        """
        reporter = _upload_reporter(progress, file, filename)
        try:
            return self._send(
                _upload(
                    customer_id,
                    type,
                    file,
                    filename,
                    content_type,
                    idempotency_key,
                    max_retries,
                    timeout,
                    reporter,
                ),
                extra_headers,
                extra_query,
                extra_body,
            )
        finally:
            if reporter is not None:
                reporter.close()

    def retrieve(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Document:
        """Fetch a document's metadata (size, sha256...)."""
        return self._send(
            _retrieve(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def download(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> bytes:
        """Return a document's content, held in memory (see ``download_to()``).

        To write a large file to disk without holding it, use
        [`download_to()`][nuvera_client.resources.documents.Documents.download_to].
        """
        return self._download(
            _content(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def stream(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a document's content: ``with ....stream(id) as chunks: ...``."""
        return self._stream(
            _content(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def download_to(
        self,
        document_id: str,
        path: str | os.PathLike[str],
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
        progress: Progress = None,
    ) -> Path:
        """Write a document's content to ``path``, streaming; returns the path.

        ``progress=True`` shows a tqdm bar of the bytes written (the ``notebook``
        extra); a callable gets ``(bytes_so_far, chunks_so_far)`` per chunk.
        """
        target = Path(path)
        partial = _partial_path(target)
        reporter = ProgressReporter(progress, description=target.name, unit="B")
        try:
            with (
                self.stream(
                    document_id,
                    max_retries=max_retries,
                    timeout=timeout,
                    extra_headers=extra_headers,
                    extra_query=extra_query,
                    extra_body=extra_body,
                ) as chunks,
                partial.open("wb") as out,
            ):
                for chunk in chunks:
                    out.write(chunk)
                    reporter.page(len(chunk))
            os.replace(partial, target)
        finally:
            reporter.close()
            partial.unlink(missing_ok=True)
        return target


class AsyncDocuments(AsyncResource):
    """Identity and supporting documents of customers."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[Document]:
        """List documents, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def upload(
        self,
        *,
        customer_id: str,
        type: DocumentType | str,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
        progress: Progress = None,
    ) -> Document:
        """Upload a document, streamed in constant memory.

        Args:
            customer_id: the customer it belongs to.
            type: ``passport``, ``id_card``, ``drivers_license``, ...
            file: a path, the bytes, or a binary file object (a non-seekable one
                is spooled to a temporary file so that retries can resend it).
            filename: the name sent (default: from the path or file object).
            content_type: the part's type (default: guessed from the filename).
            idempotency_key: your own key (default: a fresh random one).
            max_retries: this call's retry budget.
            timeout: this call's timeout.
            extra_headers: headers to add (signed; not the credentials, Idempotency-Key
                or the body headers).
            extra_query: query parameters to add (signed in ``uri``).
            extra_body: fields merged over the body (for fields newer than the SDK).
            progress: ``True`` shows a tqdm bar of the bytes sent (the ``notebook``
                extra); a callable gets ``(bytes_so_far, chunks_so_far)`` per chunk.
                A retried attempt sends the body again and counts from zero.
        """
        reporter = _upload_reporter(progress, file, filename)
        try:
            return await self._send(
                _upload(
                    customer_id,
                    type,
                    file,
                    filename,
                    content_type,
                    idempotency_key,
                    max_retries,
                    timeout,
                    reporter,
                ),
                extra_headers,
                extra_query,
                extra_body,
            )
        finally:
            if reporter is not None:
                reporter.close()

    async def retrieve(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Document:
        """Fetch a document's metadata (size, sha256...)."""
        return await self._send(
            _retrieve(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def download(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> bytes:
        """Return a document's content, held in memory (see ``download_to()``).

        To write a large file to disk without holding it, use
        [`download_to()`][nuvera_client.resources.documents.AsyncDocuments.download_to].
        """
        return await self._download(
            _content(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def stream(
        self,
        document_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Stream a document's content: ``async with ....stream(id) as chunks:``."""
        return self._stream(
            _content(document_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def download_to(
        self,
        document_id: str,
        path: str | os.PathLike[str],
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
        progress: Progress = None,
    ) -> Path:
        """Write a document's content to ``path``, streaming; returns the path.

        ``progress=True`` shows a tqdm bar of the bytes written (the ``notebook``
        extra); a callable gets ``(bytes_so_far, chunks_so_far)`` per chunk.
        """
        target = Path(path)
        partial = _partial_path(target)
        reporter = ProgressReporter(progress, description=target.name, unit="B")
        try:
            async with (
                self.stream(
                    document_id,
                    max_retries=max_retries,
                    timeout=timeout,
                    extra_headers=extra_headers,
                    extra_query=extra_query,
                    extra_body=extra_body,
                ) as chunks,
                await anyio.open_file(partial, "wb") as out,
            ):
                async for chunk in chunks:
                    await out.write(chunk)
                    reporter.page(len(chunk))
            os.replace(partial, target)
        finally:
            reporter.close()
            partial.unlink(missing_ok=True)
        return target
