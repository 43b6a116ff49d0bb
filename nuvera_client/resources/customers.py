"""Customers (``/v1/customers``): CUSTOMERS_READ / CUSTOMERS_WRITE."""

from __future__ import annotations

from collections.abc import Mapping

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
from nuvera_client.errors import InvalidArgumentError
from nuvera_client.models.customers import Customer, CustomerStatus, CustomerType

__all__ = ["AsyncCustomers", "Customers"]

_PATH = "/v1/customers"
_ITEM = "/v1/customers/{id}"


def _list(
    cursor: str | None,
    email: str | None,
    external_id: str | None,
    status: CustomerStatus | str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[Customer]]:
    return Call(
        "GET",
        _PATH,
        parse=page_parser(Customer.from_dict),
        query=query_params(
            email=email,
            external_id=external_id,
            status=status,
            limit=limit,
            cursor=cursor,
        ),
        max_retries=max_retries,
        timeout=timeout,
    )


def _create(
    body: dict[str, object],
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Customer]:
    return Call(
        "POST",
        _PATH,
        parse=Customer.from_dict,
        json=body,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve(
    customer_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[Customer]:
    return Call(
        "GET",
        _ITEM,
        {"id": customer_id},
        parse=Customer.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _update(
    customer_id: str,
    body: dict[str, object],
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Customer]:
    if not body:
        raise InvalidArgumentError("update() needs at least one field to change")
    return Call(
        "PATCH",
        _ITEM,
        {"id": customer_id},
        parse=Customer.from_dict,
        json=body,
        max_retries=max_retries,
        timeout=timeout,
    )


class Customers(SyncResource):
    """The partner's customers."""

    def list(
        self,
        *,
        email: str | None = None,
        external_id: str | None = None,
        status: CustomerStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[Customer]:
        """List customers, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, email, external_id, status, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def create(
        self,
        *,
        type: CustomerType | str,
        name: str,
        email: str,
        phone: str | None = None,
        country: str | None = None,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Create a customer (``kyc_status`` starts at ``not_started``)."""
        body = body_fields(
            type=type,
            name=name,
            email=email,
            phone=phone,
            country=country,
            external_id=external_id,
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
        customer_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Fetch one customer by id."""
        return self._send(
            _retrieve(customer_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def update(
        self,
        customer_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        country: str | None = None,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        status: CustomerStatus | str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Change the given fields of a customer (at least one)."""
        body = body_fields(
            name=name,
            email=email,
            phone=phone,
            country=country,
            external_id=external_id,
            metadata=metadata,
            status=status,
        )
        return self._send(
            _update(customer_id, body, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncCustomers(AsyncResource):
    """The partner's customers."""

    def list(
        self,
        *,
        email: str | None = None,
        external_id: str | None = None,
        status: CustomerStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[Customer]:
        """List customers, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, email, external_id, status, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def create(
        self,
        *,
        type: CustomerType | str,
        name: str,
        email: str,
        phone: str | None = None,
        country: str | None = None,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Create a customer (``kyc_status`` starts at ``not_started``)."""
        body = body_fields(
            type=type,
            name=name,
            email=email,
            phone=phone,
            country=country,
            external_id=external_id,
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
        customer_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Fetch one customer by id."""
        return await self._send(
            _retrieve(customer_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def update(
        self,
        customer_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        country: str | None = None,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        status: CustomerStatus | str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Customer:
        """Change the given fields of a customer (at least one)."""
        body = body_fields(
            name=name,
            email=email,
            phone=phone,
            country=country,
            external_id=external_id,
            metadata=metadata,
            status=status,
        )
        return await self._send(
            _update(customer_id, body, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )
