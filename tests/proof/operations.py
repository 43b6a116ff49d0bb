"""The 28 operations of PROTOCOL §5.1 as concrete, valid requests on seeded data.

:func:`seed` creates one object of each kind through signed HTTP; :func:`operations`
returns one request per operation whose verification passes (checks 1-19), so a
harness can change one thing in it and know the refusal comes from that change.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

import httpx

from nuvera_client import NuveraAuth

BOUNDARY = "nuvera-proof-boundary-7d1f"


@dataclass(frozen=True)
class Operation:
    """One valid request: the operation's name, method, target and exact body."""

    name: str
    method: str
    target: str
    permission: str
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_multipart(self) -> bool:
        return (self.content_type or "").startswith("multipart/")


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> bytes:
    """Encode a multipart/form-data body with the fixed :data:`BOUNDARY`."""
    out = bytearray()
    for name, value in fields.items():
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"'
        out += head.encode() + b"\r\n\r\n"
        out += value.encode() + b"\r\n"
    for name, (filename, data, ctype) in files.items():
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}";'
            f' filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def _created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def seed(base_url: str, api_key: str, private_key_pem: str) -> dict[str, str]:
    """Create a customer, two beneficiaries, a document, payments and a ticket."""
    auth = NuveraAuth(api_key, private_key_pem)
    with httpx.Client(base_url=base_url, auth=auth, timeout=30) as http:
        tag = secrets.token_hex(4)
        cus = _created(
            http.post(
                "/v1/customers",
                json={
                    "type": "individual",
                    "name": "Ada",
                    "email": f"ada{tag}@example.com",
                },
            )
        )
        ben = _created(
            http.post(
                "/v1/beneficiaries",
                json={
                    "customer_id": cus,
                    "type": "bank_account",
                    "name": "Ada GmbH",
                    "currency": "EUR",
                    "bank_account": {"iban": "DE89370400440532013000"},
                },
            )
        )
        spare = _created(
            http.post(
                "/v1/beneficiaries",
                json={
                    "customer_id": cus,
                    "type": "bank_account",
                    "name": "Spare",
                    "currency": "EUR",
                    "bank_account": {"iban": "DE89370400440532013000"},
                },
            )
        )
        doc = _created(
            http.post(
                "/v1/documents",
                content=multipart(
                    {"customer_id": cus, "type": "passport"},
                    {"file": ("p.png", PNG, "image/png")},
                ),
                headers={"content-type": MULTIPART},
            )
        )
        pays = [
            _created(
                http.post(
                    "/v1/payments",
                    json={
                        "customer_id": cus,
                        "beneficiary_id": ben,
                        "amount": "10.00",
                        "currency": "EUR",
                    },
                    headers={"idempotency-key": secrets.token_hex(8)},
                )
            )
            for _ in range(2)
        ]
        tickets = [
            _created(
                http.post("/v1/support/tickets", json={"subject": "Hi", "body": "Help"})
            )
            for _ in range(2)
        ]
        screening = http.get("/v1/screening/results?limit=1").json()["data"]
    return {
        "cus": cus,
        "ben": ben,
        "ben_spare": spare,
        "doc": doc,
        "pay": pays[0],
        "pay_spare": pays[1],
        "tkt": tickets[0],
        "tkt_spare": tickets[1],
        "scr": screening[0]["id"] if screening else "scr_" + "0" * 24,
    }


def operations(ids: dict[str, str]) -> list[Operation]:
    """Return one valid request per operation (28), in PROTOCOL §5.1 order."""
    cus, ben, doc, pay, tkt = ids["cus"], ids["ben"], ids["doc"], ids["pay"], ids["tkt"]
    j = "application/json"
    payment = _json(
        {"customer_id": cus, "beneficiary_id": ben, "amount": "1.00", "currency": "EUR"}
    )
    return [
        Operation(
            "customers.list",
            "GET",
            "/v1/customers?limit=10&status=active",
            "CUSTOMERS_READ",
        ),
        Operation(
            "customers.create",
            "POST",
            "/v1/customers",
            "CUSTOMERS_WRITE",
            _json({"type": "business", "name": "Acme", "email": "ops@acme.example"}),
            j,
        ),
        Operation(
            "customers.retrieve", "GET", f"/v1/customers/{cus}", "CUSTOMERS_READ"
        ),
        Operation(
            "customers.update",
            "PATCH",
            f"/v1/customers/{cus}",
            "CUSTOMERS_WRITE",
            _json({"name": "Ada L."}),
            j,
        ),
        Operation(
            "beneficiaries.list",
            "GET",
            f"/v1/beneficiaries?customer_id={cus}",
            "BENEFICIARIES_READ",
        ),
        Operation(
            "beneficiaries.create",
            "POST",
            "/v1/beneficiaries",
            "BENEFICIARIES_WRITE",
            _json(
                {
                    "customer_id": cus,
                    "type": "bank_account",
                    "name": "B",
                    "currency": "EUR",
                    "bank_account": {"iban": "DE89370400440532013000"},
                }
            ),
            j,
        ),
        Operation(
            "beneficiaries.retrieve",
            "GET",
            f"/v1/beneficiaries/{ben}",
            "BENEFICIARIES_READ",
        ),
        Operation(
            "beneficiaries.update",
            "PATCH",
            f"/v1/beneficiaries/{ben}",
            "BENEFICIARIES_WRITE",
            _json({"name": "B2"}),
            j,
        ),
        Operation(
            "beneficiaries.delete",
            "DELETE",
            f"/v1/beneficiaries/{ids['ben_spare']}",
            "BENEFICIARIES_WRITE",
        ),
        Operation(
            "documents.list",
            "GET",
            f"/v1/documents?customer_id={cus}&limit=5",
            "DOCUMENTS_READ",
        ),
        Operation(
            "documents.upload",
            "POST",
            "/v1/documents",
            "DOCUMENTS_WRITE",
            multipart(
                {"customer_id": cus, "type": "passport"},
                {"file": ("p.png", PNG, "image/png")},
            ),
            MULTIPART,
        ),
        Operation(
            "documents.retrieve", "GET", f"/v1/documents/{doc}", "DOCUMENTS_READ"
        ),
        Operation(
            "documents.download",
            "GET",
            f"/v1/documents/{doc}/content",
            "DOCUMENTS_READ",
        ),
        Operation(
            "crypto.assets.list", "GET", "/v1/crypto/assets?limit=3", "CRYPTO_READ"
        ),
        Operation(
            "crypto.assets.retrieve", "GET", "/v1/crypto/assets/BTC", "CRYPTO_READ"
        ),
        Operation("crypto.networks.list", "GET", "/v1/crypto/networks", "CRYPTO_READ"),
        Operation(
            "payments.list",
            "GET",
            f"/v1/payments?customer_id={cus}&status=created",
            "PAYMENTS_READ",
        ),
        Operation(
            "payments.create",
            "POST",
            "/v1/payments",
            "PAYMENTS_WRITE",
            payment,
            j,
            (("idempotency-key", "proof-" + secrets.token_hex(8)),),
        ),
        Operation("payments.retrieve", "GET", f"/v1/payments/{pay}", "PAYMENTS_READ"),
        Operation(
            "payments.cancel",
            "POST",
            f"/v1/payments/{ids['pay_spare']}/cancel",
            "PAYMENTS_WRITE",
        ),
        Operation(
            "screening.list",
            "GET",
            f"/v1/screening/results?subject_id={cus}",
            "SCREENING_READ",
        ),
        Operation(
            "screening.retrieve",
            "GET",
            f"/v1/screening/results/{ids['scr']}",
            "SCREENING_READ",
        ),
        Operation(
            "support.tickets.list", "GET", "/v1/support/tickets?limit=2", "SUPPORT_READ"
        ),
        Operation(
            "support.tickets.create",
            "POST",
            "/v1/support/tickets",
            "SUPPORT_WRITE",
            _json({"subject": "Late payment", "body": "Where is it?"}),
            j,
        ),
        Operation(
            "support.tickets.retrieve",
            "GET",
            f"/v1/support/tickets/{tkt}",
            "SUPPORT_READ",
        ),
        Operation(
            "support.tickets.close",
            "POST",
            f"/v1/support/tickets/{ids['tkt_spare']}/close",
            "SUPPORT_WRITE",
        ),
        Operation(
            "support.messages.list",
            "GET",
            f"/v1/support/tickets/{tkt}/messages",
            "SUPPORT_READ",
        ),
        Operation(
            "support.messages.create",
            "POST",
            f"/v1/support/tickets/{tkt}/messages",
            "SUPPORT_WRITE",
            multipart(
                {"body": "See attached"},
                {"attachments": ("a.txt", b"hello", "text/plain")},
            ),
            MULTIPART,
        ),
    ]
