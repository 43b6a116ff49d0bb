"""Hypothesis: canonical_json is RFC 8785 (JCS) for the values tokens hold."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from nuvera_client._signer import canonical_json

SURROGATES: tuple[Literal["Cs"], ...] = ("Cs",)
text = st.text(st.characters(codec="utf-8", exclude_categories=SURROGATES), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)
    ),
    max_leaves=20,
)
objects = st.dictionaries(text, values, max_size=6)


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _member_orders(value: Any, out: list[list[str]]) -> None:
    if isinstance(value, dict):
        out.append(list(value))
        for item in value.values():
            _member_orders(item, out)
    elif isinstance(value, list):
        for item in value:
            _member_orders(item, out)


@settings(max_examples=200)
@given(objects)
def test_round_trip_and_idempotent(value: dict[str, Any]) -> None:
    encoded = canonical_json(value)
    parsed = json.loads(encoded.decode("utf-8"))
    assert parsed == value
    assert canonical_json(parsed) == encoded


@settings(max_examples=200)
@given(objects)
def test_members_sorted_by_utf16_code_units(value: dict[str, Any]) -> None:
    orders: list[list[str]] = []
    _member_orders(json.loads(canonical_json(value)), orders)
    for keys in orders:
        assert keys == sorted(keys, key=_utf16)


@settings(max_examples=200)
@given(objects)
def test_minimal_escaping_and_no_whitespace(value: dict[str, Any]) -> None:
    out = canonical_json(value).decode("utf-8")
    # Only '"', '\\' and control characters are escaped; control characters use
    # the short forms where JSON has them, else lowercase \u00XX.
    for escape in re.findall(r"\\(u[0-9a-fA-F]{4}|.)", out):
        if escape.startswith("u"):
            assert escape == escape.lower()
            assert int(escape[1:], 16) < 0x20
            assert chr(int(escape[1:], 16)) not in "\b\f\n\r\t"
        else:
            assert escape in '"\\bfnrt'
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', out)
    assert not re.search(r"\s", outside_strings)


@given(st.dictionaries(st.text("abcdefghij_", max_size=6), st.integers(0, 10**10)))
def test_ascii_objects_match_plain_sorted_json(value: dict[str, int]) -> None:
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":")
    ).encode("ascii")
