"""Payments (``/v1/payments``): PAYMENTS_READ / PAYMENTS_WRITE."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client._resource import (
    AsyncResource,
    Call,
    ExtraBody,
    ExtraHeaders,
    ExtraQuery,
    SyncResource,
    TimeoutTypes,
    body_fields,
    query_params,
)
from nuvera_client.models.payments import Payment, PaymentStatus

__all__ = ["AsyncPayments", "Payments"]

_PATH = "/v1/payments"


def _list(
    cursor: str | None,
    customer_id: str | None,
    status: PaymentStatus | str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[Payment]]:
    return Call(
        "GET",
        _PATH,
        parse=page_parser(Payment.from_dict),
        query=query_params(
            customer_id=customer_id, status=status, limit=limit, cursor=cursor
        ),
        max_retries=max_retries,
        timeout=timeout,
    )


def _create(
    body: dict[str, object],
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Payment]:
    # Always sent with an Idempotency-Key (the client makes one when none is given),
    # so a retry after a dropped connection returns the same payment.
    return Call(
        "POST",
        _PATH,
        parse=Payment.from_dict,
        json=body,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve(
    payment_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[Payment]:
    return Call(
        "GET",
        "/v1/payments/{id}",
        {"id": payment_id},
        parse=Payment.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _cancel(
    payment_id: str,
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Payment]:
    return Call(
        "POST",
        "/v1/payments/{id}/cancel",
        {"id": payment_id},
        parse=Payment.from_dict,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _amount(amount: Decimal | str) -> str:
    if isinstance(amount, float) or not isinstance(amount, (Decimal, str)):
        raise TypeError("amount must be a Decimal or a decimal string, never a float")
    return str(amount)


class Payments(SyncResource):
    """Payments from customers to their beneficiaries."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        status: PaymentStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[Payment]:
        """List payments, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, status, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def create(
        self,
        *,
        customer_id: str,
        beneficiary_id: str,
        amount: Decimal | str,
        currency: str,
        reference: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Create a payment; safe to retry (one Idempotency-Key for all attempts).

        Args:
            customer_id: the paying customer.
            beneficiary_id: an active beneficiary of that customer.
            amount: a ``Decimal`` or decimal string (never a float).
            currency: must equal the beneficiary's currency.
            reference: shown to the beneficiary (up to 140 characters).
            description: an internal note.
            metadata: up to 20 string pairs.
            idempotency_key: your own key (default: a fresh random one).
            max_retries: this call's retry budget.
            timeout: this call's timeout.
            extra_headers: headers to add (signed; not the credentials, Idempotency-Key
                or the body headers).
            extra_query: query parameters to add (signed in ``uri``).
            extra_body: fields merged over the body (for fields newer than the SDK).
        """
        body = body_fields(
            customer_id=customer_id,
            beneficiary_id=beneficiary_id,
            amount=_amount(amount),
            currency=currency,
            reference=reference,
            description=description,
            metadata=metadata,
        )
        return self._send(
            _create(body, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def retrieve(
        self,
        payment_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Fetch one payment by id."""
        return self._send(
            _retrieve(payment_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def cancel(
        self,
        payment_id: str,
        *,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Cancel a payment still in ``created`` (else 409 ``invalid_state``)."""
        return self._send(
            _cancel(payment_id, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncPayments(AsyncResource):
    """Payments from customers to their beneficiaries."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        status: PaymentStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[Payment]:
        """List payments, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, status, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def create(
        self,
        *,
        customer_id: str,
        beneficiary_id: str,
        amount: Decimal | str,
        currency: str,
        reference: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Create a payment; safe to retry (one Idempotency-Key for all attempts).

        Args:
            customer_id: the paying customer.
            beneficiary_id: an active beneficiary of that customer.
            amount: a ``Decimal`` or decimal string (never a float).
            currency: must equal the beneficiary's currency.
            reference: shown to the beneficiary (up to 140 characters).
            description: an internal note.
            metadata: up to 20 string pairs.
            idempotency_key: your own key (default: a fresh random one).
            max_retries: this call's retry budget.
            timeout: this call's timeout.
            extra_headers: headers to add (signed; not the credentials, Idempotency-Key
                or the body headers).
            extra_query: query parameters to add (signed in ``uri``).
            extra_body: fields merged over the body (for fields newer than the SDK).
        """
        body = body_fields(
            customer_id=customer_id,
            beneficiary_id=beneficiary_id,
            amount=_amount(amount),
            currency=currency,
            reference=reference,
            description=description,
            metadata=metadata,
        )
        return await self._send(
            _create(body, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def retrieve(
        self,
        payment_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Fetch one payment by id."""
        return await self._send(
            _retrieve(payment_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def cancel(
        self,
        payment_id: str,
        *,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Payment:
        """Cancel a payment still in ``created`` (else 409 ``invalid_state``)."""
        return await self._send(
            _cancel(payment_id, idempotency_key, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )
