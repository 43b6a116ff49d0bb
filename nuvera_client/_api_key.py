"""Owns the API key format of PROTOCOL §1.1: parsing, checksum, redaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from typing import Literal, NoReturn

from nuvera_client._secret_holder import FrozenSecretHolder
from nuvera_client.errors import InvalidApiKeyError, InvalidArgumentError

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_SET = frozenset(BASE62_ALPHABET)
_RANDOM_LENGTH = 32
_CHECK_LENGTH = 6
_PREFIX_LENGTH = 13  # "nvk_test_" + 4 characters, what settings screens show
KEY_LENGTH = len("nvk_test_") + _RANDOM_LENGTH + _CHECK_LENGTH  # 47

Environment = Literal["live", "test"]


def base62(value: int, width: int) -> str:
    """Write ``value`` in base62 (most significant digit first), left-padded with 0."""
    digits = []
    while value:
        value, rem = divmod(value, 62)
        digits.append(BASE62_ALPHABET[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    """Return the 6-character base62 CRC32 of ``nvk_{env}_{random}``."""
    return base62(zlib.crc32(body.encode("ascii")), _CHECK_LENGTH)


class ApiKey(FrozenSecretHolder):
    """A Nuvera API key, validated; shows only its prefix and last four characters.

    Use [`parse()`][nuvera_client.ApiKey.parse] to build one. ``str()`` and ``repr()``
    never reveal the key; [`reveal()`][nuvera_client.ApiKey.reveal] returns it for the
    ``x-api-key`` header.
    """

    __slots__ = ("_value", "env")

    env: Environment

    def __init__(self, value: str, env: Environment) -> None:
        self._value = value
        self.env = env

    @classmethod
    def parse(cls, text: str | ApiKey) -> ApiKey:
        """Validate an API key (prefix, environment, length, alphabet, checksum).

        Surrounding whitespace (a newline from a secret file) is ignored.

        Raises:
            InvalidApiKeyError: saying which part is wrong; ``.reason`` is one of
                ``empty``, ``prefix``, ``environment``, ``length``, ``charset``,
                ``checksum``.
        """
        if isinstance(text, ApiKey):
            return text
        if not isinstance(text, str):
            raise InvalidApiKeyError(
                f"the API key must be a str, not {type(text).__name__}", reason="type"
            )
        key = text.strip()
        if not key:
            raise InvalidApiKeyError(
                "the API key is empty: pass api_key= or set NUVERA_API_KEY",
                reason="empty",
            )
        if not key.startswith("nvk_"):
            raise InvalidApiKeyError(
                "this is not a Nuvera API key: it must start with 'nvk_live_' or "
                "'nvk_test_' (copy it from the API application's one-time display)",
                reason="prefix",
            )
        env = key[4:9]
        if env not in ("live_", "test_"):
            raise InvalidApiKeyError(
                "the API key's environment must be 'live' or 'test' "
                "(it must start with 'nvk_live_' or 'nvk_test_')",
                reason="environment",
            )
        if len(key) != KEY_LENGTH:
            what = "truncated" if len(key) < KEY_LENGTH else "has extra characters"
            raise InvalidApiKeyError(
                f"the API key has {len(key)} characters, expected {KEY_LENGTH}: it "
                f"looks {what}; copy the whole key",
                reason="length",
            )
        tail = key[9:]
        if not set(tail) <= _BASE62_SET:
            raise InvalidApiKeyError(
                "the API key contains characters outside 0-9, A-Z, a-z after its "
                "prefix: check for a copy/paste error",
                reason="charset",
            )
        body, check = key[:-_CHECK_LENGTH], key[-_CHECK_LENGTH:]
        if not hmac.compare_digest(checksum(body), check):
            raise InvalidApiKeyError(
                "the API key's checksum does not match: it was mistyped or altered; "
                "copy it again",
                reason="checksum",
            )
        return cls(key, env[:4])  # type: ignore[arg-type]

    @classmethod
    def generate(cls, env: Environment = "test") -> ApiKey:
        """Create a new random key (the server's job; useful for tests and fixtures)."""
        if env not in ("live", "test"):
            raise InvalidArgumentError("env must be 'live' or 'test'")
        body = f"nvk_{env}_" + "".join(
            secrets.choice(BASE62_ALPHABET) for _ in range(_RANDOM_LENGTH)
        )
        return cls(body + checksum(body), env)

    @property
    def prefix(self) -> str:
        """The first 13 characters, as the settings screen shows them."""
        return self._value[:_PREFIX_LENGTH]

    @property
    def last_four(self) -> str:
        """The last four characters."""
        return self._value[-4:]

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the key: what the server stores."""
        return hashlib.sha256(self._value.encode("ascii")).hexdigest()

    @property
    def redacted(self) -> str:
        """``prefix…last_four``: safe to log."""
        return f"{self.prefix}…{self.last_four}"

    def reveal(self) -> str:
        """Return the whole key, for the ``x-api-key`` header only."""
        return self._value

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"ApiKey('{self.redacted}')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __reduce__(self) -> NoReturn:
        raise TypeError("ApiKey is not picklable: pass the key text explicitly")
