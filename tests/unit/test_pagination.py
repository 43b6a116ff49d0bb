from __future__ import annotations

import pytest

from nuvera_client import _pagination
from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client.errors import LimitExceededError, NuveraError

PAGES = {
    None: PageData((1, 2), True, "c2"),
    "c2": PageData((3, 4), True, "c3"),
    "c3": PageData((5,), False, None),
}


class Fetcher:
    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def __call__(self, cursor: str | None) -> PageData[int]:
        self.calls.append(cursor)
        return PAGES[cursor]


def test_lazy_iteration_across_pages() -> None:
    fetch = Fetcher()
    page = Page(fetch)
    assert fetch.calls == []  # nothing fetched until used
    iterator = iter(page)
    assert next(iterator) == 1
    assert fetch.calls == [None]
    assert list(iterator) == [2, 3, 4, 5]
    assert fetch.calls == [None, "c2", "c3"]


def test_stop_early_fetches_no_more() -> None:
    fetch = Fetcher()
    for item in Page(fetch):
        if item == 2:
            break
    assert fetch.calls == [None]


def test_manual_control() -> None:
    fetch = Fetcher()
    first = Page(fetch).first_page()
    assert first.data == (1, 2)
    assert first.has_more
    assert first.next_cursor == "c2"
    second = first.next_page()
    assert second is not None
    assert second.data == (3, 4)
    third = second.next_page()
    assert third is not None
    assert not third.has_more
    assert third.next_page() is None
    assert fetch.calls == [None, "c2", "c3"]
    first.first_page()
    assert fetch.calls == [None, "c2", "c3"]  # cached


def test_parser() -> None:
    parse = page_parser(int)
    got = parse({"data": ["1", "2"], "has_more": True, "next_cursor": "x"})
    assert got == PageData((1, 2), True, "x")
    # has_more without a cursor cannot continue: treated as the last page.
    assert not parse({"data": [], "has_more": True, "next_cursor": None}).has_more
    with pytest.raises(ValueError, match="data"):
        parse({"items": []})


@pytest.mark.anyio
async def test_async_lazy_iteration() -> None:
    calls: list[str | None] = []

    async def fetch(cursor: str | None) -> PageData[int]:
        calls.append(cursor)
        return PAGES[cursor]

    page = AsyncPage(fetch)
    assert calls == []
    with pytest.raises(RuntimeError, match="first_page"):
        _ = page.data
    assert [x async for x in page] == [1, 2, 3, 4, 5]
    assert calls == [None, "c2", "c3"]

    calls.clear()
    first = await AsyncPage(fetch)
    assert first.data == (1, 2)
    assert first.has_more
    second = await first.next_page()
    assert second is not None
    assert second.data == (3, 4)
    assert calls == [None, "c2"]


def _endless(cursor: str | None) -> PageData[int]:
    return PageData((1,), True, f"c{int((cursor or 'c0')[1:]) + 1}")


def test_endless_listing_stops_with_a_nuvera_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pagination, "MAX_PAGES", 3)
    with pytest.raises(LimitExceededError, match="3 pages") as caught:
        list(Page(_endless))
    assert isinstance(caught.value, NuveraError)
    assert isinstance(caught.value, RuntimeError)  # what it raised before


@pytest.mark.anyio
async def test_async_endless_listing_stops_with_a_nuvera_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pagination, "MAX_PAGES", 3)

    async def fetch(cursor: str | None) -> PageData[int]:
        return _endless(cursor)

    with pytest.raises(LimitExceededError, match="3 pages"):
        _ = [x async for x in AsyncPage(fetch)]
