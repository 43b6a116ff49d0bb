"""Beneficiaries (``/v1/beneficiaries``): BENEFICIARIES_READ / BENEFICIARIES_WRITE."""

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
from nuvera_client.models.beneficiaries import (
    Beneficiary,
    BeneficiaryStatus,
    BeneficiaryType,
    DeletedBeneficiary,
)

__all__ = ["AsyncBeneficiaries", "Beneficiaries"]

_PATH = "/v1/beneficiaries"
_ITEM = "/v1/beneficiaries/{id}"


def _list(
    cursor: str | None,
    customer_id: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[Beneficiary]]:
    return Call(
        "GET",
        _PATH,
        parse=page_parser(Beneficiary.from_dict),
        query=query_params(customer_id=customer_id, limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _create(
    body: dict[str, object],
    idempotency_key: str | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Beneficiary]:
    return Call(
        "POST",
        _PATH,
        parse=Beneficiary.from_dict,
        json=body,
        idempotency_key=idempotency_key,
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve(
    beneficiary_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[Beneficiary]:
    return Call(
        "GET",
        _ITEM,
        {"id": beneficiary_id},
        parse=Beneficiary.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _update(
    beneficiary_id: str,
    body: dict[str, object],
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[Beneficiary]:
    if not body:
        raise InvalidArgumentError("update() needs at least one field to change")
    return Call(
        "PATCH",
        _ITEM,
        {"id": beneficiary_id},
        parse=Beneficiary.from_dict,
        json=body,
        max_retries=max_retries,
        timeout=timeout,
    )


def _delete(
    beneficiary_id: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[DeletedBeneficiary]:
    return Call(
        "DELETE",
        _ITEM,
        {"id": beneficiary_id},
        parse=DeletedBeneficiary.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


class Beneficiaries(SyncResource):
    """Payees of customers: bank accounts and crypto wallets."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[Beneficiary]:
        """List beneficiaries, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def create(
        self,
        *,
        customer_id: str,
        type: BeneficiaryType | str,
        name: str,
        currency: str,
        bank_account: Mapping[str, str | None] | None = None,
        crypto_wallet: Mapping[str, str | None] | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Create a beneficiary; pass exactly the object matching ``type``."""
        body = body_fields(
            customer_id=customer_id,
            type=type,
            name=name,
            currency=currency,
            bank_account=bank_account,
            crypto_wallet=crypto_wallet,
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
        beneficiary_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Fetch one beneficiary by id."""
        return self._send(
            _retrieve(beneficiary_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def update(
        self,
        beneficiary_id: str,
        *,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        status: BeneficiaryStatus | str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Change the name, metadata or status of a beneficiary."""
        body = body_fields(name=name, metadata=metadata, status=status)
        return self._send(
            _update(beneficiary_id, body, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    def delete(
        self,
        beneficiary_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> DeletedBeneficiary:
        """Delete a beneficiary (afterwards ``retrieve`` raises NotFoundError)."""
        return self._send(
            _delete(beneficiary_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncBeneficiaries(AsyncResource):
    """Payees of customers: bank accounts and crypto wallets."""

    def list(
        self,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[Beneficiary]:
        """List beneficiaries, newest first; iterating follows every page lazily."""
        return self._page(
            lambda c: _list(c, customer_id, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def create(
        self,
        *,
        customer_id: str,
        type: BeneficiaryType | str,
        name: str,
        currency: str,
        bank_account: Mapping[str, str | None] | None = None,
        crypto_wallet: Mapping[str, str | None] | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Create a beneficiary; pass exactly the object matching ``type``."""
        body = body_fields(
            customer_id=customer_id,
            type=type,
            name=name,
            currency=currency,
            bank_account=bank_account,
            crypto_wallet=crypto_wallet,
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
        beneficiary_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Fetch one beneficiary by id."""
        return await self._send(
            _retrieve(beneficiary_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def update(
        self,
        beneficiary_id: str,
        *,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        status: BeneficiaryStatus | str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Beneficiary:
        """Change the name, metadata or status of a beneficiary."""
        body = body_fields(name=name, metadata=metadata, status=status)
        return await self._send(
            _update(beneficiary_id, body, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )

    async def delete(
        self,
        beneficiary_id: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> DeletedBeneficiary:
        """Delete a beneficiary (afterwards ``retrieve`` raises NotFoundError)."""
        return await self._send(
            _delete(beneficiary_id, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )
