"""The verifier's fast paths decide exactly as the plain definitions do."""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nuvera_client.sandbox import _verify
from nuvera_client.sandbox._credentials import api_key_well_formed, new_api_key
from nuvera_client.sandbox._encoding import sha256_hex

_names = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=4)
_values = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none())


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


@given(st.lists(st.tuples(_names, _values), max_size=6))
def test_members_named_twice_are_refused_and_others_kept(
    members: list[tuple[str, object]],
) -> None:
    text = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in members) + "}"
    names = [k for k, _ in members]
    if len(set(names)) != len(names):
        with pytest.raises(ValueError, match="not JSON") as refused:
            _verify._json_object(_b64(text))
        assert "duplicate" in str(refused.value.__cause__)
    else:
        assert _verify._json_object(_b64(text)) == dict(members)


def test_a_nested_duplicate_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON") as refused:
        _verify._json_object(_b64('{"a": {"b": 1, "b": 2}}'))
    assert "duplicate" in str(refused.value.__cause__)


@given(st.text(alphabet=string.ascii_letters + string.digits + "_", max_size=50))
def test_the_api_key_digest_is_the_format_check_and_the_hash(text: str) -> None:
    for key in (text, "nvk_test_" + text, new_api_key()):
        expected = sha256_hex(key) if api_key_well_formed(key) else None
        assert _verify._api_key_digest(key) == expected
        assert _verify._api_key_digest(key) == expected  # cached: same answer
