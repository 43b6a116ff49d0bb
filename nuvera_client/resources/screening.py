"""Screening results (``/v1/screening/results``): SCREENING_READ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client._resource import (
    AsyncResource,
    Call,
    ExtraBody,
    ExtraHeaders,
    ExtraQuery,
    SyncResource,
    TimeoutTypes,
    query_params,
)
from nuvera_client.models.screening import ScreeningResult

if TYPE_CHECKING:
    from nuvera_client._resource import AsyncCaller, SyncCaller

__all__ = ["AsyncScreening", "AsyncScreeningResults", "Screening", "ScreeningResults"]


def _list(
    cursor: str | None,
    subject_id: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[ScreeningResult]]:
    return Call(
        "GET",
        "/v1/screening/results",
        parse=page_parser(ScreeningResult.from_dict),
        query=query_params(subject_id=subject_id, limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve(
    result_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[ScreeningResult]:
    return Call(
        "GET",
        "/v1/screening/results/{id}",
        {"id": result_id},
        parse=ScreeningResult.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


class ScreeningResults(SyncResource):
    """Sanctions screening of customers and beneficiaries."""

    def list(
        self,
        *,
        subject_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[ScreeningResult]:
        """List screening results; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, subject_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def retrieve(
        self,
        result_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> ScreeningResult:
        """Fetch one screening result by id."""
        return self._send(
            _retrieve(result_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class Screening:
    """Screening: ``results``.

    See [`ScreeningResults`][nuvera_client.resources.screening.ScreeningResults].
    """

    def __init__(self, client: SyncCaller) -> None:
        self.results = ScreeningResults(client)
        """Screening results."""


class AsyncScreeningResults(AsyncResource):
    """Sanctions screening of customers and beneficiaries."""

    def list(
        self,
        *,
        subject_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[ScreeningResult]:
        """List screening results; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, subject_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def retrieve(
        self,
        result_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> ScreeningResult:
        """Fetch one screening result by id."""
        return await self._send(
            _retrieve(result_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncScreening:
    """Screening: ``results``.

    See
    [`AsyncScreeningResults`][nuvera_client.resources.screening.AsyncScreeningResults].
    """

    def __init__(self, client: AsyncCaller) -> None:
        self.results = AsyncScreeningResults(client)
        """Screening results."""
