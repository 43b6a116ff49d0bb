"""Call.path percent-encodes every path parameter exactly as quote(value, safe="")."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from nuvera_client._resource import Call

ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1)
plain_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-",
    min_size=1,
)


@given(st.one_of(ids, plain_ids), st.one_of(ids, plain_ids))
def test_path_parameters_quoted_like_quote(first: str, second: str) -> None:
    call: Call[None] = Call(
        "GET",
        "/v1/support/tickets/{ticket_id}/messages/{message_id}",
        {"ticket_id": first, "message_id": second},
    )
    assert call.path == (
        f"/v1/support/tickets/{quote(first, safe='')}/messages/{quote(second, safe='')}"
    )
