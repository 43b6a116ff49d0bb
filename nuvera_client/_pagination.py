"""Owns Page[T] / AsyncPage[T]: lazy cursor iteration over list endpoints (§6)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["MAX_PAGES", "AsyncPage", "Page", "PageData", "page_parser"]

T = TypeVar("T")

MAX_PAGES = 1_000_000
"""A bound on pages followed by one iteration (a server bug must not loop forever)."""


@dataclass(frozen=True)
class PageData(Generic[T]):
    """One page of a list response: ``data``, ``has_more``, ``next_cursor``."""

    data: tuple[T, ...]
    has_more: bool
    next_cursor: str | None


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
    def next_cursor(self) -> str | None:
        """The cursor of the next page, or None on the last page."""
        return self._load().next_cursor

    def next_page(self) -> Page[T] | None:
        """Fetch and return the following page, or None after the last."""
        current = self._load()
        if not current.has_more or current.next_cursor is None:
            return None
        return Page(self._fetch, current.next_cursor).first_page()

    def __iter__(self) -> Iterator[T]:
        page: Page[T] | None = self
        for _ in range(MAX_PAGES):
            if page is None:
                return
            yield from page.data
            page = page.next_page()
        raise RuntimeError(f"stopped after {MAX_PAGES} pages")

    def __repr__(self) -> str:
        state = "not fetched" if self._loaded is None else f"{len(self.data)} items"
        return f"<Page {state}>"


class AsyncPage(Generic[T]):
    """The async twin of :class:`Page`: ``async for item in client.x.list(): ...``.

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
    def next_cursor(self) -> str | None:
        """The cursor of the next page (after ``await first_page()``)."""
        return self._require().next_cursor

    async def next_page(self) -> AsyncPage[T] | None:
        """Fetch and return the following page, or None after the last."""
        current = await self._load()
        if not current.has_more or current.next_cursor is None:
            return None
        return await AsyncPage(self._fetch, current.next_cursor).first_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] | None = self
        for _ in range(MAX_PAGES):
            if page is None:
                return
            for item in (await page.first_page()).data:
                yield item
            page = await page.next_page()
        raise RuntimeError(f"stopped after {MAX_PAGES} pages")

    def __repr__(self) -> str:
        state = "not fetched" if self._loaded is None else f"{len(self.data)} items"
        return f"<AsyncPage {state}>"
