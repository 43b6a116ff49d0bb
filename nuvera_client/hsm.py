"""Sign with an RSA key that never leaves an HSM, through PKCS#11 (the ``hsm`` extra).

    from nuvera_client import NuveraClient
    from nuvera_client.hsm import Pkcs11SigningKey

    key = Pkcs11SigningKey(
        "/usr/lib/softhsm/libsofthsm2.so",  # the vendor's PKCS#11 module
        token_label="payments",
        key_label="nuvera-signing",
    )  # the PIN from $NUVERA_PKCS11_PIN
    client = NuveraClient(api_key=api_key, private_key=key)

The key must be an RSA private key of 2048, 3072 or 4096 bits (public exponent
65537) that may sign (``CKA_SIGN``), on a token that offers
``CKM_SHA256_RSA_PKCS``: the token hashes and signs, the SDK only sends it the
JWS signing input. The public key is read from the token (the private key's
modulus and exponent, else the public key object with the same id or label), so
the ``kid`` is derived as for any other key.

Concurrency: each signature takes a session from a small pool (a PKCS#11
session runs one operation at a time), and async clients sign in a worker
thread, never on the event loop. python-pkcs11 initialises the module without
OS locking (``C_Initialize(NULL)``), which by the PKCS#11 standard means the
application must not call it from two threads at once, and SoftHSM2 crashes if
it does: calls into one module are therefore serialised by a process-wide lock.
A session or login that the token dropped (HSM restart, network HSM failover)
is re-opened once, with the PIN asked again, before an error is raised.

The PIN comes from ``pin=`` (a string, or a function returning one: a secrets
manager, a vault), else from ``$NUVERA_PKCS11_PIN``. It is never in a repr, a
log line or an error message. After ``os.fork()``, create the key again in the
child: PKCS#11 handles do not survive a fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._environment import read_variable
from nuvera_client.errors import (
    ConfigurationError,
    InvalidPrivateKeyError,
    Pkcs11Error,
    Pkcs11KeyNotFoundError,
    Pkcs11KeyUnsuitableError,
    Pkcs11LibraryNotFoundError,
    Pkcs11MechanismError,
    Pkcs11PinError,
    Pkcs11TokenNotFoundError,
)

__all__ = [
    "DEFAULT_SESSIONS",
    "ENV_KEY_ID",
    "ENV_KEY_LABEL",
    "ENV_LIBRARY",
    "ENV_PIN",
    "ENV_SLOT",
    "ENV_TOKEN_LABEL",
    "MECHANISM",
    "Pkcs11SigningKey",
]

ENV_LIBRARY: Final = "NUVERA_PKCS11_LIBRARY"
ENV_TOKEN_LABEL: Final = "NUVERA_PKCS11_TOKEN_LABEL"  # noqa: S105 (a name)
ENV_SLOT: Final = "NUVERA_PKCS11_SLOT"
ENV_KEY_LABEL: Final = "NUVERA_PKCS11_KEY_LABEL"
ENV_KEY_ID: Final = "NUVERA_PKCS11_KEY_ID"
ENV_PIN: Final = "NUVERA_PKCS11_PIN"
MECHANISM: Final = "CKM_SHA256_RSA_PKCS"
DEFAULT_SESSIONS: Final = 4
"""Sessions kept open per key: one per signature in flight (calls are serialised)."""

_MIN_BITS: Final = 2048
# Errors after which a session (or the login) is gone: re-open once and retry.
_STALE: Final = (
    "SessionClosed",
    "SessionHandleInvalid",
    "ObjectHandleInvalid",
    "KeyHandleInvalid",
    "UserNotLoggedIn",
    "DeviceRemoved",
    "TokenNotPresent",
)
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

PinSource = str | Callable[[], str]


def _library_lock(path: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(os.path.realpath(path), threading.Lock())


def _pkcs11() -> Any:
    try:
        import pkcs11  # optional dependency (the hsm extra), imported on use
    except ImportError:
        raise Pkcs11LibraryNotFoundError(
            "Pkcs11SigningKey needs python-pkcs11: pip install 'nuvera-client[hsm]'"
        ) from None
    return pkcs11


@dataclass
class _Pooled:
    session: Any
    key: Any


class Pkcs11SigningKey:
    """A [`SigningKey`][nuvera_client.SigningKey] whose private key stays in an HSM.

    The token is opened, logged in and checked here, so that a wrong setting
    fails at start-up with a typed error, not on the first request.

    Args:
        library: path of the vendor's PKCS#11 module (default
            ``$NUVERA_PKCS11_LIBRARY``).
        token_label: the token's label (``CKA_LABEL`` of the token).
        slot: the slot id, instead of ``token_label``.
        key_label: the private key's ``CKA_LABEL``.
        key_id: the private key's ``CKA_ID`` (bytes, or a hex string).
        pin: the user PIN, or a function returning it (called again when the
            token has dropped the login); default ``$NUVERA_PKCS11_PIN``.
        sessions: the most sessions kept open (signatures in flight).

    Raises:
        Pkcs11LibraryNotFoundError: no module at ``library`` (or no python-pkcs11).
        Pkcs11TokenNotFoundError: no token with that label or in that slot.
        Pkcs11PinError: no PIN, a wrong one, or a locked token.
        Pkcs11KeyNotFoundError: no private key (or several) with that label / id.
        Pkcs11KeyUnsuitableError: not RSA 2048/3072/4096 with e=65537, or no
            ``CKA_SIGN``.
        Pkcs11MechanismError: the token has no ``CKM_SHA256_RSA_PKCS``.
    """

    def __init__(
        self,
        library: str | os.PathLike[str] | None = None,
        *,
        token_label: str | None = None,
        slot: int | None = None,
        key_label: str | None = None,
        key_id: bytes | str | None = None,
        pin: PinSource | None = None,
        sessions: int = DEFAULT_SESSIONS,
    ) -> None:
        if (token_label is None) == (slot is None):
            raise Pkcs11TokenNotFoundError("give exactly one of token_label= or slot=")
        if key_label is None and key_id is None:
            raise Pkcs11KeyNotFoundError("give key_label= or key_id= (or both)")
        if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
            raise ConfigurationError("sessions must be an integer of at least 1")
        if isinstance(key_id, str):
            try:
                key_id = bytes.fromhex(key_id)
            except ValueError:
                raise Pkcs11KeyNotFoundError(
                    "key_id must be bytes or a hex string (CKA_ID)"
                ) from None
        path = os.fspath(library) if library is not None else read_variable(ENV_LIBRARY)
        if not path:
            raise Pkcs11LibraryNotFoundError(
                f"no PKCS#11 module: pass library= or set {ENV_LIBRARY} to the "
                "vendor's .so (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)"
            )
        self.library = path
        self.token_label = token_label
        self.slot = slot
        self.key_label = key_label
        self.key_id = key_id
        self.max_sessions = sessions
        self._pin = _pin_reader(pin)
        self._p11 = _pkcs11()
        self._lock = _library_lock(path)
        self._pool_lock = threading.Condition()
        self._idle: list[_Pooled] = []
        self._open = 0
        self._generation = 0
        self._closed = False
        self._login: Any = None
        with self._lock:
            self._token = self._find_token()
            self._check_mechanism()
            self._log_in()
            opened = [_Pooled(self._login, None)]
            try:
                first = self._pooled()
                opened.append(first)
                self._public = self._read_public_key(first.key)
            except BaseException:
                self._close_sessions(opened, locked=True)
                raise
        self._idle.append(first)
        self._open = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Pkcs11SigningKey:
        """Build a key from ``NUVERA_PKCS11_*`` variables (what the CLI uses).

        ``NUVERA_PKCS11_LIBRARY``, ``..._TOKEN_LABEL`` or ``..._SLOT``,
        ``..._KEY_LABEL`` and/or ``..._KEY_ID`` (hex), and ``..._PIN``.
        """
        slot_text = read_variable(ENV_SLOT, env)
        try:
            slot = int(slot_text) if slot_text else None
        except ValueError:
            raise Pkcs11TokenNotFoundError(
                f"{ENV_SLOT} must be a slot number, got {slot_text!r}"
            ) from None
        pin = read_variable(ENV_PIN, env)
        return cls(
            read_variable(ENV_LIBRARY, env),
            token_label=read_variable(ENV_TOKEN_LABEL, env),
            slot=slot,
            key_label=read_variable(ENV_KEY_LABEL, env),
            key_id=read_variable(ENV_KEY_ID, env),
            pin=(lambda: pin) if pin else None,
        )

    # -- opening -------------------------------------------------------------

    def _find_token(self) -> Any:
        p11 = self._p11
        if not os.path.isfile(self.library):
            raise Pkcs11LibraryNotFoundError(
                f"no PKCS#11 module at {self.library}: install the vendor's "
                "client (SoftHSM2: apt-get install softhsm2) or fix the path"
            )
        try:
            lib = p11.lib(self.library)
        except (OSError, RuntimeError) as exc:
            raise Pkcs11LibraryNotFoundError(
                f"cannot load the PKCS#11 module {self.library}: {exc}"
            ) from None
        try:
            if self.slot is not None:
                for slot in lib.get_slots(token_present=True):
                    if slot.slot_id == self.slot:
                        return slot.get_token()
                raise p11.exceptions.NoSuchToken
            return lib.get_token(token_label=self.token_label)
        except p11.exceptions.PKCS11Error as exc:
            labels = _token_labels(lib)
            where = (
                f"slot {self.slot}"
                if self.slot is not None
                else f"{self.token_label!r}"
            )
            if isinstance(exc, p11.exceptions.MultipleTokensReturned):
                raise Pkcs11TokenNotFoundError(
                    f"several tokens are labelled {where}: choose one with slot="
                ) from None
            raise Pkcs11TokenNotFoundError(
                f"no PKCS#11 token {where} in {self.library}; present: "
                f"{labels or 'none'} (SoftHSM2: softhsm2-util --show-slots)"
            ) from None

    def _check_mechanism(self) -> None:
        p11 = self._p11
        try:
            mechanisms = _mechanisms(self._token)
        except p11.exceptions.PKCS11Error:
            return  # cannot list: signing will tell
        if p11.Mechanism.SHA256_RSA_PKCS not in mechanisms:
            raise Pkcs11MechanismError(
                f"token {self._token.label!r} does not offer {MECHANISM} (RS256); "
                "use a token or HSM partition that signs RSA PKCS#1 v1.5 with SHA-256"
            )

    def _log_in(self) -> None:
        p11 = self._p11
        errors = p11.exceptions
        pin = self._pin()
        try:
            self._login = self._token.open(user_pin=pin)
        except errors.UserAlreadyLoggedIn:
            # Another key object of this process logged in to the token: PKCS#11
            # login is per application, so a session without the PIN will do.
            # (python-pkcs11 cannot close the session whose C_Login failed.)
            self._login = self._token.open()
        except (errors.PinIncorrect, errors.PinInvalid, errors.PinLenRange):
            raise Pkcs11PinError(
                f"token {self._token.label!r} refused the PIN (check "
                f"{ENV_PIN} or pin=; HSMs lock the user after a few wrong PINs)"
            ) from None
        except (errors.PinLocked, errors.PinExpired) as exc:
            raise Pkcs11PinError(
                f"the user PIN of token {self._token.label!r} is "
                f"{'locked' if isinstance(exc, errors.PinLocked) else 'expired'}: "
                "the token's security officer must reset it"
            ) from None
        except errors.PKCS11Error as exc:
            raise Pkcs11Error(
                f"cannot log in to token {self._token.label!r}: {type(exc).__name__}"
            ) from None

    def _pooled(self) -> _Pooled:
        """Open a session and find the key in it (library lock held)."""
        p11 = self._p11
        session = self._token.open()
        found = self._search(session, p11.ObjectClass.PRIVATE_KEY, self.key_id)
        if len(found) != 1:
            session.close()
            if not found:
                raise Pkcs11KeyNotFoundError(
                    f"no private key {self._key_name()} on token "
                    f"{self._token.label!r} (list them: pkcs11-tool --list-objects "
                    "--login, or softhsm2-util --show-slots)"
                )
            raise Pkcs11KeyNotFoundError(
                f"several private keys match {self._key_name()} on token "
                f"{self._token.label!r}: give both key_label= and key_id="
            )
        key = found[0]
        return _Pooled(session, key)

    def _search(self, session: Any, kind: Any, key_id: bytes | None) -> list[Any]:
        attribute = self._p11.Attribute
        template: dict[Any, Any] = {attribute.CLASS: kind}
        if self.key_label is not None:
            template[attribute.LABEL] = self.key_label
        if key_id is not None:
            template[attribute.ID] = key_id
        # Drain the search: an unfinished one is finalised at garbage collection,
        # possibly after its session closed.
        return list(session.get_objects(template))

    def _key_name(self) -> str:
        parts = []
        if self.key_label is not None:
            parts.append(f"label {self.key_label!r}")
        if self.key_id is not None:
            parts.append(f"id {self.key_id.hex()}")
        return " and ".join(parts)

    def _read_public_key(self, key: Any) -> rsa.RSAPublicKey:
        p11 = self._p11
        attribute = p11.Attribute
        if key.key_type != p11.KeyType.RSA:
            raise Pkcs11KeyUnsuitableError(
                f"the key {self._key_name()} is {key.key_type.name}, not RSA: "
                "Nuvera signs with RS256 (RSA 2048/3072/4096)"
            )
        try:
            sign = key[attribute.SIGN]
        except p11.exceptions.PKCS11Error:
            sign = True  # not readable: signing will tell
        if not sign:
            raise Pkcs11KeyUnsuitableError(
                f"the key {self._key_name()} may not sign (CKA_SIGN is false)"
            )
        try:
            modulus, exponent = key[attribute.MODULUS], key[attribute.PUBLIC_EXPONENT]
        except p11.exceptions.PKCS11Error:
            modulus, exponent = self._public_object_numbers(key)
        public = rsa.RSAPublicNumbers(
            int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")
        ).public_key()
        if public.key_size < _MIN_BITS:
            raise Pkcs11KeyUnsuitableError(
                f"the key {self._key_name()} has {public.key_size} bits; Nuvera needs "
                "2048, 3072 or 4096: generate a new key on the token"
            )
        try:
            return keys.check_public_key(public)
        except InvalidPrivateKeyError as exc:
            raise Pkcs11KeyUnsuitableError(f"{exc} (key {self._key_name()})") from None

    def _public_object_numbers(self, private: Any) -> tuple[bytes, bytes]:
        p11 = self._p11
        found = self._search(
            self._login,
            p11.ObjectClass.PUBLIC_KEY,
            private.id if self.key_id is None else self.key_id,
        )
        try:
            (public,) = found
            return public[p11.Attribute.MODULUS], public[p11.Attribute.PUBLIC_EXPONENT]
        except (ValueError, p11.exceptions.PKCS11Error):
            raise Pkcs11KeyUnsuitableError(
                f"cannot read the public key of {self._key_name()}: store the public "
                "key object on the token with the same CKA_ID"
            ) from None

    # -- SigningKey ----------------------------------------------------------

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the RSA public key read from the token."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Return the RS256 signature of ``data``, made inside the token.

        Raises:
            Pkcs11Error: the token failed twice (once after re-opening), or the
                key was closed.
            Pkcs11MechanismError: the token refused ``CKM_SHA256_RSA_PKCS``.
        """
        errors = self._p11.exceptions
        for attempt in (1, 2):
            pooled, generation = self._acquire()
            try:
                with self._lock:
                    signature: bytes = pooled.key.sign(
                        data, mechanism=self._p11.Mechanism.SHA256_RSA_PKCS
                    )
            except errors.MechanismInvalid:
                self._release(pooled, generation)
                raise Pkcs11MechanismError(
                    f"token {self._token.label!r} refused {MECHANISM} for "
                    f"{self._key_name()}"
                ) from None
            except errors.PKCS11Error as exc:
                self._discard(generation)
                if attempt == 2 or type(exc).__name__ not in _STALE:
                    raise Pkcs11Error(
                        f"token {self._token.label!r} failed to sign: "
                        f"{type(exc).__name__}"
                    ) from None
                self._reopen(generation)
            else:
                self._release(pooled, generation)
                return signature
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the session pool ----------------------------------------------------

    def _acquire(self) -> tuple[_Pooled, int]:
        with self._pool_lock:
            while True:
                if self._closed:
                    raise Pkcs11Error("this Pkcs11SigningKey is closed")
                if self._idle:
                    return self._idle.pop(), self._generation
                if self._open < self.max_sessions:
                    self._open += 1
                    generation = self._generation
                    break
                self._pool_lock.wait()
        try:
            with self._lock:
                return self._pooled(), generation
        except BaseException:
            with self._pool_lock:
                self._open -= 1
                self._pool_lock.notify()
            raise

    def _release(self, pooled: _Pooled, generation: int) -> None:
        with self._pool_lock:
            if generation == self._generation and not self._closed:
                self._idle.append(pooled)
                self._pool_lock.notify()
                return
        self._close_sessions([pooled])

    def _discard(self, generation: int) -> None:
        with self._pool_lock:
            if generation == self._generation:
                self._open -= 1
                self._pool_lock.notify()

    def _reopen(self, generation: int) -> None:
        """Drop every session and log in again (once per failure generation)."""
        with self._pool_lock:
            if generation != self._generation:
                return  # another thread re-opened meanwhile
            self._generation += 1
            stale, self._idle = self._idle, []
            # Sessions in flight are of the old generation: released, they close.
            self._open = 0
            self._pool_lock.notify_all()
        self._close_sessions(stale)
        with self._lock:
            self._close_sessions([_Pooled(self._login, None)], locked=True)
            try:
                self._token = self._find_token()
            except Pkcs11Error:
                return  # signing again will raise with the token's own error
            self._log_in()

    def _close_sessions(self, pooled: list[_Pooled], *, locked: bool = False) -> None:
        for entry in pooled:
            if entry.session is None:
                continue
            try:
                if locked:
                    entry.session.close()
                else:
                    with self._lock:
                        entry.session.close()
            except self._p11.exceptions.PKCS11Error:
                pass  # already gone with the token

    def close(self) -> None:
        """Close the sessions (which logs out when they were the last ones)."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._pool_lock.notify_all()
        self._close_sessions([*idle, _Pooled(self._login, None)])
        self._login = None

    def __enter__(self) -> Pkcs11SigningKey:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = (
            f"token_label={self.token_label!r}"
            if self.token_label is not None
            else f"slot={self.slot}"
        )
        return f"Pkcs11SigningKey({where}, key={self._key_name()!r})"


def _mechanisms(token: Any) -> set[Any]:
    """Return the mechanisms the token's slot offers (C_GetMechanismList)."""
    return set(token.slot.get_mechanisms())


def _pin_reader(pin: PinSource | None) -> Callable[[], str]:
    """Return a function giving the PIN when asked; it is never stored in clear."""

    def read() -> str:
        value = pin() if callable(pin) else pin
        if value is None:
            value = read_variable(ENV_PIN)
        if not isinstance(value, str) or not value:
            raise Pkcs11PinError(
                f"no PKCS#11 user PIN: pass pin= (a string or a function) or set "
                f"{ENV_PIN}"
            )
        return value

    return read


def _token_labels(lib: Any) -> list[str]:
    try:
        return [slot.get_token().label for slot in lib.get_slots(token_present=True)][
            :10
        ]
    except Exception:  # only to enrich a message
        return []
