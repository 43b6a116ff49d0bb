"""Owns console sessions: an opaque cookie, its CSRF token and one-time reveals.

Sessions live in the server's memory only (a sandbox restart signs everyone out).
The cookie is HttpOnly and SameSite=Strict, scoped to ``/console``; signing in
issues a new session id (no fixation). A one-time API key waits in the session
between the form that made it and the page that shows it, and is dropped when shown.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

COOKIE = "nuvera_console"
MAX_SESSIONS = 500
IDLE_SECONDS = 8 * 3600


@dataclass
class Session:
    """One browser's session."""

    id: str
    csrf: str
    user_id: str | None = None
    touched: float = field(default_factory=time.monotonic)
    # application id -> (what made it, the one-time API key); popped when shown.
    reveals: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    flash: list[str] = field(default_factory=list)

    def check_csrf(self, token: object) -> bool:
        """Tell whether a form's CSRF token is this session's."""
        return isinstance(token, str) and secrets.compare_digest(token, self.csrf)


class Sessions:
    """The sessions of one console, bounded and expiring when idle."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        """Return a live session by cookie value."""
        if not session_id:
            return None
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            if time.monotonic() - session.touched > IDLE_SECONDS:
                del self._by_id[session_id]
                return None
            session.touched = time.monotonic()
            self._by_id.move_to_end(session_id)
            return session

    def new(self, user_id: str | None = None) -> Session:
        """Start a session (the oldest is dropped past ``MAX_SESSIONS``)."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user_id)
        with self._lock:
            self._by_id[session.id] = session
            while len(self._by_id) > MAX_SESSIONS:
                self._by_id.popitem(last=False)
        return session

    def drop(self, session: Session) -> None:
        """End a session."""
        with self._lock:
            self._by_id.pop(session.id, None)
