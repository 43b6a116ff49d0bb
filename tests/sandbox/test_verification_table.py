"""Every refusal of PROTOCOL §3 and §3.1, each with a request built to fail exactly it.

The same table runs in-process (sync transport) and over real loopback uvicorn.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import MISSING, b64, canonical, claims, kid_of, mint, public_pem
from sandbox_support import (
    ALL_PERMISSIONS,
    Caller,
    Clock,
    make_sandbox,
    release_keys,
)

from nuvera_client.sandbox import Sandbox

TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "idempotency_error",
    413: "invalid_request_error",
    422: "validation_error",
    429: "rate_limit_error",
}
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def api_key(env: str, random: str) -> str:
    """Build a well-formed key (independent of the sandbox's own code)."""
    body = f"nvk_{env}_{random}"
    crc = zlib.crc32(body.encode())
    digits = ""
    while crc:
        crc, rem = divmod(crc, 62)
        digits = ALPHABET[rem] + digits
    return body + digits.rjust(6, "0")


@dataclass
class Env:
    c: Caller
    key2: rsa.RSAPrivateKey

    @property
    def sb(self) -> Sandbox:
        return self.c.sandbox

    def now(self) -> int:
        return self.c.now()


Builder = Callable[[Env], httpx.Response]
Details = dict[str, Any] | Callable[[Env], dict[str, Any]]
CASES: list[tuple[str, Builder, int, str, Details]] = []


def case(name: str, status: int, code: str, details: Details | None = None):
    def register(fn: Builder) -> Builder:
        CASES.append((name, fn, status, code, {} if details is None else details))
        return fn

    return register


GET = ("GET", "/v1/customers")


def bearer(env: Env, token: str, api_key_value: str | None = None) -> httpx.Response:
    return env.c.send(*GET, token=token, api_key=api_key_value)


def with_payload(env: Env, raw_payload: bytes, **header: Any) -> httpx.Response:
    token = mint(env.c.key, kid=env.c.kid, raw_payload=raw_payload, header=header)
    return bearer(env, token)


def good_claims(env: Env, **overrides: Any) -> dict[str, Any]:
    return claims(*GET, now=env.now(), **overrides)


# -- 1-4: the API key and the application --------------------------------------


@case("missing_api_key_absent", 401, "missing_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.raw(*GET, [("authorization", "Bearer " + env.c.token(*GET))])


@case("missing_api_key_empty", 401, "missing_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, api_key="")


@case("invalid_api_key_two_headers", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, extra=[("x-api-key", env.c.app.api_key)])


@case("invalid_api_key_bad_checksum", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    key = env.c.app.api_key
    return env.c.send(*GET, api_key=key[:-1] + ("A" if key[-1] != "A" else "B"))


@case("invalid_api_key_truncated", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, api_key=env.c.app.api_key[:-1])


@case("invalid_api_key_bad_prefix", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, api_key="nvk_prod_" + env.c.app.api_key[9:])


@case("invalid_api_key_unknown", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, api_key=api_key("test", "Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae"))


@case("invalid_api_key_unknown_live", 401, "invalid_api_key")
def _(env: Env) -> httpx.Response:
    return env.c.send(*GET, api_key=api_key("live", "Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae"))


@case("api_key_revoked", 401, "api_key_revoked")
def _(env: Env) -> httpx.Response:
    env.sb.rotate_api_key(env.c.app.id)
    env.sb.revoke_api_key(env.c.app.id, env.c.app.api_key[:13])
    return env.c.send(*GET)


@case("api_key_revoked_grace_over", 401, "api_key_revoked")
def _(env: Env) -> httpx.Response:
    env.sb.rotate_api_key(env.c.app.id, grace_period=60)
    env.c.clock.t += 60  # now >= expires_at
    return env.c.send(*GET)


@case("application_disabled", 403, "application_disabled")
def _(env: Env) -> httpx.Response:
    env.sb.disable_application(env.c.app.id)
    return env.c.send(*GET)


# -- 5-6: the bearer token's shape ---------------------------------------------


@case("missing_signature_absent", 401, "missing_signature")
def _(env: Env) -> httpx.Response:
    return env.c.raw(*GET, [("x-api-key", env.c.app.api_key)])


@case("missing_signature_bearer_without_token", 401, "missing_signature")
def _(env: Env) -> httpx.Response:
    return env.c.raw(
        *GET, [("x-api-key", env.c.app.api_key), ("authorization", "Bearer")]
    )


@case("missing_signature_other_scheme", 401, "missing_signature")
def _(env: Env) -> httpx.Response:
    token = env.c.token(*GET)
    return env.c.raw(
        *GET, [("x-api-key", env.c.app.api_key), ("authorization", "Basic " + token)]
    )


def _malformed(name: str, make: Callable[[Env], str]) -> None:
    case(name, 401, "malformed_token")(lambda env: bearer(env, make(env)))


_malformed(
    "malformed_two_parts", lambda env: ".".join(env.c.token(*GET).split(".")[:2])
)
_malformed("malformed_four_parts", lambda env: env.c.token(*GET) + ".e30")
_malformed("malformed_not_base64", lambda env: "not a token at all")


def _padded_segment(token: str, index: int) -> str:
    parts = token.split(".")
    parts[index] += "=" * (-len(parts[index]) % 4 or 4)
    return ".".join(parts)


_malformed(
    "malformed_padded_payload", lambda env: _padded_segment(env.c.token(*GET), 1)
)
_malformed(
    "malformed_padded_signature", lambda env: _padded_segment(env.c.token(*GET), 2)
)
_malformed(
    "malformed_signature_bad_char",
    lambda env: env.c.token(*GET)[:-5] + "+" + env.c.token(*GET)[-4:],
)


def _noncanonical_tail(token: str) -> str:
    # A 256-byte signature is 342 chars; the last one carries 4 unused bits.
    head, payload, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(sig[-1]) | 1
    return f"{head}.{payload}.{sig[:-1]}{alphabet[value]}"


_malformed(
    "malformed_signature_nonzero_pad_bits",
    lambda env: _noncanonical_tail(env.c.token(*GET)),
)
_malformed(
    "malformed_header_not_json",
    lambda env: mint(env.c.key, kid=None, raw_header=b"{alg", payload=good_claims(env)),
)
_malformed(
    "malformed_header_array",
    lambda env: mint(env.c.key, kid=None, raw_header=b"[]", payload=good_claims(env)),
)
_malformed(
    "malformed_payload_array",
    lambda env: mint(env.c.key, kid=env.c.kid, raw_payload=b'["nuvera-api"]'),
)
_malformed(
    "malformed_payload_not_utf8",
    lambda env: mint(env.c.key, kid=env.c.kid, raw_payload=b'{"iss":"\xff"}'),
)
_malformed(
    "malformed_duplicate_header_member",
    lambda env: mint(
        env.c.key,
        kid=None,
        raw_header=(
            b'{"alg":"RS256","kid":"' + env.c.kid.encode() + b'","alg":"RS256"}'
        ),
        payload=good_claims(env),
    ),
)
_malformed(
    "malformed_duplicate_claim",
    lambda env: mint(
        env.c.key,
        kid=env.c.kid,
        raw_payload=canonical(good_claims(env))[:-1] + b',"iss":"nuvera-api"}',
    ),
)
_malformed(
    "malformed_typ_not_jwt",
    lambda env: mint(
        env.c.key, kid=env.c.kid, payload=good_claims(env), header={"typ": "jwt"}
    ),
)
_malformed(
    "malformed_crit",
    lambda env: mint(
        env.c.key, kid=env.c.kid, payload=good_claims(env), header={"crit": ["exp"]}
    ),
)
_malformed(
    "malformed_nan_claim",
    lambda env: mint(
        env.c.key,
        kid=env.c.kid,
        raw_payload=canonical(good_claims(env))[:-1] + b',"x":NaN}',
    ),
)

# -- 7-9: algorithm, key, signature --------------------------------------------


def _alg(name: str, alg: Any) -> None:
    case(name, 401, "unsupported_algorithm")(
        lambda env: bearer(
            env,
            mint(
                env.c.key, kid=env.c.kid, payload=good_claims(env), header={"alg": alg}
            ),
        )
    )


_alg("unsupported_algorithm_none", "none")
_alg("unsupported_algorithm_hs256", "HS256")
_alg("unsupported_algorithm_lowercase", "rs256")
_alg("unsupported_algorithm_missing", MISSING)


@case("unsupported_algorithm_none_empty_signature", 401, "unsupported_algorithm")
def _(env: Env) -> httpx.Response:
    head = b64(b'{"alg":"none","kid":"' + env.c.kid.encode() + b'"}')
    return bearer(env, f"{head}.{b64(canonical(good_claims(env)))}.")


def _kid(
    name: str, kid: Callable[[Env], Any], setup: Callable[[Env], object] | None = None
) -> None:
    def build(env: Env) -> httpx.Response:
        if setup:
            setup(env)
        token = mint(
            env.c.key, kid=None, payload=good_claims(env), header={"kid": kid(env)}
        )
        return bearer(env, token)

    case(name, 401, "unknown_signing_key")(build)


_kid("unknown_signing_key_missing", lambda env: MISSING)
_kid("unknown_signing_key_unknown", lambda env: kid_of(env.key2.public_key()))
_kid("unknown_signing_key_not_a_string", lambda env: 7)
_kid("unknown_signing_key_lone_surrogate", lambda env: "\ud800")
_kid(
    "unknown_signing_key_of_another_application",
    lambda env: kid_of(env.key2.public_key()),
    lambda env: (
        env.sb.create_application(
            name="other",
            permissions=["CUSTOMERS_READ"],
            public_key_pem=public_pem(env.key2),
        )
        and None
    ),
)


@case("unknown_signing_key_removed", 401, "unknown_signing_key")
def _(env: Env) -> httpx.Response:
    env.sb.add_signing_key(env.c.app.id, public_pem(env.key2))
    env.sb.remove_signing_key(env.c.app.id, env.c.kid)
    return env.c.send(*GET)


@case("invalid_signature_other_key", 401, "invalid_signature")
def _(env: Env) -> httpx.Response:
    return bearer(env, mint(env.key2, kid=env.c.kid, payload=good_claims(env)))


@case("invalid_signature_tampered_payload", 401, "invalid_signature")
def _(env: Env) -> httpx.Response:
    head, _, sig = env.c.token(*GET).split(".")
    forged = b64(canonical(good_claims(env)))  # another jti: not what was signed
    return bearer(env, f"{head}.{forged}.{sig}")


# -- 10-14: claims -------------------------------------------------------------


def _claim(
    name: str, code: str, details: Details | None = None, **overrides: Any
) -> None:
    case(name, 401, code, details)(
        lambda env: bearer(env, env.c.token(*GET, **overrides))
    )


_claim("invalid_issuer_wrong", "invalid_issuer", iss="nuvera")
_claim("invalid_issuer_missing", "invalid_issuer", iss=MISSING)
_claim("invalid_audience_wrong", "invalid_audience", aud="nuvera-api")
_claim("invalid_audience_array", "invalid_audience", aud=["nuvera-rest-api"])
_claim("invalid_audience_missing", "invalid_audience", aud=MISSING)
_claim("malformed_iat_bool", "malformed_token", iat=True)
_claim("malformed_iat_string", "malformed_token", iat="1800000000")
_claim("malformed_jti_short", "malformed_token", jti="a" * 15)
_claim("malformed_jti_long", "malformed_token", jti="a" * 129)
_claim("malformed_jti_bad_char", "malformed_token", jti="abcdefghijklmnop.q")
_claim("malformed_jti_missing", "malformed_token", jti=MISSING)
_claim("malformed_jti_lone_surrogate", "malformed_token", jti="\ud800" * 16)
_claim("malformed_method_lowercase", "malformed_token", method="get")
_claim("malformed_method_missing", "malformed_token", method=MISSING)
_claim("malformed_uri_relative", "malformed_token", uri="v1/customers")
_claim(
    "uri_mismatch_lone_surrogate",
    "uri_mismatch",
    {"expected": "/v1/customers", "received": "/v1/\ud800"},
    uri="/v1/\ud800",
)
_claim("malformed_uri_not_string", "malformed_token", uri=["/v1/customers"])
_claim("malformed_body_hash_upper", "malformed_token", body_hash="E3B0" + "0" * 60)
_claim("malformed_body_hash_short", "malformed_token", body_hash="e3b0")
_claim("invalid_lifetime_zero", "invalid_lifetime", ttl=0)
_claim("invalid_lifetime_negative", "invalid_lifetime", ttl=-5)
_claim("invalid_lifetime_61", "invalid_lifetime", ttl=61)


def _number_case(name: str, claim: str, spelled: Callable[[int], str]) -> None:
    def build(env: Env) -> httpx.Response:
        doc = good_claims(env)
        text = canonical(doc).decode()
        text = text.replace(
            f'"{claim}":{doc[claim]}', f'"{claim}":{spelled(doc[claim])}'
        )
        return with_payload(env, text.encode())

    case(name, 401, "malformed_token")(build)


_number_case("malformed_iat_fraction", "iat", lambda v: f"{v}.0")
_number_case("malformed_exp_exponent", "exp", lambda v: f"{v / 10:.0f}e1")
_number_case("malformed_exp_float", "exp", lambda v: f"{v}.5")


def _now(env: Env) -> dict[str, Any]:
    return {"server_time": env.now()}


@case("token_not_yet_valid", 401, "token_not_yet_valid", _now)
def _(env: Env) -> httpx.Response:
    return bearer(env, env.c.token(*GET, iat=env.now() + 11, exp=env.now() + 41))


@case("token_expired", 401, "token_expired", _now)
def _(env: Env) -> httpx.Response:
    return bearer(env, env.c.token(*GET, iat=env.now() - 41, exp=env.now() - 11))


# -- 15-18: replay and binding to the request ----------------------------------


@case("replayed_jti", 401, "replayed_jti")
def _(env: Env) -> httpx.Response:
    token = env.c.token(*GET)
    assert bearer(env, token).status_code == 200
    return bearer(env, token)


@case("replayed_jti_recorded_after_signature", 401, "replayed_jti")
def _(env: Env) -> httpx.Response:
    first = bearer(env, env.c.token(*GET, iss="wrong", jti="j" * 32))
    assert first.json()["error"]["code"] == "invalid_issuer"
    return bearer(env, env.c.token(*GET, jti="j" * 32))


@case(
    "method_mismatch",
    401,
    "method_mismatch",
    {"expected": "GET", "received": "POST"},
)
def _(env: Env) -> httpx.Response:
    return bearer(env, env.c.token("POST", "/v1/customers"))


@case(
    "uri_mismatch_decoded",
    401,
    "uri_mismatch",
    {
        "expected": "/v1/customers?email=a%40b.com",
        "received": "/v1/customers?email=a@b.com",
    },
)
def _(env: Env) -> httpx.Response:
    token = env.c.token("GET", "/v1/customers?email=a@b.com")
    return env.c.send("GET", "/v1/customers?email=a%40b.com", token=token)


@case(
    "uri_mismatch_hex_case",
    401,
    "uri_mismatch",
    {
        "expected": "/v1/customers?email=a%40b.com",
        "received": "/v1/customers?email=a%40B.com",
    },
)
def _(env: Env) -> httpx.Response:
    token = env.c.token("GET", "/v1/customers?email=a%40B.com")
    return env.c.send("GET", "/v1/customers?email=a%40b.com", token=token)


@case(
    "uri_mismatch_query_order",
    401,
    "uri_mismatch",
    {"expected": "/v1/customers?b=2&a=1", "received": "/v1/customers?a=1&b=2"},
)
def _(env: Env) -> httpx.Response:
    token = env.c.token("GET", "/v1/customers?a=1&b=2")
    return env.c.send("GET", "/v1/customers?b=2&a=1", token=token)


BODY = b'{"name":"Ada"}'


@case(
    "body_hash_mismatch",
    401,
    "body_hash_mismatch",
    {
        "expected": hashlib.sha256(BODY).hexdigest(),
        "received": hashlib.sha256(b"{}").hexdigest(),
        "body_length": len(BODY),
    },
)
def _(env: Env) -> httpx.Response:
    token = env.c.token("POST", "/v1/customers", b"{}")
    return env.c.send("POST", "/v1/customers", BODY, token=token)


# -- after 1-18: routing, then 19 ------------------------------------------------


@case("not_found", 404, "not_found")
def _(env: Env) -> httpx.Response:
    return env.c.send("GET", "/v1/nothing")


@case(
    "method_not_allowed",
    405,
    "method_not_allowed",
    {"allowed_methods": ["GET", "POST"]},
)
def _(env: Env) -> httpx.Response:
    return env.c.send("DELETE", "/v1/customers")


@case(
    "permission_denied",
    403,
    "permission_denied",
    {"required_permission": "CUSTOMERS_WRITE"},
)
def _(env: Env) -> httpx.Response:
    env.sb.set_permissions(env.c.app.id, ["CUSTOMERS_READ"])
    return env.c.send("POST", "/v1/customers", b"{}")


@case("not_found_before_permission", 404, "not_found")
def _(env: Env) -> httpx.Response:
    env.sb.set_permissions(env.c.app.id, [])
    return env.c.send("GET", "/v1/customers/abc/extra")


# -- idempotency (POST only, after 19) ----------------------------------------


def _idem(name: str, status: int, code: str, *values: str) -> None:
    if not values:
        why = "required on POST /v1/payments"
    elif len(values) > 1:
        why = "send it once"
    else:
        why = "1-255 printable ASCII characters (0x21-0x7E)"
    case(name, status, code, {"fields": {"Idempotency-Key": why}})(
        lambda env: env.c.send(
            "POST",
            "/v1/payments",
            b"{}",
            extra=[("idempotency-key", v) for v in values],
        )
    )


_idem("idempotency_key_required", 422, "idempotency_key_required")
_idem("invalid_idempotency_key_empty", 422, "invalid_idempotency_key", "")
_idem("invalid_idempotency_key_long", 422, "invalid_idempotency_key", "k" * 256)
_idem("invalid_idempotency_key_space", 422, "invalid_idempotency_key", "a b")
_idem("invalid_idempotency_key_two", 422, "invalid_idempotency_key", "a", "b")


@case("idempotency_conflict_body", 409, "idempotency_conflict")
def _(env: Env) -> httpx.Response:
    key = [("idempotency-key", "pay-1")]
    assert env.c.send("POST", "/v1/payments", b"{}", extra=key).status_code == 201
    return env.c.send("POST", "/v1/payments", b'{"a":1}', extra=key)


@case("idempotency_conflict_uri", 409, "idempotency_conflict")
def _(env: Env) -> httpx.Response:
    key = [("idempotency-key", "pay-1")]
    assert env.c.send("POST", "/v1/payments", b"{}", extra=key).status_code == 201
    return env.c.send("POST", "/v1/payments?x=1", b"{}", extra=key)


@case("idempotency_in_progress", 409, "idempotency_in_progress")
def _(env: Env) -> httpx.Response:
    with env.sb.store.transaction() as db:
        db.execute(
            "INSERT INTO idempotency (application_id, key, method, uri, body_hash,"
            " state, created_at, expires_at) VALUES (?, 'k1', 'POST', '/v1/payments',"
            " ?, 'pending', ?, ?)",
            (
                env.c.app.id,
                hashlib.sha256(b"{}").hexdigest(),
                env.now(),
                env.now() + 99,
            ),
        )
    return env.c.send("POST", "/v1/payments", b"{}", extra=[("idempotency-key", "k1")])


# -- precedence: the first failing check wins ---------------------------------


@case("first_wins_revoked_before_disabled", 401, "api_key_revoked")
def _(env: Env) -> httpx.Response:
    env.sb.rotate_api_key(env.c.app.id, grace_period=0)
    env.sb.disable_application(env.c.app.id)
    return env.c.send(*GET)


@case("first_wins_disabled_before_missing_signature", 403, "application_disabled")
def _(env: Env) -> httpx.Response:
    env.sb.disable_application(env.c.app.id)
    return env.c.raw(*GET, [("x-api-key", env.c.app.api_key)])


@case("first_wins_malformed_before_algorithm", 401, "malformed_token")
def _(env: Env) -> httpx.Response:
    token = mint(
        env.c.key,
        kid=env.c.kid,
        payload=good_claims(env),
        header={"alg": "none", "crit": []},
    )
    return bearer(env, token)


@case("first_wins_unknown_kid_before_signature", 401, "unknown_signing_key")
def _(env: Env) -> httpx.Response:
    kid = kid_of(env.key2.public_key())
    return bearer(env, mint(env.c.key, kid=kid, payload=good_claims(env)))


@case("first_wins_issuer_before_expiry", 401, "invalid_issuer")
def _(env: Env) -> httpx.Response:
    now = env.now()
    return bearer(env, env.c.token(*GET, iss="x", iat=now - 100, exp=now - 70))


@case("first_wins_expiry_before_replay", 401, "token_expired", _now)
def _(env: Env) -> httpx.Response:
    token = env.c.token(*GET, ttl=5)
    assert bearer(env, token).status_code == 200
    env.c.clock.t += 16
    return bearer(env, token)


@case(
    "first_wins_method_before_uri",
    401,
    "method_mismatch",
    {"expected": "GET", "received": "PUT"},
)
def _(env: Env) -> httpx.Response:
    return bearer(env, env.c.token("PUT", "/v1/elsewhere"))


@case(
    "first_wins_405_before_permission",
    405,
    "method_not_allowed",
    {"allowed_methods": ["GET", "POST"]},
)
def _(env: Env) -> httpx.Response:
    env.sb.set_permissions(env.c.app.id, [])
    return env.c.send("PATCH", "/v1/customers", b"{}")


@case(
    "first_wins_permission_before_idempotency",
    403,
    "permission_denied",
    {"required_permission": "PAYMENTS_WRITE"},
)
def _(env: Env) -> httpx.Response:
    env.sb.set_permissions(env.c.app.id, ["CUSTOMERS_READ"])
    return env.c.send("POST", "/v1/payments", b"{}")


# -- the table, in-process and over loopback -----------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, Clock, str]]:
    clock = Clock()
    sb = make_sandbox(clock)
    with sb.serve() as server:
        yield sb, clock, server.base_url
    sb.close()


@pytest.fixture(params=["in-process", "loopback"])
def env(
    request: pytest.FixtureRequest,
    rsa_key: rsa.RSAPrivateKey,
    rsa_key_2: rsa.RSAPrivateKey,
) -> Iterator[Env]:
    if request.param == "in-process":
        clock = Clock()
        sb = make_sandbox(clock)
        client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    else:
        sb, clock, base_url = request.getfixturevalue("served")
        clock.t = Clock().t
        client = httpx.Client(base_url=base_url)
        release_keys(sb, rsa_key, rsa_key_2)
    app = sb.create_application(
        name="svc", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with client:
        yield Env(Caller(sb, clock, client, app, rsa_key), rsa_key_2)
    if request.param == "in-process":
        sb.close()


@pytest.mark.parametrize(
    ("build", "status", "code", "details"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_refusal(
    env: Env, build: Builder, status: int, code: str, details: Details
) -> None:
    response = build(env)
    expected = details(env) if callable(details) else details
    body = response.json()
    assert (response.status_code, body["error"]["code"]) == (status, code), body
    assert body["error"]["type"] == TYPES[status]
    assert body["error"]["details"] == expected
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert body["error"]["request_id"].startswith("req_")
    assert "date" in response.headers
    assert env.c.app.api_key not in response.text
    if status == 405:
        assert response.headers["allow"] == ", ".join(expected["allowed_methods"])


def test_table_covers_every_code() -> None:
    codes = {c[3] for c in CASES}
    assert codes >= {
        "missing_api_key",
        "invalid_api_key",
        "api_key_revoked",
        "application_disabled",
        "missing_signature",
        "malformed_token",
        "unsupported_algorithm",
        "unknown_signing_key",
        "invalid_signature",
        "invalid_issuer",
        "invalid_audience",
        "invalid_lifetime",
        "token_not_yet_valid",
        "token_expired",
        "replayed_jti",
        "method_mismatch",
        "uri_mismatch",
        "body_hash_mismatch",
        "permission_denied",
        "not_found",
        "method_not_allowed",
        "idempotency_key_required",
        "invalid_idempotency_key",
        "idempotency_conflict",
        "idempotency_in_progress",
    }
