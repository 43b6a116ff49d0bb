"""ApiKey: PROTOCOL §1.1 format, the worked example, each refusal, redaction."""

from __future__ import annotations

import pickle
import zlib

import pytest

from nuvera_client import ApiKey
from nuvera_client._api_key import BASE62_ALPHABET, base62, checksum
from nuvera_client.errors import (
    ConfigurationError,
    InvalidApiKeyError,
    InvalidArgumentError,
)

EXAMPLE = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"


def test_protocol_worked_example() -> None:
    body = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae"
    assert zlib.crc32(body.encode()) == 2333300166 == 0x8B1355C6
    assert checksum(body) == "2XuHxe"
    key = ApiKey.parse(EXAMPLE)
    assert key.env == "test"
    assert key.prefix == "nvk_test_Q7sU"
    assert key.last_four == "uHxe"
    assert key.sha256 == (
        "66e1c8e83feadc2bf20029f3b38c0bd31b32a76b901751866dc63f7d2290b042"
    )
    assert key.reveal() == EXAMPLE
    assert len(EXAMPLE) == 47


def test_base62_digits_and_padding() -> None:
    assert BASE62_ALPHABET[10] == "A"
    assert BASE62_ALPHABET[36] == "a"
    assert base62(0, 6) == "000000"
    assert base62(61, 6) == "00000z"
    assert base62(62, 6) == "000010"
    assert base62(2**32 - 1, 6) == "4gfFC3"


@pytest.mark.parametrize("env", ["live", "test"])
def test_generated_keys_parse(env: str) -> None:
    key = ApiKey.generate(env)  # type: ignore[arg-type]
    again = ApiKey.parse(key.reveal())
    assert again == key
    assert again.env == env
    assert hash(again) == hash(key)


def test_surrounding_whitespace_is_ignored() -> None:
    assert ApiKey.parse(f"  {EXAMPLE}\n").reveal() == EXAMPLE
    assert ApiKey.parse(ApiKey.parse(EXAMPLE)).reveal() == EXAMPLE


@pytest.mark.parametrize(
    ("text", "reason", "advice"),
    [
        ("", "empty", "pass api_key= or set NUVERA_API_KEY"),
        ("   ", "empty", "pass api_key="),
        ("sk_test_" + "a" * 39, "prefix", "must start with 'nvk_live_' or 'nvk_test_'"),
        ("nvk_prod_" + EXAMPLE[9:], "environment", "'live' or 'test'"),
        (EXAMPLE[:-1], "length", "truncated; copy the whole key"),
        (EXAMPLE[:20], "length", "has 20 characters, expected 47"),
        (EXAMPLE + "x", "length", "extra characters"),
        (EXAMPLE[:20] + "-" + EXAMPLE[21:], "charset", "copy/paste error"),
        (EXAMPLE[:20] + "Z" + EXAMPLE[21:], "checksum", "copy it again"),
        (EXAMPLE[:-6] + "2XuHxf", "checksum", "mistyped or altered"),
        (EXAMPLE.replace("test", "live"), "checksum", "checksum does not match"),
    ],
    ids=[
        "empty",
        "blank",
        "prefix",
        "environment",
        "one-short",
        "truncated",
        "one-long",
        "charset",
        "typo",
        "bad-check",
        "env-swapped",
    ],
)
def test_malformed_keys_say_which_part(text: str, reason: str, advice: str) -> None:
    with pytest.raises(InvalidApiKeyError) as caught:
        ApiKey.parse(text)
    assert caught.value.reason == reason
    assert advice in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    if len(text) > 20:
        assert text.strip() not in str(caught.value)
        assert text.strip() not in repr(caught.value)


def test_not_a_string() -> None:
    with pytest.raises(InvalidApiKeyError, match="must be a str") as caught:
        ApiKey.parse(b"nvk_test_...")  # type: ignore[arg-type]
    assert caught.value.reason == "type"


def test_str_and_repr_show_only_prefix_and_last_four() -> None:
    key = ApiKey.parse(EXAMPLE)
    for text in (str(key), repr(key), f"{key}", f"{key!r}", str([key])):
        assert EXAMPLE not in text
        assert "Q7sUMv3k9Zb" not in text
        assert "nvk_test_Q7sU" in text
        assert "uHxe" in text
    assert key.redacted == "nvk_test_Q7sU…uHxe"


def test_not_picklable() -> None:
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(ApiKey.parse(EXAMPLE))


def test_generate_refuses_unknown_env() -> None:
    with pytest.raises(InvalidArgumentError, match="'live' or 'test'"):
        ApiKey.generate("prod")  # type: ignore[arg-type]
