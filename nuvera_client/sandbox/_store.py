"""Owns the sandbox's SQLite state: connection, schema, locking and transactions.

One connection per ``Store``, guarded by a thread lock (the uvicorn thread, the
sync transport and the caller's thread all use it). The lock is only ever held by
synchronous code: a transaction opens, runs its statements and commits without an
``await`` in between, so requests on the event loop interleave freely and never wait
on one another's handlers. A state file runs in WAL mode with ``synchronous=NORMAL``
(a commit appends to the log without a disk flush; the log is flushed at checkpoints)
so the ``nuvera sandbox`` CLI can change it while a server runs on it; the file and
its ``-wal``/``-shm`` companions are created readable by their owner only (0600).
API key usage (``last_used_at``, ``request_count``) is batched in memory: the app
writes it on a short timer, and every other transaction (platform reads and changes)
writes it first, so readers always see it. API keys are kept as SHA-256, prefix and
last four only; the one exception is a key an admin's rotation left unrevealed, kept
until a partner user reveals it (PROTOCOL §1.3), then deleted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

import anyio

from nuvera_client.errors import SandboxBusyError

PLATFORM_SCHEMA = """
CREATE TABLE IF NOT EXISTS organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    sha256 TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    prefix TEXT NOT NULL,
    last_four TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER,
    request_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS api_keys_app ON api_keys(application_id);
CREATE TABLE IF NOT EXISTS api_key_reveals (
    sha256 TEXT PRIMARY KEY REFERENCES api_keys(sha256),
    application_id TEXT NOT NULL REFERENCES applications(id),
    api_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    application_id TEXT NOT NULL REFERENCES applications(id),
    kid TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    PRIMARY KEY (application_id, kid)
);
CREATE INDEX IF NOT EXISTS signing_keys_kid ON signing_keys(kid, status);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    application_id TEXT,
    details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replay_store (
    application_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    keep_until INTEGER NOT NULL,
    PRIMARY KEY (application_id, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_store_keep ON replay_store(keep_until);
CREATE TABLE IF NOT EXISTS idempotency (
    application_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    uri TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER,
    headers TEXT,
    body BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency(expires_at);
"""

T = TypeVar("T")

logger = logging.getLogger("nuvera_client.sandbox")

# How long a caller waits for the store lock before giving up (seconds).
LOCK_TIMEOUT = 30.0
STATE_FILE_MODE = 0o600
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _create_private(path: Path) -> None:
    """Create ``path`` (and tighten existing companions) readable by the owner only.

    SQLite gives ``-wal`` and ``-shm`` the mode of the database file, so a 0600 file
    keeps its companions private too.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, STATE_FILE_MODE)
    os.close(fd)
    for suffix in _COMPANIONS:
        companion = Path(str(path) + suffix)
        try:
            if companion.stat().st_mode & 0o077:
                companion.chmod(STATE_FILE_MODE)
        except OSError:
            continue  # absent, or not ours to change: SQLite reports what matters


StoreBusyError = SandboxBusyError
"""The store lock could not be taken in time (the class lives in ``errors``)."""


class Store:
    """The SQLite state of one sandbox (in memory, or a file with ``path``)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        domain_schema: str | None = None,
        seed: Callable[[sqlite3.Connection], None] | None = None,
        platform_seed: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            _create_private(self.path)
        self._conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        # The thread whose open_transaction() holds the lock (None: no such one).
        self._open_by: int | None = None
        self._closed = False
        # sha256 -> (uses, last used at): written by the next transaction.
        self._usage: dict[str, tuple[int, int]] = {}
        # Counts this connection's commits that may have changed platform rows.
        self._generation = 0
        self._close_hooks: list[Callable[[], None]] = []
        try:
            with self._lock:
                self._conn.execute("PRAGMA busy_timeout = 10000")
                if self.path is not None:
                    self._conn.execute("PRAGMA journal_mode = WAL")
                    self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.executescript(PLATFORM_SCHEMA)
                if domain_schema:
                    self._conn.executescript(domain_schema)
            for seeder in (platform_seed, seed):
                if seeder is not None:
                    with self.transaction() as db:
                        seeder(db)
        except BaseException:
            # Not a database, or a schema that cannot apply: nothing may leak.
            self._conn.close()
            raise

    @property
    def closed(self) -> bool:
        """Tell whether ``close()`` ran."""
        return self._closed

    def add_close_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` (which may open transactions) first thing in ``close()``."""
        self._close_hooks.append(hook)

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction (blocking lock; no ``await``).

        With ``bump`` (the default) its commit counts as a possible change of
        platform rows: ``generation`` moves, so caches of them start over. Only a
        block that cannot touch applications, API keys or signing keys (the
        request log) passes ``bump=False``.
        """
        self._acquire_blocking()
        try:
            self._begin()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if bump:
                self._generation += 1
        finally:
            self._lock.release()

    def try_transaction(self, work: Callable[[sqlite3.Connection], None]) -> bool:
        """Run ``work`` as one transaction if the lock is free now; return whether.

        For timer callbacks on the event loop, which must not wait. ``work`` must
        not change platform rows (``generation`` does not move).
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._closed:
                return True
            self._begin()
            try:
                work(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        finally:
            self._lock.release()
        return True

    @property
    def generation(self) -> int:
        """Return a number that moves at each commit that may change platform rows.

        Read it with the lock held (inside ``run_locked()``). Commits of other
        connections (the CLI on the same state file) are seen with
        ``changed_elsewhere()``.
        """
        return self._generation

    def open_transaction(self) -> sqlite3.Connection:
        """Take the lock and begin a transaction ended by ``end_transaction()``.

        For a caller that cannot use a ``with`` block (a handler's transaction opens
        at its first use of the store). It should end it before its next ``await``.

        Raises:
            StoreBusyError: the lock is held by an open transaction of this same
                thread, i.e. a handler suspended inside its transaction: waiting
                would block the event loop that must resume it.
        """
        if not self._lock.acquire(blocking=False):
            if self._open_by == threading.get_ident():
                raise StoreBusyError(
                    "a request handler awaited while holding its store transaction; "
                    "a handler must do its awaiting before it first uses ctx.db"
                )
            self._acquire_blocking()
        try:
            self._begin()
        except BaseException:
            self._lock.release()
            raise
        self._open_by = threading.get_ident()
        return self._conn

    def end_transaction(self, *, commit: bool) -> None:
        """Commit (or roll back) the transaction of ``open_transaction()``."""
        self._open_by = None
        try:
            self._conn.execute("COMMIT" if commit else "ROLLBACK")
            if commit:
                self._generation += 1
        finally:
            self._lock.release()

    def note_usage(self, api_key_sha256: str, now: int) -> None:
        """Count one verified request of an API key, to be written in a batch.

        Batched so that a request costs no write of its own: ``flush_usage()``, or
        the next ``transaction()`` / ``open_transaction()``, writes it.
        """
        uses, _ = self._usage.get(api_key_sha256, (0, now))
        self._usage[api_key_sha256] = (uses + 1, now)

    def flush_usage(self) -> bool:
        """Write the batched usage now unless the lock is busy; return whether done."""
        if not self._usage:
            return True
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if not self._closed:
                self._begin()  # flushes
                self._conn.execute("COMMIT")
        finally:
            self._lock.release()
        return True

    def _flush_usage(self) -> None:
        if not self._usage:
            return
        pending, self._usage = self._usage, {}
        self._conn.executemany(
            "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?),"
            " request_count = request_count + ? WHERE sha256 = ?",
            [(at, uses, sha) for sha, (uses, at) in pending.items()],
        )

    @asynccontextmanager
    async def atransaction(self) -> AsyncIterator[sqlite3.Connection]:
        """Run the block as one write transaction, without blocking the event loop.

        The block must not ``await``: the lock is only held by synchronous code. When
        another thread holds it, the lock is polled rather than waited on.
        """
        if not self._lock.acquire(blocking=False):
            await self._acquire_async()
        try:
            # The request pipeline's own transactions leave usage to its timer.
            self._begin(flush=False)
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        finally:
            self._lock.release()

    async def run_locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` (synchronous) under the lock, without blocking the loop.

        Its statements run in autocommit, each its own transaction: for reads plus
        one write whose order against other writers does not matter (checks 1-17
        and the replay store), that is as exact as one transaction, at two
        statements less.
        """
        if not self._lock.acquire(blocking=False):
            await self._acquire_async()
        try:
            if self._closed:
                raise RuntimeError("the sandbox store is closed")
            return work(self._conn)
        finally:
            self._lock.release()

    def _begin(self, *, flush: bool = True) -> None:
        if self._closed:
            raise RuntimeError("the sandbox store is closed")
        self._conn.execute("BEGIN IMMEDIATE")
        if flush:
            self._flush_usage()

    def _acquire_blocking(self) -> None:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise StoreBusyError("the sandbox store stayed locked too long")

    async def _acquire_async(self) -> None:
        delay = 0.0005
        waited = 0.0
        while not self._lock.acquire(blocking=False):
            if waited >= LOCK_TIMEOUT:
                raise StoreBusyError("the sandbox store stayed locked too long")
            await anyio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.01)

    def close(self) -> None:
        """Close the connection (idempotent), after the close hooks."""
        if not self._closed:
            for hook in self._close_hooks:
                try:
                    hook()
                except Exception:
                    logger.exception("a sandbox store close hook failed")
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._usage:
                    self._conn.execute("BEGIN IMMEDIATE")
                    self._flush_usage()
                    self._conn.execute("COMMIT")
                self._conn.close()
