"""Owns SecretHolder: how objects that hold a secret print, copy and (never) pickle."""

from __future__ import annotations

from typing import Any, NoReturn, Protocol

__all__ = ["FrozenSecretHolder", "SecretHolder"]


class _Printer(Protocol):
    def text(self, text: str) -> None: ...


class SecretHolder:
    """Mixin for anything holding an API key, a private key or a passphrase.

    ``repr`` is the subclass's own (redacted) one; pretty printers (IPython,
    hypothesis) get the same text instead of walking the fields; pickling is refused,
    since a pickle is a copy of the secret on disk or on the wire.
    """

    __slots__ = ()

    def _repr_pretty_(self, printer: _Printer, cycle: bool) -> None:
        printer.text(repr(self))

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__} holds secrets and is not picklable: pass where "
            "they come from (a provider, a file path, variable names) instead"
        )

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        self.__reduce__()


class FrozenSecretHolder(SecretHolder):
    """A ``SecretHolder`` that is immutable: a copy is the object itself."""

    __slots__ = ()

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        return self
