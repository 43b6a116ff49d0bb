"""Owns the credential caches: parsed keys by digest, single-flight refreshes."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._signer import SigningKey
from nuvera_client.errors import ConfigurationError, InvalidPrivateKeyError

__all__ = ["KEY_CACHE", "RETRY_AFTER_FAILURE", "Entry", "KeyCache", "SingleFlight"]

logger = logging.getLogger("nuvera_client.credentials")

KEY_CACHE_SIZE = 16
RETRY_AFTER_FAILURE = 10.0
"""Seconds before a failed scheduled refresh is tried again (stale values serve)."""

T = TypeVar("T")


class KeyCache:
    """Parsed RSA private keys, by the SHA-256 of their material and passphrase.

    Parsing (and checking) an RSA key costs milliseconds; the same secret fetched
    again after a refresh must not pay it twice. Thread-safe, least recently used
    entries are dropped past ``maxsize``.
    """

    def __init__(self, maxsize: int = KEY_CACHE_SIZE) -> None:
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, rsa.RSAPrivateKey] = OrderedDict()
        self._maxsize = maxsize
        self.parses = 0
        """How many keys were parsed (cache misses): tests and benchmarks read it."""

    def load(
        self,
        source: keys.PrivateKeySource | SigningKey,
        passphrase: str | bytes | None,
    ) -> rsa.RSAPrivateKey | SigningKey:
        """Return the parsed key for ``source``, parsing it on first sight only.

        Raises:
            InvalidPrivateKeyError: the key cannot be used (from
                [`keys`][nuvera_client.keys]).
        """
        if isinstance(source, rsa.RSAPrivateKey):
            return source
        if isinstance(source, Path):
            path = source
            try:
                source = path.read_bytes()
            except OSError as exc:
                raise InvalidPrivateKeyError(
                    f"cannot read the private key file {path}: {exc.strerror}"
                ) from None
        material = _material(source)
        if material is None:
            # A SigningKey (KMS/HSM): nothing to parse; RequestSigner checks it.
            return source  # type: ignore[return-value]
        digest = _digest(material, passphrase)
        # Parse under the lock so that two threads never parse the same key twice.
        with self._lock:
            key = self._keys.get(digest)
            if key is not None:
                self._keys.move_to_end(digest)
                return key
            key = keys.load_private_key(source, passphrase)  # type: ignore[arg-type]
            self.parses += 1
            self._keys[digest] = key
            while len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)
            return key

    def clear(self) -> None:
        """Forget every parsed key."""
        with self._lock:
            self._keys.clear()


def _material(source: object) -> bytes | None:
    if isinstance(source, (str, bytes, bytearray, memoryview)):
        data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
        # PEM text and bytes of one key, from a file or a secret: the same entry.
        return data.strip() if b"-----BEGIN" in data else data
    if isinstance(source, Mapping):
        return json.dumps(dict(source), sort_keys=True, default=str).encode("utf-8")
    return None


def _digest(material: bytes, passphrase: str | bytes | None) -> str:
    # The passphrase is part of the identity: a wrong one must fail as before,
    # not be accepted because the right one was given earlier.
    hasher = hashlib.sha256(material)
    if passphrase is not None:
        secret = (
            passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
        )
        hasher.update(b"\x00passphrase\x00" + hashlib.sha256(secret).digest())
    return hasher.hexdigest()


KEY_CACHE = KeyCache()
"""The process-wide cache every provider and client share."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One fetched value, its generation (1, 2, ...) and when it was fetched."""

    value: T
    generation: int
    fetched_at: float


class SingleFlight(Generic[T]):
    """Cache one fetched value; refresh it at most once at a time.

    ``get()`` fetches on first use and when ``refresh_interval`` has passed (one
    caller fetches while the others keep the still-valid value). ``refresh()``
    always fetches, unless another caller completed a fetch since the generation
    the caller saw: callers that queued behind a refresh take its result (or its
    error, if it failed).

    Args:
        fetch: returns a new value from the source; may raise.
        refresh_interval: seconds after which ``get()`` fetches again; ``None``
            means only on ``refresh()``.
        clock: monotonic seconds (injected by tests).
        name: what to call the source in log lines.
    """

    def __init__(
        self,
        fetch: Callable[[], T],
        *,
        refresh_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "credentials",
    ) -> None:
        if refresh_interval is not None and not refresh_interval > 0:
            raise ConfigurationError(
                "refresh_interval must be a positive number of seconds"
            )
        self._fetch = fetch
        self._interval = refresh_interval
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._entry: Entry[T] | None = None
        self._due_at = math.inf
        self._attempts = 0
        # (attempt number, error) when the latest attempt failed: callers that
        # queued behind a failed fetch share its error instead of each retrying.
        self._failure: tuple[int, Exception] | None = None

    @property
    def generation(self) -> int:
        """How many fetches have completed (0 before the first)."""
        entry = self._entry
        return 0 if entry is None else entry.generation

    @property
    def entry(self) -> Entry[T] | None:
        """The current entry, without fetching."""
        return self._entry

    def needs_fetch(self) -> bool:
        """Return whether ``get()`` would fetch (nothing cached, or it is due)."""
        return self._entry is None or self._clock() >= self._due_at

    def get(self) -> T:
        """Return the cached value, fetching it first when missing or due."""
        entry = self._entry
        if entry is not None and self._clock() < self._due_at:
            return entry.value
        if entry is None:
            attempts = self._attempts
            with self._lock:
                entry = self._entry
                if entry is None:
                    self._raise_shared_failure(attempts)
                    return self._fetch_locked().value
                return entry.value
        # Due: one caller refreshes; the others keep using the current value,
        # which is still valid (a scheduled refresh is not a rotation signal).
        if not self._lock.acquire(blocking=False):
            return entry.value
        try:
            current = self._entry
            assert current is not None  # noqa: S101 - set before, never unset
            if self._clock() < self._due_at:
                return current.value
            try:
                return self._fetch_locked().value
            except Exception as exc:
                self._due_at = self._clock() + min(
                    self._interval or RETRY_AFTER_FAILURE, RETRY_AFTER_FAILURE
                )
                logger.warning(
                    "scheduled refresh of %s failed (%s: %s); keeping the current "
                    "credentials and trying again later",
                    self._name,
                    type(exc).__name__,
                    exc,
                )
                return current.value
        finally:
            self._lock.release()

    def refresh(self, generation: int | None = None) -> T:
        """Fetch anew, unless a fetch completed after ``generation``.

        Args:
            generation: the generation the caller was using when it learned the
                value is stale (default: the generation when this call started).
        """
        seen = self.generation if generation is None else generation
        attempts = self._attempts
        with self._lock:
            entry = self._entry
            if entry is not None and entry.generation > seen:
                return entry.value
            self._raise_shared_failure(attempts)
            return self._fetch_locked().value

    def _raise_shared_failure(self, attempts_seen: int) -> None:
        failure = self._failure
        if failure is not None and failure[0] > attempts_seen:
            raise failure[1]

    def _fetch_locked(self) -> Entry[T]:
        # Counted when an attempt ends, so a caller that arrives while one is in
        # flight (and records the count) shares that attempt's outcome.
        try:
            value = self._fetch()
        except Exception as exc:
            self._attempts += 1
            self._failure = (self._attempts, exc)
            raise
        self._attempts += 1
        self._failure = None
        now = self._clock()
        entry = Entry(value, self.generation + 1, now)
        self._entry = entry
        self._due_at = math.inf if self._interval is None else now + self._interval
        logger.debug("fetched %s (generation %d)", self._name, entry.generation)
        return entry
