"""Owns the contract between the sandbox's app and its REST route handlers.

The app (``_app.py``) runs PROTOCOL §3 checks 1-18, finds the endpoint
(``_routing.py``, 404 / 405), checks the permission (19) and idempotency, then calls
the handler: a coroutine given a ``RequestContext``, answering a ``Reply``
or raising an ``ApiProblem`` (``_problems.py``). Handlers never see secrets.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any


@dataclass
class Reply:
    """A handler's answer: JSON (``body``) or raw bytes streamed from ``stream``."""

    status: int = 200
    body: JSON = None
    stream: Iterator[bytes] | AsyncIterator[bytes] | None = None
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestContext:
    """What a handler may use. ``db`` is inside a transaction owned by the app."""

    application_id: str
    method: str
    path: str
    path_params: dict[str, str]
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    read_body: Callable[[], bytes]
    content_type: str
    open_db: Callable[[], sqlite3.Connection]
    now: datetime
    max_body_bytes: int
    new_id: Callable[[str], str]
    form: Callable[[], Awaitable[Any]]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        """The request body (decompressed), read from its spool at first use.

        Empty for a form body: ``await form()`` parses that one.
        """
        return self.read_body()

    @property
    def db(self) -> sqlite3.Connection:
        """The store, inside the handler's transaction (opened at first use).

        The transaction holds the store lock until the handler returns, so a handler
        does its awaiting (reading the form, uploads) first, and never awaits I/O
        once it has used ``db``.
        """
        return self.open_db()

    def query_value(self, name: str) -> str | None:
        """Return the last value of query parameter ``name``, or None."""
        value = None
        for key, item in self.query:
            if key == name:
                value = item
        return value


Handler = Callable[[RequestContext], Awaitable[Reply]]


@dataclass(frozen=True)
class Endpoint:
    """One row of PROTOCOL §5.1: method, path template, permission, handler."""

    method: str
    path: str
    permission: str
    handler: Handler
