"""Owns the sandbox's rate limit: one token bucket per application, in memory."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable

_RATE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*")


def parse_rate(value: str | float | None) -> float | None:
    """Parse ``"N/s"`` (or a number) into requests per second; None = no limit.

    Raises:
        ValueError: not a positive rate.
    """
    if value is None:
        return None
    if isinstance(value, str):
        match = _RATE_RE.fullmatch(value)
        if match is None:
            raise ValueError(f"rate limit must look like '10/s', got {value!r}")
        rate = float(match.group(1))
    else:
        rate = float(value)
    if not rate > 0 or math.isinf(rate):
        raise ValueError("rate limit must be a positive number of requests per second")
    return rate


class RateLimiter:
    """Token buckets of ``rate`` tokens per second, burst ``max(1, rate)``."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """Take one token for ``key``; return 0, or the seconds to wait (>= 1)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
