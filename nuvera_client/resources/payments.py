"""Payments (``/v1/payments``): PAYMENTS_READ / PAYMENTS_WRITE."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
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
from nuvera_client.errors import (
    InvalidArgumentError,
    RateLimitError,
    WaitTimeoutError,
)
from nuvera_client.models.payments import Payment, PaymentStatus

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "FINAL_STATUSES",
    "MAX_POLL_INTERVAL",
    "AsyncPayments",
    "Payments",
]

FINAL_STATUSES = frozenset(
    (PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.CANCELED)
)
"""The statuses a payment never leaves: what ``wait()`` waits for by default."""

DEFAULT_WAIT_TIMEOUT = 300.0
"""How long ``payments.wait()`` polls by default, in seconds."""

DEFAULT_POLL_INTERVAL = 1.0
"""The first pause between two polls of ``payments.wait()``, in seconds."""

MAX_POLL_INTERVAL = 30.0
"""The longest pause between two polls (a ``Retry-After`` may ask for more)."""

_POLL_GROWTH = 1.5

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


class _Waiter:
    """What ``wait()`` decides, written once for both twins: pure, never sleeps.

    The pause starts at ``poll_interval`` and grows by half each poll up to
    ``MAX_POLL_INTERVAL``; a 429's ``Retry-After`` replaces it for one pause.
    No pause runs past the deadline: the last poll happens at it.
    """

    def __init__(
        self,
        payment_id: str,
        until: Iterable[PaymentStatus | str] | None,
        timeout: float,
        poll_interval: float,
        clock: Callable[[], float],
    ) -> None:
        for name, value in (("timeout", timeout), ("poll_interval", poll_interval)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise InvalidArgumentError(
                    f"payments.wait(): {name} must be a positive number of seconds"
                )
        if isinstance(until, (str, PaymentStatus)):
            until = (until,)
        wanted = (
            FINAL_STATUSES
            if until is None
            else frozenset(PaymentStatus(s) for s in until)
        )
        if not wanted:
            raise InvalidArgumentError(
                "payments.wait(): until= must name at least one status"
            )
        self.payment_id = payment_id
        self.until = wanted
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + timeout
        self.interval = float(poll_interval)
        self.cap = max(float(poll_interval), MAX_POLL_INTERVAL)
        self.last: Payment | None = None

    def reached(self, payment: Payment) -> bool:
        """Whether to return ``payment``: a wanted status, or one it never leaves."""
        self.last = payment
        return payment.status in self.until or payment.status in FINAL_STATUSES

    def pause(self, rate_limited: RateLimitError | None = None) -> float:
        """Return the next pause, or raise ``WaitTimeoutError`` past the deadline."""
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise self._timed_out()
        if rate_limited is not None and rate_limited.retry_after is not None:
            delay = float(rate_limited.retry_after)
        else:
            delay = self.interval
            self.interval = min(self.interval * _POLL_GROWTH, self.cap)
        return max(0.0, min(delay, remaining))

    def _timed_out(self) -> WaitTimeoutError:
        wanted = ", ".join(sorted(s.value for s in self.until))
        seen = "never fetched" if self.last is None else f"still {self.last.status}"
        waited = self.clock() - self.started
        return WaitTimeoutError(
            f"payment {self.payment_id} did not reach {wanted} within "
            f"{waited:.0f} s ({seen}); wait longer (timeout=) or check it later",
            last=self.last,
            until=frozenset(s.value for s in self.until),
            waited=waited,
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

    def wait(
        self,
        payment_id: str,
        *,
        until: Iterable[PaymentStatus | str] | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
    ) -> Payment:
        """Poll a payment until its status is in ``until``; return it.

        Each poll is a ``retrieve()`` (signed, retried per §4.1). Pauses start at
        ``poll_interval`` and grow to at most 30 s; a 429 that outlasts the
        retries makes the next pause its ``Retry-After``. Returns early when the
        payment reaches a final status outside ``until`` (it can never change
        again): check ``payment.status``.

        Args:
            payment_id: the payment to watch.
            until: the statuses to wait for (default: the final ones,
                ``completed``, ``failed`` and ``canceled``).
            timeout: the most seconds to wait in all.
            poll_interval: the first pause between two polls, in seconds.
            extra_headers: headers to add to each poll (see ``retrieve``).
            extra_query: query parameters to add to each poll.

        Raises:
            WaitTimeoutError: the status was not reached within ``timeout``
                (``.last`` holds the payment as last fetched).
        """
        waiter = _Waiter(payment_id, until, timeout, poll_interval, self._client.clock)
        while True:
            limited: RateLimitError | None = None
            try:
                payment = self.retrieve(
                    payment_id, extra_headers=extra_headers, extra_query=extra_query
                )
            except RateLimitError as exc:
                limited = exc
            else:
                if waiter.reached(payment):
                    return payment
            self._client.sleep(waiter.pause(limited))


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

    async def wait(
        self,
        payment_id: str,
        *,
        until: Iterable[PaymentStatus | str] | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
    ) -> Payment:
        """Poll a payment until its status is in ``until``; return it.

        Each poll is a ``retrieve()`` (signed, retried per §4.1). Pauses start at
        ``poll_interval`` and grow to at most 30 s; a 429 that outlasts the
        retries makes the next pause its ``Retry-After``. Returns early when the
        payment reaches a final status outside ``until`` (it can never change
        again): check ``payment.status``.

        Args:
            payment_id: the payment to watch.
            until: the statuses to wait for (default: the final ones,
                ``completed``, ``failed`` and ``canceled``).
            timeout: the most seconds to wait in all.
            poll_interval: the first pause between two polls, in seconds.
            extra_headers: headers to add to each poll (see ``retrieve``).
            extra_query: query parameters to add to each poll.

        Raises:
            WaitTimeoutError: the status was not reached within ``timeout``
                (``.last`` holds the payment as last fetched).
        """
        waiter = _Waiter(payment_id, until, timeout, poll_interval, self._client.clock)
        while True:
            limited: RateLimitError | None = None
            try:
                payment = await self.retrieve(
                    payment_id, extra_headers=extra_headers, extra_query=extra_query
                )
            except RateLimitError as exc:
                limited = exc
            else:
                if waiter.reached(payment):
                    return payment
            await self._client.sleep(waiter.pause(limited))
