"""``list(..., cursor=...)``: a stateless service serves "page 2" from a cursor."""

from __future__ import annotations

import inspect

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client._pagination import MAX_CURSOR_LENGTH
from nuvera_client.errors import InvalidArgumentError, ValidationError
from nuvera_client.resources import (
    beneficiaries,
    crypto,
    customers,
    documents,
    payments,
    screening,
    support,
)


def _make_customers(client: NuveraClient, count: int) -> list[str]:
    return [
        client.customers.create(
            type="individual", name=f"C{i}", email=f"c{i}@example.com"
        ).id
        for i in range(count)
    ]


def test_resume_from_a_stored_cursor(client: NuveraClient) -> None:
    _make_customers(client, 5)
    everything = [c.id for c in client.customers.list(limit=100)]
    first = client.customers.list(limit=2).first_page()
    assert first.cursor is None
    stored = first.next_cursor
    assert stored is not None
    # Later, in another request of a stateless service: only the cursor survives.
    second = client.customers.list(limit=2, cursor=stored).first_page()
    assert second.cursor == stored
    assert [c.id for c in second.data] == everything[2:4]
    # Iterating a resumed list goes on from there to the end.
    resumed = [c.id for c in client.customers.list(limit=2, cursor=stored)]
    assert resumed == everything[2:]


@pytest.mark.anyio
async def test_async_resume_from_a_stored_cursor(
    async_client: AsyncNuveraClient,
) -> None:
    for i in range(3):
        await async_client.customers.create(
            type="individual", name=f"A{i}", email=f"a{i}@example.com"
        )
    first = await async_client.customers.list(limit=1)
    assert first.cursor is None
    page2 = await async_client.customers.list(limit=1, cursor=first.next_cursor)
    assert page2.cursor == first.next_cursor
    rest = [c.id async for c in async_client.customers.list(cursor=first.next_cursor)]
    assert [c.id for c in page2.data] == rest[:1]
    assert len(rest) == 2


def test_a_bad_cursor_is_refused_before_any_request(client: NuveraClient) -> None:
    for bad in ("", "x" * (MAX_CURSOR_LENGTH + 1)):
        with pytest.raises(InvalidArgumentError, match="cursor"):
            client.customers.list(cursor=bad)


def test_a_forged_cursor_is_the_servers_to_refuse(client: NuveraClient) -> None:
    with pytest.raises(ValidationError, match="cursor"):
        client.customers.list(limit=2, cursor="not-a-cursor").first_page()


@pytest.mark.parametrize(
    "module",
    [beneficiaries, crypto, customers, documents, payments, screening, support],
)
def test_every_list_method_takes_cursor(module: object) -> None:
    found = 0
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != getattr(module, "__name__", ""):
            continue
        method = getattr(cls, "list", None)
        if method is None:
            continue
        found += 1
        parameter = inspect.signature(method).parameters.get("cursor")
        assert parameter is not None, f"{cls.__name__}.list has no cursor="
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is None
    assert found >= 2  # the sync and the async twin at least
