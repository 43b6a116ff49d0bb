"""Owns field validation of JSON bodies: types, lengths, enums, ids, metadata."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nuvera_client.sandbox._handlers import JSON
from nuvera_client.sandbox._problems import validation_failed
from nuvera_client.sandbox._routes._common import ID_PATTERNS

METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


class _Missing:
    """The type of ``MISSING``: a field absent from the body (unlike JSON ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Validator:
    """Check a JSON object field by field, collecting errors as dotted names."""

    def __init__(
        self,
        body: Mapping[str, JSON],
        allowed: Iterable[str],
        *,
        prefix: str = "",
        errors: dict[str, str] | None = None,
    ) -> None:
        self.body = body
        self.prefix = prefix
        self.errors: dict[str, str] = {} if errors is None else errors
        known = set(allowed)
        for name in body:
            if name not in known:
                self.fail(name, "unknown field")

    def fail(self, name: str, message: str) -> None:
        """Record ``message`` for field ``name`` (first error per field wins)."""
        self.errors.setdefault(self.prefix + name, message)

    def has(self, name: str) -> bool:
        """Return whether the body carries ``name`` (even as ``null``)."""
        return name in self.body

    def ok(self, name: str) -> bool:
        """Return whether no error was recorded for ``name``."""
        return self.prefix + name not in self.errors

    def raise_if_errors(self) -> None:
        """Raise 422 ``validation_failed`` if any error was recorded."""
        if self.errors:
            raise validation_failed(self.errors)

    def _fetch(self, name: str, required: bool, nullable: bool) -> Any:
        if name not in self.body:
            if required:
                self.fail(name, "required")
            return MISSING
        value = self.body[name]
        if value is None:
            if not nullable:
                self.fail(name, "required" if required else "must not be null")
                return MISSING
            return None
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        nullable: bool = False,
        min_len: int = 1,
        max_len: int = 200,
        pattern: re.Pattern[str] | None = None,
        pattern_message: str = "has an invalid format",
        check: Callable[[str], bool] | None = None,
    ) -> Any:
        """Return a string field, ``None``, or ``MISSING`` (errors recorded).

        ``check`` is a format test (e.g. ``is_email()``) failing with
        ``pattern_message``, like ``pattern``.
        """
        value = self._fetch(name, required, nullable)
        if value is MISSING or value is None:
            return value
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return MISSING
        # Exactly the schema's rules: minLength counts characters, so a string of
        # spaces is as long as its spaces (docs/openapi.yaml declares no pattern).
        if min_len > 0 and not value:
            self.fail(name, "must not be empty")
            return MISSING
        if len(value) < min_len:
            self.fail(name, f"must be at least {min_len} characters")
            return MISSING
        if len(value) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
            return MISSING
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(name, pattern_message)
            return MISSING
        if check is not None and not check(value):
            self.fail(name, pattern_message)
            return MISSING
        return value

    def choice(
        self, name: str, choices: Sequence[str], *, required: bool = False
    ) -> Any:
        """Return one of ``choices`` or ``MISSING`` (errors recorded)."""
        value = self._fetch(name, required, False)
        if value is MISSING:
            return value
        if not isinstance(value, str) or value not in choices:
            self.fail(name, "must be one of: " + ", ".join(choices))
            return MISSING
        return value

    def obj(self, name: str, *, required: bool = False, nullable: bool = False) -> Any:
        """Return a nested JSON object, ``None``, or ``MISSING``."""
        value = self._fetch(name, required, nullable)
        if value is MISSING or value is None:
            return value
        if not isinstance(value, dict):
            self.fail(name, "must be an object")
            return MISSING
        return value

    def nested(
        self, name: str, body: Mapping[str, JSON], allowed: Iterable[str]
    ) -> Validator:
        """Return a validator for the object ``name``, sharing this one's errors."""
        return Validator(
            body, allowed, prefix=f"{self.prefix}{name}.", errors=self.errors
        )

    def metadata(self, name: str = "metadata") -> Any:
        """Return a metadata object (resources.md limits) or ``MISSING``."""
        value = self._fetch(name, False, False)
        if value is MISSING:
            return value
        if not isinstance(value, dict):
            self.fail(name, "must be an object of strings")
            return MISSING
        if len(value) > METADATA_MAX_KEYS:
            self.fail(name, f"must have at most {METADATA_MAX_KEYS} keys")
            return MISSING
        good = True
        for key, item in value.items():
            if not 1 <= len(key) <= METADATA_KEY_MAX:
                self.fail(name, f"keys must be 1..{METADATA_KEY_MAX} characters")
                good = False
            elif not isinstance(item, str):
                self.fail(f"{name}.{key}", "must be a string")
                good = False
            elif len(item) > METADATA_VALUE_MAX:
                self.fail(
                    f"{name}.{key}", f"must be at most {METADATA_VALUE_MAX} characters"
                )
                good = False
        return dict(value) if good else MISSING

    def ref_id(
        self, name: str, prefix: str, *, required: bool = False, nullable: bool = False
    ) -> Any:
        """Return an id field with the right prefix, ``None``, or ``MISSING``."""
        return self.string(
            name,
            required=required,
            nullable=nullable,
            max_len=64,
            pattern=ID_PATTERNS[prefix],
            pattern_message=f"must be an id starting with {prefix}_",
        )
