"""Owns the default bodies ``NuveraMock`` answers with: one realistic object per type.

Taken from a sandbox session and checked against ``docs/openapi.yaml`` by the tests.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXAMPLES"]

EXAMPLES: dict[str, dict[str, Any]] = {
    "customer": {
        "id": "cus_4fRt8ZkQ2mNp7Lx1Va9Cb3Dw",
        "object": "customer",
        "type": "individual",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": None,
        "country": "GB",
        "external_id": None,
        "status": "active",
        "kyc_status": "not_started",
        "metadata": {"crm_ref": "A-1042"},
        "created_at": "2026-11-27T21:53:40Z",
        "updated_at": "2026-11-27T21:53:40Z",
    },
    "beneficiary": {
        "id": "ben_7Hq2LmN4pR8sT1vW3xY5zA6B",
        "object": "beneficiary",
        "customer_id": "cus_4fRt8ZkQ2mNp7Lx1Va9Cb3Dw",
        "type": "crypto_wallet",
        "name": "Ada's wallet",
        "currency": "USDC",
        "bank_account": None,
        "crypto_wallet": {
            "asset": "USDC",
            "network": "ethereum",
            "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "memo": None,
        },
        "status": "active",
        "metadata": {},
        "created_at": "2026-11-27T21:53:40Z",
        "updated_at": "2026-11-27T21:53:40Z",
    },
    "document": {
        "id": "doc_2Kd9Fg4Hj6Lm8Np0Qr2St4Uv",
        "object": "document",
        "customer_id": "cus_4fRt8ZkQ2mNp7Lx1Va9Cb3Dw",
        "type": "passport",
        "filename": "passport.pdf",
        "content_type": "application/pdf",
        "size": 18,
        "sha256": "d81ffc7d8f05ed80f859795e53f6f921d64ed5c539661f8590395114e9c4f521",
        "created_at": "2026-11-27T21:53:40Z",
    },
    "payment": {
        "id": "pay_9Xc3Vb5Nm7Qw1Er3Ty5Ui7Op",
        "object": "payment",
        "customer_id": "cus_4fRt8ZkQ2mNp7Lx1Va9Cb3Dw",
        "beneficiary_id": "ben_7Hq2LmN4pR8sT1vW3xY5zA6B",
        "amount": "1250.00",
        "currency": "USDC",
        "status": "created",
        "reference": "INV-1042",
        "description": None,
        "failure_reason": None,
        "metadata": {},
        "created_at": "2026-11-27T21:53:40Z",
        "updated_at": "2026-11-27T21:53:40Z",
    },
    "ticket": {
        "id": "tkt_3Gh5Jk7Lz9Xc1Vb3Nm5Qw7Er",
        "object": "support_ticket",
        "subject": "Payout delayed",
        "status": "open",
        "priority": "normal",
        "customer_id": None,
        "created_at": "2026-11-27T21:53:40Z",
        "updated_at": "2026-11-27T21:53:40Z",
        "closed_at": None,
    },
    "message": {
        "id": "msg_6Ty8Ui0Op2As4Df6Gh8Jk0Lz",
        "object": "support_message",
        "ticket_id": "tkt_3Gh5Jk7Lz9Xc1Vb3Nm5Qw7Er",
        "author": "partner",
        "body": "Any news?",
        "attachments": [],
        "created_at": "2026-11-27T21:53:40Z",
    },
    "screening_result": {
        "id": "scr_5Rt7Yu9Io1Pa3Sd5Fg7Hj9Kl",
        "object": "screening_result",
        "subject_type": "beneficiary",
        "subject_id": "ben_7Hq2LmN4pR8sT1vW3xY5zA6B",
        "status": "clear",
        "matches": [],
        "created_at": "2026-11-27T21:53:40Z",
    },
    "asset": {
        "object": "crypto_asset",
        "code": "USDC",
        "name": "USD Coin",
        "decimals": 6,
        "networks": ["ethereum", "polygon", "solana", "arbitrum", "base"],
        "status": "active",
    },
    "network": {
        "object": "crypto_network",
        "code": "bitcoin",
        "name": "Bitcoin",
        "native_asset": "BTC",
        "confirmations": 3,
        "address_pattern": (
            "^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$"
        ),
        "status": "active",
    },
}
