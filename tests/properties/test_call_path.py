"""Call.path percent-encodes every path parameter exactly as quote(value, safe="")."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nuvera_client._resource import Call
from nuvera_client.errors import InvalidIdError

# "." and ".." are refused (InvalidIdError): httpx would remove them as dot segments.
_DOTS = {".", ".."}
ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1).filter(
    lambda value: value not in _DOTS
)
plain_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-",
    min_size=1,
).filter(lambda value: value not in _DOTS)


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


@given(st.sampled_from(["", ".", ".."]), st.sampled_from(["ticket_id", "message_id"]))
def test_empty_and_dot_ids_are_refused(bad: str, which: str) -> None:
    params = {"ticket_id": "tkt_1", "message_id": "msg_1", which: bad}
    call: Call[None] = Call(
        "GET", "/v1/support/tickets/{ticket_id}/messages/{message_id}", params
    )
    with pytest.raises(InvalidIdError, match=which):
        _ = call.path
