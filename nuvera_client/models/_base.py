"""Owns the model machinery: JSON <-> frozen dataclasses, open enums, ``.extra``."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeAlias, TypeVar, Union

__all__ = ["JSONValue", "NuveraModel", "OpenEnum", "format_datetime", "parse_datetime"]

JSONValue: TypeAlias = (
    "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
)
"""Any value JSON can hold."""

M = TypeVar("M", bound="NuveraModel")


class OpenEnum(str, enum.Enum):
    """A string enum that also accepts values unknown to this SDK version.

    ``PaymentStatus("settling")`` returns a pseudo-member whose ``value`` is
    ``"settling"``, so a newer API never breaks an older SDK; compare with the
    known members or with plain strings.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        # Cache it, so the same unknown value yields the same member.
        return cls._value2member_map_.setdefault(value, member)

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_known(self) -> bool:
        """Whether this value was known when this SDK was released."""
        return self.name in type(self).__members__


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC ``datetime``."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed.astimezone(timezone.utc)


def format_datetime(value: datetime) -> str:
    """Write an aware ``datetime`` as RFC 3339 UTC with a ``Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; use an aware UTC datetime")
    utc = value.astimezone(timezone.utc)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        # Money is a decimal string; a float would already have lost precision.
        raise ValueError(f"expected a decimal string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _from_json(tp: Any, value: Any) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ValueError("null is not allowed here")
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if tp is Decimal:
        return _parse_decimal(value)
    if tp is datetime:
        return parse_datetime(value)
    if isinstance(tp, type) and issubclass(tp, NuveraModel):
        return tp.from_dict(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1]
        return tuple(_from_json(item, v) for v in value)
    if origin is dict:
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected a boolean, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return value
    return value


def _to_json(value: Any) -> Any:
    if isinstance(value, NuveraModel):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class NuveraModel:
    """Base of every API object: a frozen dataclass parsed from JSON.

    Fields the SDK does not know are kept in :attr:`extra`, so ``to_dict()``
    returns what the server sent and a newer API never breaks an older SDK.
    """

    extra: dict[str, JSONValue] = dataclasses.field(
        default_factory=dict, kw_only=True, repr=False, compare=False
    )
    """Fields of the JSON object this SDK version does not know."""

    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    @classmethod
    def _field_types(cls) -> dict[str, Any]:
        hints = NuveraModel._hints.get(cls)
        if hints is None:
            resolved = typing.get_type_hints(cls)
            hints = {
                f.name: resolved[f.name]
                for f in dataclasses.fields(cls)
                if f.name != "extra"
            }
            NuveraModel._hints[cls] = hints
        return hints

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Build the model from a decoded JSON object.

        Raises:
            ValueError: a known field has the wrong type or a required one is missing.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}: expected a JSON object")
        kwargs: dict[str, Any] = {}
        for name, tp in cls._field_types().items():
            if name not in data:
                _, optional = _strip_optional(tp)
                if not optional:
                    raise ValueError(f"{cls.__name__}: missing field {name!r}")
                kwargs[name] = None
                continue
            try:
                kwargs[name] = _from_json(tp, data[name])
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{cls.__name__}.{name}: {exc}") from None
        known = cls._field_types()
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs, extra=extra)

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the JSON object this model came from (unknown fields included)."""
        out: dict[str, JSONValue] = {
            name: _to_json(getattr(self, name)) for name in self._field_types()
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out
