"""Owns request verification: PROTOCOL §3 checks 1-18 (and 19), in order, per §3.1.

Checks 1-17 (``verify_headers()``) need only the request line and headers, so the
app runs them before it reads a byte of the body; check 18 (``verify_body()``)
compares the hash of the body streamed in afterwards. The first failing check raises
its ``ApiProblem``. The JWS is parsed here from
the raw header text (strict unpadded base64url, JSON objects without duplicate
members, integers seen as written) and verified with ``cryptography`` alone.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nuvera_client.sandbox._credentials import api_key_well_formed, load_public_key
from nuvera_client.sandbox._encoding import b64url_decode_strict, sha256_hex
from nuvera_client.sandbox._problems import ApiProblem, problem

ISSUER = "nuvera-api"
AUDIENCE = "nuvera-rest-api"
LEEWAY = 10
MAX_LIFETIME = 60
REQUIRED_CLAIMS = ("iss", "aud", "iat", "exp", "jti", "method", "uri", "body_hash")

_JTI_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
# An RFC 9110 token with no lowercase letters.
_METHOD_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Z-]+")
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_OWS = " \t"
# RS256 is RSASSA-PKCS1-v1_5 with SHA-256; both objects are stateless, built once.
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_WS_RE = re.compile(r"[ \t]+")


class _Malformed(ValueError):
    """The token cannot be parsed (check 6)."""


class IncomingRequest(NamedTuple):
    """What verification needs from one HTTP request."""

    method: str
    raw_target: bytes
    api_keys: Sequence[str]
    authorizations: Sequence[str]


class Verified(NamedTuple):
    """A request that passed checks 1-17; ``body_hash`` is its claim for check 18."""

    application_id: str
    permissions: frozenset[str]
    api_key_sha256: str
    kid: str
    jti: str
    body_hash: str


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # a member named twice collapsed into one
        raise _Malformed("duplicate member")
    return result


def _reject_constant(name: str) -> Any:
    raise _Malformed(f"{name} is not JSON")


# Built once: a JSONDecoder per call costs more than the small documents it reads.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    # A fraction or exponent stays a non-int, so `1e3` or `1.0` is no integer.
    parse_float=Decimal,
    parse_constant=_reject_constant,
)


def _json_object(segment: str) -> dict[str, Any]:
    raw = b64url_decode_strict(segment)
    if raw is None:
        raise _Malformed("not unpadded base64url")
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Malformed("not JSON") from exc
    if not isinstance(value, dict):
        raise _Malformed("not a JSON object")
    return value


def _header_object(segment: str) -> Mapping[str, Any]:
    """Parse a JOSE header segment (read-only); the usual small ones come from a cache.

    A client sends the same header on every request. Only short segments are kept
    (at most 256 of 512 characters), so strangers cannot make the cache grow.
    """
    if len(segment) <= _CACHED_HEADER_CHARS:
        return _cached_header(segment)
    return MappingProxyType(_json_object(segment))


_CACHED_HEADER_CHARS = 512


@functools.lru_cache(maxsize=256)
def _cached_header(segment: str) -> Mapping[str, Any]:
    # A refusal is never cached: lru_cache does not keep exceptions.
    return MappingProxyType(_json_object(segment))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@functools.lru_cache(maxsize=256)
def _public_key(pem: str) -> rsa.RSAPublicKey:
    return load_public_key(pem)


@functools.lru_cache(maxsize=256)
def _api_key_digest(api_key: str) -> str | None:
    """Return the SHA-256 of a well-formed API key (check 2's format), else None.

    Cached: a client sends the same key on every request.
    """
    return sha256_hex(api_key) if api_key_well_formed(api_key) else None


def _bearer_token(values: Sequence[str]) -> str:
    """Check 5: return the token, or raise ``missing_signature``."""
    if not values:
        raise problem("missing_signature")
    if len(values) > 1:
        raise problem(
            "malformed_token", message="Send exactly one Authorization header."
        )
    value = values[0].strip(_OWS)
    scheme, *rest = _WS_RE.split(value, maxsplit=1)
    token = rest[0] if rest else ""
    if scheme.lower() != "bearer" or not token:
        raise problem("missing_signature")
    return token


def _kid_named(token: str) -> str | None:
    """Return the ``kid`` the token names, or None; never raises.

    Only a hint for the key lookup: checks 5-8 validate the same token in order.
    """
    try:
        header = _header_object(token.split(".", 1)[0])
    except _Malformed:
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) and kid.isascii() else None


class KeyRow(NamedTuple):
    """What checks 2-4 and 8 need to know of one API key and one kid."""

    application_id: str
    key_status: str
    expires_at: int | None
    app_status: str
    permissions: frozenset[str]
    # The active signing key of the application with the kid looked up, or None.
    public_key: rsa.RSAPublicKey | None


def _query_key_row(
    db: sqlite3.Connection, key_hash: str, kid: str | None
) -> KeyRow | None:
    row = db.execute(
        "SELECT k.application_id, k.status, k.expires_at, a.status, a.permissions,"
        " s.public_key_pem"
        " FROM api_keys AS k LEFT JOIN applications AS a ON a.id = k.application_id"
        " LEFT JOIN signing_keys AS s ON s.application_id = k.application_id"
        " AND s.kid = ? AND s.status = 'active'"
        " WHERE k.sha256 = ?",
        (kid, key_hash),
    ).fetchone()
    if row is None:
        return None
    application_id, key_status, expires_at, app_status, permissions, pem = row
    return KeyRow(
        application_id,
        key_status,
        expires_at,
        app_status,
        _permissions(permissions),
        None if pem is None else _public_key(pem),
    )


class KeyLookup:
    """The rows of checks 2-4 and 8 per (API key hash, kid), cached between requests.

    A cached row is used only while nothing that could change it was committed:
    ``Store.generation`` covers this process's own commits (every platform change,
    every handler transaction), ``PRAGMA data_version`` those of any other
    connection to a state file (the CLI revoking a key while a server runs). Both
    are read under the store lock, in the same step as the lookup, so a request
    that starts after a revocation committed never sees the old row. Expiry
    (``expires_at``) is compared per request, as without the cache. Unknown keys
    are not cached; at most ``MAX_ENTRIES`` rows are kept.
    """

    MAX_ENTRIES = 256

    def __init__(self, generation: Callable[[], int], *, shared_file: bool) -> None:
        self._generation = generation
        self._shared_file = shared_file
        self._rows: dict[tuple[str, str | None], KeyRow] = {}
        self._stamp: tuple[int, int] | None = None

    def get(
        self, db: sqlite3.Connection, key_hash: str, kid: str | None
    ) -> KeyRow | None:
        """Return the row for ``key_hash`` and ``kid`` (None: no such API key)."""
        version = 0
        if self._shared_file:
            version = db.execute("PRAGMA data_version").fetchone()[0]
        stamp = (self._generation(), version)
        if stamp != self._stamp:
            self._rows.clear()
            self._stamp = stamp
        cached = self._rows.get((key_hash, kid))
        if cached is not None:
            return cached
        row = _query_key_row(db, key_hash, kid)
        if row is not None:
            if len(self._rows) >= self.MAX_ENTRIES:
                self._rows.clear()
            self._rows[(key_hash, kid)] = row
        return row


def verify_headers(
    db: sqlite3.Connection,
    req: IncomingRequest,
    now: int,
    *,
    purge: bool = True,
    keys: KeyLookup | None = None,
    replay: ReplayMemory | None = None,
) -> Verified:
    """Run checks 1-17 on ``req`` at server time ``now``; return who is calling.

    Records the token's ``jti`` in the replay store once its signature verified,
    even if a later check fails. With ``purge``, first drops expired replay entries.
    With ``keys``, the API key and signing key rows come from that cache. With
    ``replay``, the replay store is that one instead of the ``replay_store`` table.

    Raises:
        ApiProblem: the first failing check.
    """
    # 1-2: x-api-key present, well-formed and known.
    if len(req.api_keys) > 1:
        raise problem("invalid_api_key", message="Send exactly one x-api-key header.")
    if not req.api_keys or not req.api_keys[0].strip(_OWS):
        raise problem("missing_api_key")
    key_hash = _api_key_digest(req.api_keys[0].strip(_OWS))
    if key_hash is None:
        raise problem("invalid_api_key")
    # One lookup answers checks 2-4 and 8: the signing key is looked up with the kid
    # the token names, if it names one; the checks below still run in their order.
    try:
        bearer: str | ApiProblem = _bearer_token(req.authorizations)
    except ApiProblem as exc:  # check 5's answer, given in its turn below
        bearer = exc
    kid_named = _kid_named(bearer) if isinstance(bearer, str) else None
    if keys is None:
        key_row = _query_key_row(db, key_hash, kid_named)
    else:
        key_row = keys.get(db, key_hash, kid_named)
    if key_row is None:
        raise problem("invalid_api_key")
    application_id = key_row.application_id
    expires_at = key_row.expires_at
    # 3: not revoked, grace period not over.
    if key_row.key_status != "active" or (expires_at is not None and now >= expires_at):
        raise problem("api_key_revoked")
    # 4: application active.
    if key_row.app_status != "active":
        raise problem("application_disabled")
    # 5: a bearer token.
    if isinstance(bearer, ApiProblem):
        raise bearer
    token = bearer
    # 6: a 3-part JWS, every part canonical unpadded base64url, JSON objects.
    parts = token.split(".")
    if len(parts) != 3:
        raise problem("malformed_token")
    try:
        header = _header_object(parts[0])
        claims = _json_object(parts[1])
    except _Malformed:
        raise problem("malformed_token") from None
    signature = b64url_decode_strict(parts[2])
    if signature is None or "crit" in header:
        raise problem("malformed_token")
    if "typ" in header and header["typ"] != "JWT":
        raise problem("malformed_token")
    # 7: RS256 only.
    if header.get("alg") != "RS256":
        raise problem("unsupported_algorithm")
    # 8: kid of an active signing key of this application.
    kid = header.get("kid")
    # A kid is base64url; anything else (even a lone surrogate) cannot name a key.
    if not isinstance(kid, str) or not kid.isascii():
        raise problem("unknown_signing_key")
    public_key = key_row.public_key
    if public_key is None:
        raise problem("unknown_signing_key")
    # 9: signature.
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    try:
        public_key.verify(signature, signing_input, _PKCS1V15, _SHA256)
    except InvalidSignature:
        raise problem("invalid_signature") from None
    if replay is None:
        if purge:
            db.execute("DELETE FROM replay_store WHERE keep_until < ?", (now,))
        replayed = _record_jti(db, application_id, claims, now)
    else:
        if purge:
            replay.purge(now)
        replayed = replay.record(application_id, claims, now)
    _check_claims(claims, now)
    # 15: replay.
    if replayed:
        raise problem("replayed_jti")
    # 16-17: bound to this request line.
    if claims["method"] != req.method:
        # Same diagnostic shape as the other mismatches (PROTOCOL §3.1).
        raise problem(
            "method_mismatch",
            {"expected": req.method, "received": claims["method"]},
            message=f"The token 'method' claim is {claims['method']!r}; the request "
            f"method is {req.method!r}.",
        )
    if claims["uri"].encode("utf-8", "surrogatepass") != req.raw_target:
        raise problem(
            "uri_mismatch",
            {
                "expected": req.raw_target.decode("utf-8", "backslashreplace"),
                "received": claims["uri"],
            },
        )
    return Verified(
        application_id=application_id,
        permissions=key_row.permissions,
        api_key_sha256=key_hash,
        kid=kid,
        jti=claims["jti"],
        body_hash=claims["body_hash"],
    )


@functools.lru_cache(maxsize=256)
def _permissions(stored: str) -> frozenset[str]:
    return frozenset(json.loads(stored))


def verify_body(verified: Verified, body_sha256: str, body_length: int) -> None:
    """Check 18: the token's ``body_hash`` equals the SHA-256 of the received body.

    Raises:
        ApiProblem: ``body_hash_mismatch`` with ``expected``, ``received`` and
            ``body_length``.
    """
    if verified.body_hash != body_sha256:
        raise problem(
            "body_hash_mismatch",
            {
                "expected": body_sha256,
                "received": verified.body_hash,
                "body_length": body_length,
            },
        )


def _keep_until(claims: dict[str, Any], now: int) -> tuple[str, int] | None:
    """Return the jti to record and until when (None: nothing worth remembering)."""
    jti = claims.get("jti")
    if not isinstance(jti, str) or _JTI_RE.fullmatch(jti) is None:
        return None  # check 11 refuses it
    exp = claims.get("exp")
    # Kept until exp + leeway; bounded, so a far-future exp cannot pin an entry.
    if isinstance(exp, int) and not isinstance(exp, bool):
        # Any time already past is dropped by the next request's clean-up alike;
        # clamped, so a far-past exp still fits SQLite's 64-bit INTEGER.
        return jti, max(min(exp, now + 3600) + LEEWAY, now - 1)
    return jti, now + MAX_LIFETIME + 2 * LEEWAY


class ReplayMemory:
    """The replay store of a sandbox without a state file: a dict, not a table.

    The same rules as the ``replay_store`` table (``_record_jti()``), one entry per
    (application, jti) kept until its ``keep_until``, at a dict operation per
    request instead of an SQL statement. A sandbox in memory lives as long as its
    process, so nothing is lost by not writing the table; a state file keeps the
    table, which a restarted server reads. The caller holds the store lock, as for
    the table.
    """

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._until)

    def record(self, application_id: str, claims: dict[str, Any], now: int) -> bool:
        """Record the jti (check 9 passed); return whether it was already stored."""
        entry = _keep_until(claims, now)
        if entry is None:
            return False
        jti, keep_until = entry
        key = (application_id, jti)
        stored = self._until.get(key)
        # An entry past its keep_until is gone, purged yet or not (purges are batched).
        if stored is None or stored < now:
            self._until[key] = keep_until
            return False
        if keep_until > stored:
            self._until[key] = keep_until
        return True

    def purge(self, now: int) -> None:
        """Drop the entries kept until before ``now``."""
        self._until = {k: v for k, v in self._until.items() if v >= now}


def _record_jti(
    db: sqlite3.Connection, application_id: str, claims: dict[str, Any], now: int
) -> bool:
    """Record the jti (check 9 passed); return whether it was already in the store."""
    entry = _keep_until(claims, now)
    if entry is None:
        return False
    jti, keep_until = entry
    # The common case, a fresh jti, is one statement.
    inserted = db.execute(
        "INSERT OR IGNORE INTO replay_store (application_id, jti, keep_until)"
        " VALUES (?, ?, ?)",
        (application_id, jti, keep_until),
    ).rowcount
    if inserted:
        return False
    row = db.execute(
        "SELECT keep_until FROM replay_store WHERE application_id = ? AND jti = ?",
        (application_id, jti),
    ).fetchone()
    # An entry past its keep_until is gone, purged yet or not (purges are batched).
    expired = row[0] < now
    if expired or keep_until > row[0]:
        db.execute(
            "UPDATE replay_store SET keep_until = ?"
            " WHERE application_id = ? AND jti = ?",
            (keep_until, application_id, jti),
        )
    return not expired


def _check_claims(claims: dict[str, Any], now: int) -> None:
    """Checks 10-14."""
    if claims.get("iss") != ISSUER:
        raise problem("invalid_issuer")
    if claims.get("aud") != AUDIENCE:
        raise problem("invalid_audience")
    iat, exp = claims.get("iat"), claims.get("exp")
    jti, method = claims.get("jti"), claims.get("method")
    uri, body_hash = claims.get("uri"), claims.get("body_hash")
    typed = (
        _is_int(iat)
        and _is_int(exp)
        and isinstance(jti, str)
        and _JTI_RE.fullmatch(jti) is not None
        and isinstance(method, str)
        and _METHOD_RE.fullmatch(method) is not None
        and isinstance(uri, str)
        and uri.startswith("/")
        and isinstance(body_hash, str)
        and _HASH_RE.fullmatch(body_hash) is not None
    )
    if not typed or not isinstance(iat, int) or not isinstance(exp, int):
        raise problem("malformed_token")
    if not 0 < exp - iat <= MAX_LIFETIME:
        raise problem("invalid_lifetime")
    if iat > now + LEEWAY:
        raise problem("token_not_yet_valid", {"server_time": now})
    if exp < now - LEEWAY:
        raise problem("token_expired", {"server_time": now})


def check_permission(verified: Verified, permission: str) -> None:
    """Check 19: the endpoint's permission is granted.

    Raises:
        ApiProblem: ``permission_denied`` with ``details.required_permission``.
    """
    if permission not in verified.permissions:
        raise problem(
            "permission_denied",
            {"required_permission": permission},
            message=f"The application lacks {permission}, which this endpoint needs.",
        )
