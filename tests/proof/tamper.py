"""The tamper corpus: valid SDK-signed requests, changed one way each, sent raw.

Every case starts from a request of :mod:`proof.operations` signed afresh by the
SDK's :class:`~nuvera_client.RequestSigner`, applies one mutation class, and is sent
byte for byte over loopback (``http.client``: the request line and headers exactly
as built, duplicates allowed). The sandbox must refuse each with the exact code the
class predicts (PROTOCOL §3, first failing check wins); ``accepted`` must stay 0.

    python -m proof.tamper --cases 10000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nuvera_client import RequestSigner, keys
from nuvera_client.sandbox import PERMISSIONS, Sandbox
from proof.operations import BOUNDARY, Operation, operations, seed
from proof.servers import running_sandbox


def _pem(app: Any) -> str:
    """The private key the sandbox generated for ``app`` (it always does here)."""
    pem = app.private_key_pem
    assert pem is not None
    return str(pem)


@dataclass(frozen=True)
class Case:
    """One tampered request and the refusal code it must get."""

    mutation: str
    operation: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expected: str


@dataclass
class Tally:
    """What the corpus did: counts per mutation class, and every wrong outcome."""

    tried: int = 0
    accepted: int = 0
    refused_as_expected: int = 0
    wrong: list[dict[str, Any]] = field(default_factory=list)
    per_mutation: Counter[str] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "accepted": self.accepted,
            "refused_as_expected": self.refused_as_expected,
            "refused_otherwise": len(self.wrong) - self.accepted,
            "mutation_classes": dict(sorted(self.per_mutation.items())),
            "operations": len(self.per_operation),
            "wrong": self.wrong[:20],
            "seconds": round(self.seconds, 1),
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jcs(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class World:
    """A loopback sandbox with the applications the mutation classes need."""

    def __init__(self, sandbox: Sandbox, base_url: str, app: Any) -> None:
        self.sandbox = sandbox
        self.base_url = base_url
        self.app = app
        self.key = keys.load_private_key(app.private_key_pem)
        self.signer = RequestSigner(_pem(app))
        self.kid = keys.kid_of(self.key.public_key())
        self.ids = seed(base_url, app.api_key, app.private_key_pem)
        self.ops = operations(self.ids)
        # Another application, all permissions: its key, its kid.
        other = sandbox.create_application(name="other", permissions=list(PERMISSIONS))
        self.other_api_key = other.api_key
        self.other_signer = RequestSigner(_pem(other))
        # One granted only CRYPTO_READ, on the same signing key as nobody else.
        narrow = sandbox.create_application(name="narrow", permissions=["CRYPTO_READ"])
        self.narrow_api_key = narrow.api_key
        self.narrow_signer = RequestSigner(_pem(narrow))
        # A revoked key, a rotated-out key (grace 0), a disabled application.
        revoked = sandbox.create_application(
            name="revoked", permissions=["CRYPTO_READ"]
        )
        sandbox.revoke_api_key(revoked.id, revoked.api_key[:13])
        self.revoked = (revoked.api_key, RequestSigner(_pem(revoked)))
        rotated = sandbox.create_application(
            name="rotated", permissions=["CRYPTO_READ"]
        )
        sandbox.rotate_api_key(rotated.id, grace_period=0)
        self.rotated = (rotated.api_key, RequestSigner(_pem(rotated)))
        disabled = sandbox.create_application(name="off", permissions=list(PERMISSIONS))
        sandbox.disable_application(disabled.id)
        self.disabled = (disabled.api_key, RequestSigner(_pem(disabled)))
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None

    # -- building ---------------------------------------------------------------

    def headers(
        self,
        op: Operation,
        token: str,
        *,
        api_key: str | None = None,
        content_type: str | None = None,
    ) -> tuple[tuple[str, str], ...]:
        out = [
            ("x-api-key", self.app.api_key if api_key is None else api_key),
            ("authorization", "Bearer " + token),
        ]
        ctype = content_type or op.content_type
        if ctype:
            out.append(("content-type", ctype))
        return (*out, *op.headers)

    def token(self, op: Operation, signer: RequestSigner | None = None) -> str:
        return (signer or self.signer).sign(op.method, op.target, op.body)

    def crafted(
        self,
        op: Operation,
        *,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        key: rsa.RSAPrivateKey | None = None,
        hs256_secret: bytes | None = None,
        unsigned: bool = False,
    ) -> str:
        """A token made by hand (for what the SDK refuses to make)."""
        head = {"alg": "RS256", "kid": self.kid, "typ": "JWT", **(header or {})}
        body = self.signer.claims(op.method, op.target, op.body)
        body.update(claims or {})
        signing_input = (_b64(_jcs(head)) + "." + _b64(_jcs(body))).encode()
        if unsigned:
            signature = b""
        elif hs256_secret is not None:
            signature = hmac.new(hs256_secret, signing_input, hashlib.sha256).digest()
        else:
            signature = (key or self.key).sign(
                signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        return signing_input.decode() + "." + _b64(signature)

    # -- sending ----------------------------------------------------------------

    def send(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, str]:
        """Send exactly these bytes; return (status, error code or "")."""
        for attempt in range(2):
            conn = self._conn or http.client.HTTPConnection(
                self.host, self.port, timeout=30
            )
            self._conn = conn
            try:
                conn.putrequest(
                    method, target, skip_host=False, skip_accept_encoding=True
                )
                for name, value in headers:
                    conn.putheader(name, value)
                conn.putheader("content-length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    self._conn = None
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self._conn = None
                if attempt:
                    raise
        try:
            code = json.loads(data)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = ""
        return response.status, str(code)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _swap_char(ch: str) -> str:
    if ch.isdigit():
        return str((int(ch) + 1) % 10)
    if ch.isalpha() and ch.isascii():
        return ch.swapcase()
    return "x"


def _expected_mismatch(a: Operation, b: Operation) -> str | None:
    if a.method != b.method:
        return "method_mismatch"
    if a.target != b.target:
        return "uri_mismatch"
    if a.body != b.body:
        return "body_hash_mismatch"
    return None


def cases(world: World, rng: random.Random) -> Iterator[Case]:
    """Yield every case of every mutation class once, over all 28 operations."""
    ops = world.ops

    def case(mutation: str, op: Operation, expected: str, **kw: Any) -> Case:
        method = kw.pop("method", op.method)
        target = kw.pop("target", op.target)
        body = kw.pop("body", op.body)
        token = kw.pop("token", None) or world.token(op)
        headers = kw.pop("headers", None) or world.headers(op, token, **kw)
        return Case(mutation, op.name, method, target, headers, body, expected)

    for op in ops:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method != op.method:
                yield case("method", op, "method_mismatch", method=method)
        for index in range(1, len(op.target)):
            target = (
                op.target[:index]
                + _swap_char(op.target[index])
                + op.target[index + 1 :]
            )
            if target != op.target:
                yield case("target_byte", op, "uri_mismatch", target=target)
        yield case("target_truncated", op, "uri_mismatch", target=op.target[:-1])
        yield case("target_extended", op, "uri_mismatch", target=op.target + "x")
        sep = "&" if "?" in op.target else "?"
        yield case("query_added", op, "uri_mismatch", target=op.target + sep + "x=1")
        if "?" in op.target:
            path, query = op.target.split("?", 1)
            params = query.split("&")
            for drop in range(len(params)):
                rest = "&".join(p for i, p in enumerate(params) if i != drop)
                yield case(
                    "query_removed",
                    op,
                    "uri_mismatch",
                    target=path + ("?" + rest if rest else ""),
                )
        # Percent-encoding: one character written %XX (upper- and lowercase hex).
        for index in range(1, len(op.target)):
            ch = op.target[index]
            if ch.isalpha() and ch.isascii():
                encoded = f"%{ord(ch):02X}"
                for form in {encoded, encoded.lower()}:
                    target = op.target[:index] + form + op.target[index + 1 :]
                    yield case("percent_encoding", op, "uri_mismatch", target=target)
                break
        # Body bytes: each byte changed, plus truncated and extended bodies.
        for index in range(len(op.body)):
            flipped = bytearray(op.body)
            flipped[index] ^= 0x01
            yield case("body_byte", op, "body_hash_mismatch", body=bytes(flipped))
        if op.body:
            yield case("body_truncated", op, "body_hash_mismatch", body=op.body[:-1])
            yield case("body_emptied", op, "body_hash_mismatch", body=b"")
        yield case("body_extended", op, "body_hash_mismatch", body=op.body + b" ")
        if op.is_multipart:
            other = "z" * len(BOUNDARY)
            yield case(
                "multipart_boundary",
                op,
                "body_hash_mismatch",
                body=op.body.replace(BOUNDARY.encode(), other.encode()),
                content_type=f"multipart/form-data; boundary={other}",
            )
            parts = op.body.split(f"--{BOUNDARY}".encode())
            inner = parts[1:-1]
            if len(inner) >= 2:
                swapped = [parts[0], *reversed(inner), parts[-1]]
                yield case(
                    "multipart_part_swap",
                    op,
                    "body_hash_mismatch",
                    body=f"--{BOUNDARY}".encode().join(swapped),
                )
        # Header swaps: this request carrying another operation's token.
        partner = ops[(ops.index(op) + 1 + rng.randrange(len(ops) - 1)) % len(ops)]
        expected = _expected_mismatch(op, partner)
        if expected:
            yield case("header_swap", op, expected, token=world.token(partner))
        # Clock and lifetime.
        now = world.signer.now()
        yield case(
            "expired",
            op,
            "token_expired",
            token=world.crafted(op, claims={"iat": now - 100, "exp": now - 70}),
        )
        yield case(
            "future_iat",
            op,
            "token_not_yet_valid",
            token=world.crafted(op, claims={"iat": now + 100, "exp": now + 130}),
        )
        yield case(
            "lifetime_61",
            op,
            "invalid_lifetime",
            token=world.crafted(op, claims={"iat": now, "exp": now + 61}),
        )
        # Algorithms and keys.
        yield case(
            "alg_none",
            op,
            "unsupported_algorithm",
            token=world.crafted(op, header={"alg": "none"}, unsigned=True),
        )
        yield case(
            "hs256_public_key",
            op,
            "unsupported_algorithm",
            token=world.crafted(
                op,
                header={"alg": "HS256"},
                hs256_secret=world.signer.public_key_pem().encode(),
            ),
        )
        yield case(
            "kid_unknown",
            op,
            "unknown_signing_key",
            token=world.crafted(
                op,
                header={"kid": keys.kid_of(world.stranger.public_key())},
                key=world.stranger,
            ),
        )
        yield case(
            "kid_foreign",
            op,
            "unknown_signing_key",
            token=world.token(op, world.other_signer),
        )
        yield case(
            "other_api_key", op, "unknown_signing_key", api_key=world.other_api_key
        )
        signature_at = world.token(op).rindex(".") + 1
        token = world.token(op)
        index = rng.randrange(signature_at, len(token) - 1)
        flipped_token = token[:index] + _swap_char(token[index]) + token[index + 1 :]
        if flipped_token != token:
            yield case("signature_byte", op, "invalid_signature", token=flipped_token)
        for name, (api_key, signer) in (
            ("revoked_key", world.revoked),
            ("rotated_out_key", world.rotated),
        ):
            yield case(
                name,
                op,
                "api_key_revoked",
                api_key=api_key,
                token=world.token(op, signer),
            )
        api_key, signer = world.disabled
        yield case(
            "disabled_application",
            op,
            "application_disabled",
            api_key=api_key,
            token=world.token(op, signer),
        )
        if op.permission != "CRYPTO_READ":
            yield case(
                "permission_outside_grant",
                op,
                "permission_denied",
                api_key=world.narrow_api_key,
                token=world.token(op, world.narrow_signer),
            )


def run_cases(world: World, limit: int, seed_value: int = 17) -> Tally:
    """Send ``limit`` cases: whole rounds of the corpus, the last one cut short."""
    rng = random.Random(seed_value)
    tally = Tally()
    started = time.monotonic()
    sample = limit < 0
    budget = abs(limit)
    while tally.tried < budget:
        round_cases = list(cases(world, rng))
        if sample:
            rng.shuffle(round_cases)
            # Keep every class: the first case of each, then a random rest.
            seen: set[str] = set()
            firsts = []
            for case in round_cases:
                if case.mutation not in seen:
                    seen.add(case.mutation)
                    firsts.append(case)
            round_cases = firsts + [c for c in round_cases if c not in firsts]
        # Replay: a request sent twice, the second time refused.
        for op in world.ops:
            token = world.token(op)
            headers = world.headers(op, token)
            world.send(op.method, op.target, headers, op.body)
            round_cases.insert(
                0,
                Case(
                    "replay",
                    op.name,
                    op.method,
                    op.target,
                    headers,
                    op.body,
                    "replayed_jti",
                ),
            )
        for item in round_cases:
            if tally.tried >= budget:
                break
            status, code = world.send(item.method, item.target, item.headers, item.body)
            tally.tried += 1
            tally.per_mutation[item.mutation] += 1
            tally.per_operation[item.operation] += 1
            if status < 400:
                tally.accepted += 1
            if code == item.expected and status >= 400:
                tally.refused_as_expected += 1
            else:
                tally.wrong.append(
                    {
                        "mutation": item.mutation,
                        "operation": item.operation,
                        "method": item.method,
                        "target": item.target,
                        "expected": item.expected,
                        "status": status,
                        "code": code,
                    }
                )
        if sample:
            break
    tally.seconds = time.monotonic() - started
    return tally


def controls(world: World) -> dict[str, int]:
    """Send each valid request once: the untampered baseline must be served."""
    served: dict[str, int] = {}
    for op in world.ops:
        status, _ = world.send(
            op.method, op.target, world.headers(op, world.token(op)), op.body
        )
        served[op.name] = status
    return served


def run(limit: int) -> dict[str, Any]:
    """Start a sandbox, check the 28 controls, run ``limit`` cases (<0: a sample)."""
    with running_sandbox() as env:
        world = World(env.sandbox, env.base_url, env.app)
        try:
            served = controls(world)
            tally = run_cases(world, limit)
        finally:
            world.close()
    result = tally.as_dict()
    # A control passed verification when it is not refused 401/403 (a payment the
    # sandbox already moved on may answer 409 invalid_state to its cancel).
    result["controls_served"] = sum(1 for s in served.values() if s not in (401, 403))
    result["controls"] = served
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args(argv)
    result = run(args.cases)
    print(json.dumps(result, indent=2))
    ok = result["accepted"] == 0 and result["refused_as_expected"] == result["tried"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
