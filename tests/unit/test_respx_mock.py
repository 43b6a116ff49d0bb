"""``NuveraMock`` / ``nuvera_respx``: operations by name, every request checked (§3)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nuvera_client import AsyncNuveraClient, NuveraClient, keys
from nuvera_client._contract_check import thumbprint
from nuvera_client._respx import OPERATIONS, ContractViolation, NuveraMock
from nuvera_client.errors import (
    AuthenticationError,
    PermissionDeniedError,
    SignatureMismatchError,
)

BASE = "https://api.sandbox.nuvera.com"
pytest.importorskip("respx")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(
    key: rsa.RSAPrivateKey, method: str, uri: str, body: bytes = b"", **over: object
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "nuvera-api",
        "aud": "nuvera-rest-api",
        "iat": now,
        "exp": now + 30,
        "jti": secrets.token_hex(16),
        "method": method,
        "uri": uri,
        "body_hash": hashlib.sha256(body).hexdigest(),
    }
    claims.update(over)
    head = b64(
        json.dumps({"alg": "RS256", "kid": keys.kid_of(key), "typ": "JWT"}).encode()
    )
    payload = b64(json.dumps(claims).encode())
    signature = key.sign(
        f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{head}.{payload}.{b64(signature)}"


def client_for(mock: NuveraMock) -> NuveraClient:
    return NuveraClient(mock.api_key, mock.private_key_pem, base_url=BASE)


def test_thumbprint_is_the_rfc7638_kid(rsa_key: rsa.RSAPrivateKey) -> None:
    assert thumbprint(rsa_key.public_key()) == keys.kid_of(rsa_key)


def test_operations_are_those_of_the_openapi_file() -> None:
    yaml = pytest.importorskip("yaml")
    from pathlib import Path

    spec = yaml.safe_load(
        (Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text()
    )
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            name = (
                operation.get("x-nuvera-python")
                if isinstance(operation, dict)
                else None
            )
            if name:
                success = min(
                    int(s) for s in operation["responses"] if s.startswith("2")
                )
                template = path.replace("{code}", "{id}").replace("{ticket_id}", "{id}")
                found[name.removeprefix("client.")] = (
                    method.upper(),
                    template,
                    success,
                )
    assert {k: v[:3] for k, v in OPERATIONS.items()} == found


def test_operation_names_are_the_client_paths() -> None:
    client = NuveraClient(
        "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe",
        keys.private_key_pem(keys.generate_private_key(2048)),
        base_url=BASE,
    )
    aliases = {"documents.download": "documents.download"}
    with client:
        for name in OPERATIONS:
            target: object = client
            for part in aliases.get(name, name).split("."):
                target = getattr(target, part)
            assert callable(target), name


def test_default_answers_parse_into_models() -> None:
    with NuveraMock() as mock, client_for(mock) as client:
        payment = client.payments.create(
            customer_id="cus_1",
            beneficiary_id="ben_1",
            amount=Decimal("10.00"),
            currency="USD",
        )
        assert payment.id.startswith("pay_")
        assert [c.id[:4] for c in client.customers.list()] == ["cus_"]
        assert client.crypto.assets.retrieve("USDC").code == "USDC"
        assert client.support.tickets.messages.list("tkt_1").data[0].body
        assert client.documents.download("doc_1").startswith(b"%PDF")
        client.beneficiaries.delete("ben_1")
        assert mock.payments.create.call_count == 1
        assert mock.beneficiaries.delete.called


def test_respond_overrides_the_default() -> None:
    with NuveraMock() as mock, client_for(mock) as client:
        mock.customers.retrieve.respond(
            404,
            json={
                "error": {
                    "type": "not_found_error",
                    "code": "not_found",
                    "message": "No such customer.",
                    "request_id": "req_1",
                    "details": {},
                }
            },
        )
        with pytest.raises(Exception, match="not_found"):
            client.customers.retrieve("cus_missing")


def test_unknown_operation_names_the_known_ones() -> None:
    mock = NuveraMock()
    with pytest.raises(AttributeError, match=r"payments\.create"):
        _ = mock.payments.refund


@pytest.mark.anyio
async def test_async_client_is_checked_too() -> None:
    with NuveraMock() as mock:
        async with AsyncNuveraClient(
            mock.api_key, mock.private_key_pem, base_url=BASE
        ) as client:
            page = await client.payments.list(limit=5)
            assert page.data[0].amount == Decimal("1250.00")
        assert mock.refusals == []


def test_a_wrong_signing_key_fails_the_test_with_the_diagnosis() -> None:
    other = keys.private_key_pem(keys.generate_private_key(2048))
    mock = NuveraMock()
    with pytest.raises(ContractViolation, match="unknown_signing_key") as info, mock:  # noqa: PT012
        client = NuveraClient(mock.api_key, other, base_url=BASE)
        with pytest.raises(AuthenticationError):  # what the code under test sees
            client.customers.retrieve("cus_1")
        client.close()
    assert "GET /v1/customers/cus_1" in str(info.value)


def _send(
    mock: NuveraMock, method: str, target: str, body: bytes, auth: str
) -> httpx.Response:
    headers = {"x-api-key": mock.api_key, "authorization": f"Bearer {auth}"}
    return httpx.request(method, BASE + target, content=body, headers=headers)


@pytest.mark.parametrize(
    ("tamper", "code", "detail"),
    [
        ("body", "body_hash_mismatch", "body_length"),
        ("uri", "uri_mismatch", "expected"),
        ("method", "method_mismatch", "expected"),
        ("expired", "token_expired", "server_time"),
        ("lifetime", "invalid_lifetime", None),
        ("aud", "invalid_audience", None),
        ("replay", "replayed_jti", None),
        ("api_key", "invalid_api_key", None),
        ("no_key", "missing_api_key", None),
        ("no_token", "missing_signature", None),
        ("garbage", "malformed_token", None),
        ("signature", "invalid_signature", None),
    ],
)
def test_each_refusal_carries_the_section_3_code(
    tamper: str, code: str, detail: str | None
) -> None:
    mock = NuveraMock()
    key = keys.load_private_key(mock.private_key_pem.encode())
    target, body = "/v1/customers?email=a%40b.com", b'{"name": "x"}'
    over: dict[str, object] = {}
    send_target, send_body, method = target, body, "POST"
    if tamper == "body":
        send_body = body + b" "
    elif tamper == "uri":
        send_target = "/v1/customers?email=a@b.com"
    elif tamper == "method":
        method = "PATCH"
    elif tamper == "expired":
        over = {"iat": int(time.time()) - 100, "exp": int(time.time()) - 70}
    elif tamper == "lifetime":
        over = {"exp": int(time.time()) + 120}
    elif tamper == "aud":
        over = {"aud": ["nuvera-rest-api"]}
    signed = token(key, "POST", target, body, **over)
    if tamper == "garbage":
        signed = "abc.def"
    elif tamper == "signature":
        head, payload, sig = signed.split(".")
        signed = f"{head}.{payload}.{sig[:-4]}AAAA"
    with mock:
        headers = {"x-api-key": mock.api_key, "authorization": f"Bearer {signed}"}
        if tamper == "api_key":
            headers["x-api-key"] = mock.api_key[:-1] + (
                "A" if mock.api_key[-1] != "A" else "B"
            )
        elif tamper == "no_key":
            del headers["x-api-key"]
        elif tamper == "no_token":
            del headers["authorization"]
        if tamper == "replay":
            first = httpx.request(
                method, BASE + send_target, content=send_body, headers=headers
            )
            assert first.status_code == 201, first.text
        response = httpx.request(
            method, BASE + send_target, content=send_body, headers=headers
        )
        assert response.json()["error"]["code"] == code
        if detail is not None:
            assert detail in response.json()["error"]["details"]
        assert mock.refusals[-1].diagnosis.code == code
        mock.refusals.clear()  # this test expects the refusal


def test_a_correct_hand_signed_request_passes() -> None:
    with NuveraMock() as mock:
        key = keys.load_private_key(mock.private_key_pem.encode())
        target, body = "/v1/customers?email=a%40b.com", b'{"name": "x"}'
        response = _send(mock, "POST", target, body, token(key, "POST", target, body))
        assert response.status_code == 201


def test_trusted_partner_credentials_and_clock(rsa_key: rsa.RSAPrivateKey) -> None:
    api_key = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"
    with NuveraMock(clock=lambda: time.time() + 3600) as mock:
        kid = mock.trust(keys.public_key_pem(rsa_key), api_key)
        assert kid == keys.kid_of(rsa_key)
        client = NuveraClient(api_key, rsa_key, base_url=BASE, max_retries=0)
        # The client learns the skew from the refusal and re-signs (PROTOCOL §4).
        assert client.customers.retrieve("cus_1").id
        client.close()
        assert [r.diagnosis.code for r in mock.refusals] == ["token_expired"]
        assert mock.refusals[0].diagnosis.details["server_time"] >= time.time() + 3500
    # A clock refusal is not a contract violation: leaving the block did not raise.


def test_permissions_are_checked_when_given() -> None:
    with NuveraMock(permissions=["CUSTOMERS_READ"]) as mock, client_for(mock) as client:
        assert client.customers.retrieve("cus_1").id
        with pytest.raises(PermissionDeniedError) as info:
            client.payments.retrieve("pay_1")
        assert info.value.required_permission == "PAYMENTS_READ"
        mock.refusals.clear()


def test_signature_mismatch_reaches_the_client_as_such() -> None:
    with NuveraMock() as mock:
        key = keys.load_private_key(mock.private_key_pem.encode())
        signed = token(key, "GET", "/v1/customers")
        response = _send(mock, "GET", "/v1/customers?limit=1", b"", signed)
        from nuvera_client.errors import error_from_response

        error = error_from_response(response.status_code, response.content)
        assert isinstance(error, SignatureMismatchError)
        assert error.details["expected"] == "/v1/customers?limit=1"
        mock.refusals.clear()
