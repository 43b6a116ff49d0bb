"""Owns the sandbox's REST endpoints (PROTOCOL §5.1), their tables and seed data.

The app matches requests against ``ENDPOINTS``, creates ``SCHEMA_SQL`` in its store,
runs ``seed()`` once per store, and calls the handlers inside a transaction.
Every table is scoped by ``application_id`` except the shared crypto reference data.
"""

from __future__ import annotations

import sqlite3

from nuvera_client.sandbox._handlers import Endpoint
from nuvera_client.sandbox._routes import (
    beneficiaries,
    crypto,
    customers,
    documents,
    payments,
    screening,
    support,
)

__all__ = ["ENDPOINTS", "SCHEMA_SQL", "seed"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/customers", "CUSTOMERS_READ", customers.list_customers),
    Endpoint("POST", "/v1/customers", "CUSTOMERS_WRITE", customers.create_customer),
    Endpoint(
        "GET", "/v1/customers/{id}", "CUSTOMERS_READ", customers.retrieve_customer
    ),
    Endpoint(
        "PATCH", "/v1/customers/{id}", "CUSTOMERS_WRITE", customers.update_customer
    ),
    Endpoint(
        "GET",
        "/v1/beneficiaries",
        "BENEFICIARIES_READ",
        beneficiaries.list_beneficiaries,
    ),
    Endpoint(
        "POST",
        "/v1/beneficiaries",
        "BENEFICIARIES_WRITE",
        beneficiaries.create_beneficiary,
    ),
    Endpoint(
        "GET",
        "/v1/beneficiaries/{id}",
        "BENEFICIARIES_READ",
        beneficiaries.retrieve_beneficiary,
    ),
    Endpoint(
        "PATCH",
        "/v1/beneficiaries/{id}",
        "BENEFICIARIES_WRITE",
        beneficiaries.update_beneficiary,
    ),
    Endpoint(
        "DELETE",
        "/v1/beneficiaries/{id}",
        "BENEFICIARIES_WRITE",
        beneficiaries.delete_beneficiary,
    ),
    Endpoint("GET", "/v1/documents", "DOCUMENTS_READ", documents.list_documents),
    Endpoint("POST", "/v1/documents", "DOCUMENTS_WRITE", documents.upload_document),
    Endpoint(
        "GET", "/v1/documents/{id}", "DOCUMENTS_READ", documents.retrieve_document
    ),
    Endpoint(
        "GET",
        "/v1/documents/{id}/content",
        "DOCUMENTS_READ",
        documents.download_document,
    ),
    Endpoint("GET", "/v1/crypto/assets", "CRYPTO_READ", crypto.list_assets),
    Endpoint("GET", "/v1/crypto/assets/{code}", "CRYPTO_READ", crypto.retrieve_asset),
    Endpoint("GET", "/v1/crypto/networks", "CRYPTO_READ", crypto.list_networks),
    Endpoint("GET", "/v1/payments", "PAYMENTS_READ", payments.list_payments),
    Endpoint("POST", "/v1/payments", "PAYMENTS_WRITE", payments.create_payment),
    Endpoint("GET", "/v1/payments/{id}", "PAYMENTS_READ", payments.retrieve_payment),
    Endpoint(
        "POST", "/v1/payments/{id}/cancel", "PAYMENTS_WRITE", payments.cancel_payment
    ),
    Endpoint("GET", "/v1/screening/results", "SCREENING_READ", screening.list_results),
    Endpoint(
        "GET", "/v1/screening/results/{id}", "SCREENING_READ", screening.retrieve_result
    ),
    Endpoint("GET", "/v1/support/tickets", "SUPPORT_READ", support.list_tickets),
    Endpoint("POST", "/v1/support/tickets", "SUPPORT_WRITE", support.create_ticket),
    Endpoint(
        "GET", "/v1/support/tickets/{id}", "SUPPORT_READ", support.retrieve_ticket
    ),
    Endpoint(
        "POST", "/v1/support/tickets/{id}/close", "SUPPORT_WRITE", support.close_ticket
    ),
    Endpoint(
        "GET",
        "/v1/support/tickets/{id}/messages",
        "SUPPORT_READ",
        support.list_messages,
    ),
    Endpoint(
        "POST",
        "/v1/support/tickets/{id}/messages",
        "SUPPORT_WRITE",
        support.create_message,
    ),
)

SCHEMA_SQL: str = "\n".join(
    (
        customers.SCHEMA,
        beneficiaries.SCHEMA,
        documents.SCHEMA,
        crypto.SCHEMA,
        payments.SCHEMA,
        screening.SCHEMA,
        support.SCHEMA,
    )
)


def seed(db: sqlite3.Connection) -> None:
    """Insert the crypto reference data (idempotent: safe on every start)."""
    crypto.seed(db)
