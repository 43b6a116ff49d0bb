"""Owns the signing pool: RS256 signatures off the event loop, in a few threads.

``anyio.to_thread.run_sync`` costs one thread hand-off and one event-loop wake-up
per call, about as much loop time as the rest of a request. Under load the pool
lets a few threads sign (``cryptography`` releases the GIL while it signs, so they
run on the other cores) and wake each waiting loop once per batch, not per token.
Only the wake-ups are shared: every job signs its own claims, with its own ``jti``.

The pool holds no loop-bound state: each job carries its future and its loop, so
any number of loops (pytest makes one per test) can share it. Its threads are
daemons, started on first use, stopped at interpreter exit and re-created in a
forked child. Off asyncio (trio) and for remote keys (KMS, whose signing waits on
the network), signing runs in anyio's worker threads instead.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import queue
import threading
from collections.abc import Awaitable, Callable

import anyio.to_thread

from nuvera_client.errors import ConfigurationError

__all__ = ["DEFAULT_WORKERS", "SigningPool", "sign_off_loop"]

_Sign = Callable[[], str]
_Job = tuple[_Sign, "asyncio.Future[str]", asyncio.AbstractEventLoop]
_Done = list[tuple["asyncio.Future[str]", str, BaseException | None]]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 2


DEFAULT_WORKERS = max(4, min(8, 2 * _cpus()))
"""Signing threads of the shared pool: two per core, 4 to 8.

More threads than cores: a thread whose RSA operation is done waits for the GIL
while the event loop runs, and another thread keeps that core signing meanwhile.
On 2 cores, 4 threads with batches of 8 serve about 9% more requests per second
than 2 threads with batches of 32 (``benchmarks/bench_client.py``, RSA-3072).
"""


class SigningPool:
    """A bounded set of signing threads that settle futures in batches.

    Args:
        workers: the number of threads (started on first use).
        batch: the most jobs a thread takes at once; it takes fewer while the
            queue is short, so that every thread gets work. Small batches also
            leave little queued on one thread while the others run dry.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, *, batch: int = 8) -> None:
        if workers < 1 or batch < 1:
            raise ConfigurationError("workers and batch must be at least 1")
        self.workers = workers
        self.batch = batch
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether ``shutdown()`` ran: the pool takes no more jobs."""
        return self._closed

    def submit(
        self, sign: _Sign, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[str]:
        """Queue ``sign`` and return a future of ``loop`` that gets its result.

        Call it on ``loop``'s thread. Cancelling the future skips the job if no
        thread has started it yet.

        Raises:
            RuntimeError: the pool is shut down.
        """
        if not self._running:
            self._start()
        future: asyncio.Future[str] = loop.create_future()
        self._jobs.put((sign, future, loop))
        return future

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the signing pool is shut down")
            if self._running:
                return
            self._threads = [
                threading.Thread(
                    target=self._work,
                    args=(self._jobs,),
                    name=f"nuvera-signing-{index}",
                    daemon=True,
                )
                for index in range(self.workers)
            ]
            for thread in self._threads:
                thread.start()
            self._running = True

    def _work(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            batch = [job]
            # Share a long queue among the threads; a short one goes one by one.
            for _ in range(min(self.batch - 1, jobs.qsize() // self.workers)):
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    jobs.put(None)  # our stop signal, seen after this batch
                    break
                batch.append(job)
            _run(batch)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the threads once the queued jobs are signed; later jobs are refused."""
        with self._lock:
            self._closed = True
            self._running = False
            threads, self._threads = self._threads, []
            for _ in threads:
                self._jobs.put(None)
        for thread in threads:
            thread.join(timeout)
        # A job queued while we stopped would wait forever: sign it here.
        leftover: list[_Job] = []
        with contextlib.suppress(queue.Empty):
            while True:
                job = self._jobs.get_nowait()
                if job is not None:
                    leftover.append(job)
        _run(leftover)

    def after_fork(self) -> None:
        """Forget the parent's threads and jobs (``os.register_at_fork`` child)."""
        # The child has none of the parent's threads, and the queue may hold
        # the parent's jobs: start afresh on first use.
        self._lock = threading.Lock()
        self._jobs = queue.SimpleQueue()
        self._threads = []
        self._running = False


def _run(batch: list[_Job]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, _Done] = {}
    for sign, future, loop in batch:
        if future.cancelled():  # racy read, rechecked on the loop: saves work only
            continue
        try:
            token, error = sign(), None
        except BaseException as exc:  # handed to the awaiting task
            token, error = "", exc
        by_loop.setdefault(loop, []).append((future, token, error))
    for loop, done in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: no one waits
            loop.call_soon_threadsafe(_settle, done)


def _settle(done: _Done) -> None:
    for future, token, error in done:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(token)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # trio, or another non-asyncio loop
        return None


_POOL = SigningPool()
atexit.register(_POOL.shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.after_fork)


def sign_off_loop(sign: _Sign, *, local: bool) -> Awaitable[str]:
    """Start ``sign`` off the event loop; await the result for its token.

    A plain function returning the awaitable (a future, on the pool's path), so
    that resuming the waiting task crosses one coroutine frame fewer.

    Args:
        sign: makes one token (fresh ``jti``); called once, in another thread.
        local: the key is in process memory (CPU-bound signing). Remote keys
            wait on the network, so they get anyio's larger thread pool.
    """
    if local and not _POOL.closed:
        loop = _running_loop()
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # shut down meanwhile (exit)
                return _POOL.submit(sign, loop)
    return anyio.to_thread.run_sync(sign)
