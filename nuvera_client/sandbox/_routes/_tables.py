"""Owns the tables whose rows an application owns: find, 404, reread, update, list."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import not_found
from nuvera_client.sandbox._routes._common import (
    dump_metadata,
    now_ts,
    one,
    require_id,
    stored,
)
from nuvera_client.sandbox._routes._pagination import list_page


@dataclass(frozen=True)
class OwnedTable:
    """A table whose rows belong to one application (its ``application_id`` column).

    Attributes:
        prefix: the ids' prefix (``"cus"``), also the kind its list cursors name.
        what: the resource as a 404 message names it (``"customer"``).
        table: the table's name.
        columns: the columns a row is read with, ``seq`` (lists page on it) among them.
        live: an SQL condition a stored row must meet to exist (a soft delete), or
            None when every stored row exists.
    """

    prefix: str
    what: str
    table: str
    columns: str
    live: str | None = None

    @property
    def select(self) -> str:
        """Return ``SELECT columns FROM table``, to which a query adds its WHERE."""
        return f"SELECT {self.columns} FROM {self.table}"  # noqa: S608 - fixed names

    def find(
        self, db: sqlite3.Connection, application_id: str, resource_id: str
    ) -> dict[str, Any] | None:
        """Return the row ``resource_id`` of this application, or None."""
        sql = self.select + " WHERE application_id = ? AND id = ?"
        if self.live is not None:
            sql += " AND " + self.live
        return one(db, sql, (application_id, resource_id))

    def get(self, ctx: RequestContext, resource_id: str) -> dict[str, Any]:
        """Return the caller's row ``resource_id``, or raise 404 naming it."""
        row = self.find(ctx.db, ctx.application_id, resource_id)
        if row is None:
            raise not_found(self.what, resource_id)
        return row

    def written(self, ctx: RequestContext, resource_id: str) -> dict[str, Any]:
        """Return a row this request has just written (it cannot be missing)."""
        return stored(self.find(ctx.db, ctx.application_id, resource_id))

    def update(
        self, ctx: RequestContext, row: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Write ``changes`` (column: value) and ``updated_at`` to ``row``; reread it.

        A ``metadata`` value is stored serialised, as creation stores it.
        """
        values = dict(changes)
        if "metadata" in values:
            values["metadata"] = dump_metadata(values["metadata"])
        values["updated_at"] = now_ts(ctx)
        assignments = ", ".join(f"{name} = ?" for name in values)
        ctx.db.execute(
            f"UPDATE {self.table} SET {assignments} WHERE seq = ?",  # noqa: S608 - fixed names
            (*values.values(), row["seq"]),
        )
        return self.written(ctx, row["id"])

    def existing(self, ctx: RequestContext) -> dict[str, Any]:
        """Return the row the path's ``{id}`` names: 404 when malformed or absent."""
        return self.get(ctx, require_id(self.prefix, self.what, ctx.path_params["id"]))

    def list_reply(
        self,
        ctx: RequestContext,
        page: tuple[int, int | None],
        render: Callable[[dict[str, Any]], JSON],
        where: Sequence[tuple[str, Any]] = (),
        *,
        oldest_first: bool = False,
    ) -> Reply:
        """Return one page of the caller's rows matching ``where`` (newest first).

        Args:
            ctx: the request.
            page: ``(limit, cursor_seq)`` from ``page_params()``.
            render: turns a row into its JSON object.
            where: ``(sql, param)`` filters, as ``list_page()`` takes them.
            oldest_first: list in creation order instead.
        """
        scope: list[tuple[str, Any]] = [("application_id = ?", ctx.application_id)]
        if self.live is not None:
            scope.append((self.live, None))
        limit, cursor = page
        return list_page(
            ctx.db,
            kind=self.prefix,
            select=self.select,
            where=[*scope, *where],
            limit=limit,
            cursor=cursor,
            render=render,
            oldest_first=oldest_first,
        )
