"""Owns the idempotency store (PROTOCOL §3.1, §6): keys per application, 24 h."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from nuvera_client.sandbox._problems import problem

RETENTION = 24 * 3600
# A pending entry older than this belongs to a request that died: run again.
STALE_PENDING = 300
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_key(values: Sequence[str], *, required: bool) -> str | None:
    """Return the request's Idempotency-Key, None when absent and optional.

    Raises:
        ApiProblem: ``idempotency_key_required`` or ``invalid_idempotency_key``.
    """
    if not values:
        if required:
            raise problem("idempotency_key_required", _field(_REQUIRED))
        return None
    if len(values) > 1:
        raise problem("invalid_idempotency_key", _field("send it once"))
    key = values[0]
    if not 1 <= len(key) <= MAX_KEY_LENGTH or any(
        not 0x21 <= ord(ch) <= 0x7E for ch in key
    ):
        raise problem("invalid_idempotency_key", _field(_FORMAT))
    return key


_REQUIRED = "required on POST /v1/payments"
_FORMAT = "1-255 printable ASCII characters (0x21-0x7E)"


def _field(message: str) -> dict[str, dict[str, str]]:
    # 422 is a validation_error: details.fields, as PROTOCOL §6 pairs them.
    return {"fields": {"Idempotency-Key": message}}


def begin(
    db: sqlite3.Connection,
    application_id: str,
    key: str,
    *,
    method: str,
    uri: str,
    body_hash: str,
    now: int,
) -> StoredResponse | None:
    """Reserve ``key`` for this request, or return the stored response to replay.

    Raises:
        ApiProblem: ``idempotency_conflict`` or ``idempotency_in_progress``.
    """
    db.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
    row = db.execute(
        "SELECT * FROM idempotency WHERE application_id = ? AND key = ?",
        (application_id, key),
    ).fetchone()
    if row is not None:
        if (row["method"], row["uri"], row["body_hash"]) != (method, uri, body_hash):
            raise problem("idempotency_conflict")
        if row["state"] == "done":
            return StoredResponse(
                row["status"],
                [(k, v) for k, v in json.loads(row["headers"])],
                bytes(row["body"]),
            )
        if now - row["created_at"] < STALE_PENDING:
            raise problem("idempotency_in_progress")
        db.execute(
            "UPDATE idempotency SET created_at = ?"
            " WHERE application_id = ? AND key = ?",
            (now, application_id, key),
        )
        return None
    db.execute(
        "INSERT INTO idempotency (application_id, key, method, uri, body_hash, state,"
        " created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
        (application_id, key, method, uri, body_hash, now, now + RETENTION),
    )
    return None


def finish(
    db: sqlite3.Connection,
    application_id: str,
    key: str,
    response: StoredResponse | None,
) -> None:
    """Store the response for replay; a 5xx, a 429 or None releases the key."""
    if response is None or response.status >= 500 or response.status == 429:
        db.execute(
            "DELETE FROM idempotency WHERE application_id = ? AND key = ?"
            " AND state = 'pending'",
            (application_id, key),
        )
        return
    db.execute(
        "UPDATE idempotency SET state = 'done', status = ?, headers = ?, body = ?"
        " WHERE application_id = ? AND key = ?",
        (
            response.status,
            json.dumps(response.headers),
            response.body,
            application_id,
            key,
        ),
    )
