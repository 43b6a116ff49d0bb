"""Owns Page[T] / AsyncPage[T]: lazy cursor iteration over list endpoints (§6)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nuvera_client import _notebook
from nuvera_client._notebook import Progress, ProgressReporter
from nuvera_client.errors import LimitExceededError

if TYPE_CHECKING:
    import pandas

__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_PAGES",
    "AsyncPage",
    "Page",
    "PageData",
    "page_parser",
]

T = TypeVar("T")

MAX_PAGES = 1_000_000
"""A bound on pages followed by one iteration (a server bug must not loop forever)."""

MAX_CURSOR_LENGTH = 1024
"""The longest ``cursor=`` accepted: cursors are opaque, but a stored one is bounded."""


@dataclass(frozen=True)
class PageData(Generic[T]):
    """One page of a list response: ``data``, ``has_more``, ``next_cursor``."""

    data: tuple[T, ...]
    has_more: bool
    next_cursor: str | None

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of the response this page came in."""
        value = self.__dict__.get("_request_id")
        return value if isinstance(value, str) else None


def page_parser(item: Callable[[Any], T]) -> Callable[[Any], PageData[T]]:
    """Return a parser of ``{"data": [...], "has_more": ..., "next_cursor": ...}``."""

    def parse(payload: Any) -> PageData[T]:
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise ValueError("a list response must be an object with a 'data' array")
        cursor = payload.get("next_cursor")
        has_more = bool(payload.get("has_more")) and bool(cursor)
        return PageData(
            data=tuple(item(x) for x in payload["data"]),
            has_more=has_more,
            next_cursor=str(cursor) if cursor else None,
        )

    return parse


class Page(Generic[T]):
    """A list result: iterate it to get every item, fetching pages lazily.

    ``for customer in client.customers.list(): ...`` follows ``next_cursor`` as
    needed. For manual control, ``page = ....first_page()`` fetches one page;
    then ``page.data``, ``page.has_more`` and ``page.next_page()``.

    A stateless service resumes from a stored cursor: keep ``page.next_cursor``
    (in a URL, a session) and later call ``list(..., cursor=that_cursor)``; the
    new page's ``cursor`` is the one it was fetched with.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], PageData[T]],
        cursor: str | None = None,
        *,
        loaded: PageData[T] | None = None,
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor
        self._loaded = loaded

    def _load(self) -> PageData[T]:
        if self._loaded is None:
            self._loaded = self._fetch(self._cursor)
        return self._loaded

    def first_page(self) -> Page[T]:
        """Fetch this page (once) and return it, for ``data`` / ``has_more``."""
        self._load()
        return self

    @property
    def data(self) -> tuple[T, ...]:
        """The items of this page (fetches it on first use)."""
        return self._load().data

    @property
    def has_more(self) -> bool:
        """Whether another page follows this one (fetches it on first use)."""
        return self._load().has_more

    @property
    def cursor(self) -> str | None:
        """The cursor this page was requested with (None for the first page)."""
        return self._cursor

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the next page, or None on the last page."""
        return self._load().next_cursor

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of this page's response (fetches it on first use)."""
        return self._load().request_id

    def next_page(self) -> Page[T] | None:
        """Fetch and return the following page, or None after the last."""
        current = self._load()
        if not current.has_more or current.next_cursor is None:
            return None
        return Page(self._fetch, current.next_cursor).first_page()

    def __iter__(self) -> Iterator[T]:
        return self.iter_all()

    def iter_all(self, *, progress: Progress = None) -> Iterator[T]:
        """Yield every item from this page on, fetching the following pages.

        Args:
            progress: ``True`` shows a tqdm bar (the ``notebook`` extra); a
                callable is called as ``progress(items_so_far, pages_so_far)``
                after each page.
        """
        reporter = ProgressReporter(progress)
        try:
            page: Page[T] | None = self
            for _ in range(MAX_PAGES):
                if page is None:
                    return
                data = page.data
                reporter.page(len(data))
                yield from data
                page = page.next_page()
            raise LimitExceededError(f"stopped after {MAX_PAGES} pages")
        finally:
            reporter.close()

    def to_records(
        self, *, max_items: int | None = None, progress: Progress = None
    ) -> list[dict[str, Any]]:
        """Return every item from this page on as typed dicts (``model.to_record()``).

        Unlike ``to_dict()`` (JSON-safe strings), amounts stay ``Decimal``,
        timestamps aware ``datetime`` and statuses enum members.

        Args:
            max_items: stop after this many items (default: all pages).
            progress: as for ``iter_all()``.
        """
        records: list[dict[str, Any]] = []
        for item in self.iter_all(progress=progress):
            if max_items is not None and len(records) >= max_items:
                break
            records.append(_record(item))
        return records

    def to_pandas(
        self, *, max_items: int | None = None, progress: Progress = None
    ) -> pandas.DataFrame:
        """Return ``to_records()`` as a pandas DataFrame (the ``notebook`` extra).

        Timestamps become ``datetime64[ns, UTC]`` columns; amounts stay ``Decimal``
        (exact, ``object`` dtype).

        Raises:
            OptionalDependencyError: pandas is not installed.
        """
        _notebook.require("pandas", "to_pandas()")
        records = self.to_records(max_items=max_items, progress=progress)
        return _notebook.records_frame(records)

    def __repr__(self) -> str:
        state = "not fetched" if self._loaded is None else f"{len(self.data)} items"
        return f"<Page {state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        # Never fetches: displaying a value must not send a request.
        loaded = self._loaded
        items = None if loaded is None else loaded.data
        return _notebook.page_html("Page", items, bool(loaded and loaded.has_more))


class AsyncPage(Generic[T]):
    """The async twin of ``Page``: ``async for item in client.x.list(): ...``.

    See [`Page`][nuvera_client.Page].

    ``page = await client.customers.list()`` (or ``await ....first_page()``)
    fetches the first page; ``data``/``has_more`` are readable once fetched.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[PageData[T]]],
        cursor: str | None = None,
        *,
        loaded: PageData[T] | None = None,
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor
        self._loaded = loaded

    async def _load(self) -> PageData[T]:
        if self._loaded is None:
            self._loaded = await self._fetch(self._cursor)
        return self._loaded

    def _require(self) -> PageData[T]:
        if self._loaded is None:
            raise RuntimeError("the page is not fetched yet: await first_page() first")
        return self._loaded

    async def first_page(self) -> AsyncPage[T]:
        """Fetch this page (once) and return it, for ``data`` / ``has_more``."""
        await self._load()
        return self

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self.first_page().__await__()

    @property
    def data(self) -> tuple[T, ...]:
        """The items of this page (after ``await first_page()``)."""
        return self._require().data

    @property
    def has_more(self) -> bool:
        """Whether another page follows (after ``await first_page()``)."""
        return self._require().has_more

    @property
    def cursor(self) -> str | None:
        """The cursor this page was requested with (None for the first page)."""
        return self._cursor

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the next page (after ``await first_page()``)."""
        return self._require().next_cursor

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of this page's response (after ``first_page()``)."""
        return self._require().request_id

    async def next_page(self) -> AsyncPage[T] | None:
        """Fetch and return the following page, or None after the last."""
        current = await self._load()
        if not current.has_more or current.next_cursor is None:
            return None
        return await AsyncPage(self._fetch, current.next_cursor).first_page()

    def __aiter__(self) -> AsyncIterator[T]:
        return self.iter_all()

    async def iter_all(self, *, progress: Progress = None) -> AsyncIterator[T]:
        """Yield every item from this page on, fetching the following pages.

        Args:
            progress: as for ``Page.iter_all()``.
        """
        reporter = ProgressReporter(progress)
        try:
            page: AsyncPage[T] | None = self
            for _ in range(MAX_PAGES):
                if page is None:
                    return
                data = (await page.first_page()).data
                reporter.page(len(data))
                for item in data:
                    yield item
                page = await page.next_page()
            raise LimitExceededError(f"stopped after {MAX_PAGES} pages")
        finally:
            reporter.close()

    async def to_records(
        self, *, max_items: int | None = None, progress: Progress = None
    ) -> list[dict[str, Any]]:
        """Return every item from this page on as typed dicts (see ``Page``)."""
        records: list[dict[str, Any]] = []
        async for item in self.iter_all(progress=progress):
            if max_items is not None and len(records) >= max_items:
                break
            records.append(_record(item))
        return records

    async def to_pandas(
        self, *, max_items: int | None = None, progress: Progress = None
    ) -> pandas.DataFrame:
        """Return ``to_records()`` as a pandas DataFrame (the ``notebook`` extra).

        Raises:
            OptionalDependencyError: pandas is not installed.
        """
        _notebook.require("pandas", "to_pandas()")
        records = await self.to_records(max_items=max_items, progress=progress)
        return _notebook.records_frame(records)

    def __repr__(self) -> str:
        state = "not fetched" if self._loaded is None else f"{len(self.data)} items"
        return f"<AsyncPage {state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        loaded = self._loaded
        items = None if loaded is None else loaded.data
        return _notebook.page_html("AsyncPage", items, bool(loaded and loaded.has_more))


def _record(item: Any) -> dict[str, Any]:
    to_record = getattr(item, "to_record", None)
    if to_record is None:
        return {"value": item}
    result: dict[str, Any] = to_record()
    return result
