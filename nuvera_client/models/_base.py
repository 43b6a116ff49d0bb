"""Owns the model machinery: JSON <-> frozen dataclasses, open enums, ``.extra``."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeAlias, TypeVar, Union

from nuvera_client import _notebook

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

    def __repr__(self) -> str:
        # PaymentStatus.COMPLETED reads as code; an unknown value shows its text.
        if self.is_known:
            return f"{type(self).__name__}.{self.name}"
        return f"{type(self).__name__}({self.value!r})"

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


Converter = Callable[[Any], Any]


def _check_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"expected a boolean, got {value!r}")
    return value


def _check_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _check_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _identity(value: Any) -> Any:
    return value


def _enum_converter(tp: type[enum.Enum]) -> Converter:
    # A dictionary lookup of the known (and already seen) values; calling the
    # enum class costs several times more. Anything else takes the full call.
    members = tp._value2member_map_

    def convert(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return tp(value)

    return convert


def _converter(tp: Any) -> tuple[Converter, bool]:
    """Build, once per field, the function that turns its JSON into its type."""
    tp, optional = _strip_optional(tp)
    origin = typing.get_origin(tp)
    convert: Converter
    if tp is Any:
        return _identity, True
    if tp is Decimal:
        convert = _parse_decimal
    elif tp is datetime:
        convert = parse_datetime
    elif isinstance(tp, type) and issubclass(tp, NuveraModel):
        convert = tp.from_dict
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        convert = _enum_converter(tp)
    elif origin in (list, tuple):
        item, _ = _converter(typing.get_args(tp)[0])

        def convert(value: Any) -> Any:
            if not isinstance(value, list):
                raise ValueError(f"expected an array, got {type(value).__name__}")
            return tuple(item(v) for v in value)

    elif origin is dict:
        convert = dict
    elif tp is bool:
        convert = _check_bool
    elif tp is int:
        convert = _check_int
    elif tp is str:
        convert = _check_str
    else:
        convert = _identity
    return convert, optional


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

    Fields the SDK does not know are kept in
    [`extra`][nuvera_client.models._base.NuveraModel.extra], so ``to_dict()`` returns
    what the server sent and a newer API never breaks an older SDK.
    """

    extra: dict[str, JSONValue] = dataclasses.field(
        default_factory=dict, kw_only=True, repr=False, compare=False
    )
    """Fields of the JSON object this SDK version does not know."""

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of the response this object came in, if any.

        Not a field: it is left out of ``==``, ``to_dict()`` and ``repr()``, and an
        object built by ``from_dict()`` (or ``dataclasses.replace``) has None.
        """
        value = self.__dict__.get("_request_id")
        return value if isinstance(value, str) else None

    _fields_cache: ClassVar[dict[type, tuple[tuple[str, Converter, bool], ...]]] = {}
    _plain_cache: ClassVar[dict[type, bool]] = {}

    @classmethod
    def _fields(cls) -> tuple[tuple[str, Converter, bool], ...]:
        fields = NuveraModel._fields_cache.get(cls)
        if fields is None:
            resolved = typing.get_type_hints(cls)
            fields = tuple(
                (f.name, *_converter(resolved[f.name]))
                for f in dataclasses.fields(cls)
                if f.name != "extra"
            )
            NuveraModel._fields_cache[cls] = fields
        return fields

    @classmethod
    def _plain_init(cls) -> bool:
        # Whether __init__ only stores the fields (no __post_init__, no slots).
        plain = NuveraModel._plain_cache.get(cls)
        if plain is None:
            plain = not hasattr(cls, "__post_init__") and not any(
                vars(klass).get("__slots__") for klass in cls.__mro__
            )
            NuveraModel._plain_cache[cls] = plain
        return plain

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Build the model from a decoded JSON object.

        Raises:
            ValueError: a known field has the wrong type or a required one is missing.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}: expected a JSON object")
        kwargs: dict[str, Any] = {}
        fields = cls._fields()
        for name, convert, optional in fields:
            value = data.get(name)
            if value is None:
                if optional:
                    kwargs[name] = None
                    continue
                problem = "missing field" if name not in data else "null for field"
                raise ValueError(f"{cls.__name__}: {problem} {name!r}")
            try:
                kwargs[name] = convert(value)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{cls.__name__}.{name}: {exc}") from None
        kwargs["extra"] = {k: v for k, v in data.items() if k not in kwargs}
        if cls._plain_init():
            # The fields are converted and checked above; a frozen dataclass's
            # __init__ would only set them again, one object.__setattr__ each.
            model = object.__new__(cls)
            model.__dict__.update(kwargs)
            return model
        return cls(**kwargs)

    def to_record(self) -> dict[str, Any]:
        """Return the fields as typed values, for pandas and friends.

        Unlike ``to_dict()`` (JSON-safe: strings for amounts and timestamps),
        amounts stay ``Decimal``, timestamps aware ``datetime`` and statuses
        enum members; nested models become dicts; unknown fields are included.
        """
        return _notebook.to_record(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        return _notebook.model_html(self)

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the JSON object this model came from (unknown fields included)."""
        out: dict[str, JSONValue] = {
            name: _to_json(getattr(self, name)) for name, _, _ in self._fields()
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out
