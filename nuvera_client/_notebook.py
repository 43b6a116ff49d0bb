"""Owns notebook support: HTML / pretty reprs, typed records, DataFrames, progress.

Nothing here imports pandas or tqdm at module level: they come with the
``notebook`` extra, and a missing one is a clear ``OptionalDependencyError``.
"""

from __future__ import annotations

import dataclasses
import enum
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from nuvera_client.errors import OptionalDependencyError

if TYPE_CHECKING:
    import pandas

__all__ = [
    "MAX_HTML_ROWS",
    "Progress",
    "ProgressCallback",
    "ProgressReporter",
    "html_table",
    "model_html",
    "records_frame",
    "require",
    "to_record",
]

MAX_HTML_ROWS = 50
"""Rows an HTML table shows; the rest is summarised (a page can hold 100 items)."""

_MAX_CELL = 200  # characters of one cell, so a huge metadata blob stays readable

ProgressCallback: TypeAlias = Callable[[int, int], object]
"""Called as ``callback(items_so_far, pages_so_far)`` after every page (for a
download: ``callback(bytes_so_far, chunks_so_far)`` after every chunk)."""

Progress: TypeAlias = "bool | ProgressCallback | None"
"""``True``: a tqdm bar (``notebook`` extra); a callable: called per page; else none."""


def require(module: str, feature: str) -> Any:
    """Import ``module`` or raise ``OptionalDependencyError`` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        root = module.split(".")[0]
        if exc.name is None or exc.name.split(".")[0] != root:
            raise  # a dependency of the package is broken: show the real error
        raise OptionalDependencyError(
            f"{feature} needs {module.split('.')[0]}: "
            "pip install 'nuvera-client[notebook]'",
            package=module.split(".")[0],
        ) from None


# -- typed records ------------------------------------------------------------------


def _typed(value: Any) -> Any:
    # Keeps Decimal, aware datetimes and enum members; nested models become dicts.
    to_record_method = getattr(value, "to_record", None)
    if to_record_method is not None and dataclasses.is_dataclass(value):
        return to_record_method()
    if isinstance(value, (list, tuple)):
        return [_typed(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _typed(v) for k, v in value.items()}
    return value


def to_record(model: Any) -> dict[str, Any]:
    """Return a model's fields as typed Python values (Decimal, datetime, enums)."""
    out = {
        f.name: _typed(getattr(model, f.name))
        for f in dataclasses.fields(model)
        if f.name != "extra"
    }
    for key, value in getattr(model, "extra", {}).items():
        out.setdefault(key, value)
    return out


def records_frame(records: Sequence[Mapping[str, Any]]) -> pandas.DataFrame:
    """Build a DataFrame: aware timestamps as ``datetime64[.., UTC]``, Decimal kept."""
    pd = require("pandas", "to_pandas()")
    frame: pandas.DataFrame = pd.DataFrame.from_records(list(records))
    for column in frame.columns:
        values = [v for v in frame[column] if v is not None]
        if values and all(isinstance(v, datetime) for v in values):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        elif values and all(isinstance(v, enum.Enum) for v in values):
            # The enum's value is what a filter compares with (df.status == "failed").
            frame[column] = [None if v is None else v.value for v in frame[column]]
    return frame


# -- progress -----------------------------------------------------------------------


class _Bar(Protocol):
    def update(self, n: int) -> object: ...
    def reset(self, total: int | None = None) -> object: ...
    def close(self) -> object: ...


class ProgressReporter:
    """Report items and pages to a tqdm bar or a callback, as pages arrive.

    For an upload it is the body's watcher: ``restart(total)`` when an attempt
    starts sending (a retry sends the body again, so the count starts again),
    then ``sent(count)`` per chunk handed to the transport.
    """

    def __init__(
        self, progress: Progress, *, description: str = "items", unit: str = "item"
    ) -> None:
        self._callback: ProgressCallback | None = None
        self._bar: _Bar | None = None
        self.items = 0
        self.pages = 0
        if progress is True:
            tqdm = require("tqdm.auto", "progress=True")
            # unit="B": bytes, shown as kB / MB.
            self._bar = tqdm.tqdm(desc=description, unit=unit, unit_scale=unit == "B")
        elif callable(progress):
            self._callback = progress
        elif progress not in (None, False):
            raise TypeError("progress must be True, False, None or a callable")

    def page(self, count: int) -> None:
        """Record one page of ``count`` items (or one chunk of ``count`` bytes)."""
        self.items += count
        self.pages += 1
        if self._bar is not None:
            self._bar.update(count)
        if self._callback is not None:
            self._callback(self.items, self.pages)

    def restart(self, total: int) -> None:
        """Start counting again: an attempt sends a body of ``total`` bytes."""
        self.items = 0
        self.pages = 0
        if self._bar is not None:
            self._bar.reset(total=total)

    def sent(self, count: int) -> None:
        """Record ``count`` more bytes sent (one chunk)."""
        self.page(count)

    def close(self) -> None:
        """Close the bar (a no-op for callbacks)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# -- HTML and pretty ----------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, enum.Enum):
        text = str(value.value)
    elif isinstance(value, (Decimal, datetime, str, int, float)):
        text = str(value)
    else:
        text = repr(value)
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 1] + "…"
    return html.escape(text)


def html_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str
) -> str:
    """Render an escaped HTML table, at most ``MAX_HTML_ROWS`` rows."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body: list[str] = []
    hidden = 0
    for index, row in enumerate(rows):
        if index >= MAX_HTML_ROWS:
            hidden += 1
            continue
        body.append("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
    if hidden:
        body.append(f'<tr><td colspan="{len(columns)}">… {hidden} more rows</td></tr>')
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def model_html(model: Any) -> str:
    """Render one model as a two-column field/value table."""
    fields = [
        (f.name, getattr(model, f.name))
        for f in dataclasses.fields(model)
        if f.repr and f.name != "extra"
    ]
    return html_table(("field", "value"), fields, caption=type(model).__name__)


def page_columns(items: Sequence[Any]) -> list[str]:
    """The shown fields of a page's items (those of the first item's class)."""
    if not items or not dataclasses.is_dataclass(items[0]):
        return ["value"]
    fields = dataclasses.fields(items[0])
    return [f.name for f in fields if f.repr and f.name != "extra"]


def page_html(kind: str, items: Sequence[Any] | None, has_more: bool) -> str:
    """Render a page's items as a table (one row per item)."""
    if items is None:
        return f"<p>&lt;{html.escape(kind)} not fetched: call first_page()&gt;</p>"
    columns = page_columns(items)
    if columns == ["value"]:
        rows: list[Sequence[Any]] = [(item,) for item in items]
    else:
        rows = [[getattr(item, c) for c in columns] for item in items]
    more = ", more pages follow" if has_more else ""
    return html_table(columns, rows, caption=f"{kind}: {len(items)} items{more}")
