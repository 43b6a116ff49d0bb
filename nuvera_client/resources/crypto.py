"""Crypto reference data (``/v1/crypto/...``): CRYPTO_READ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvera_client._pagination import AsyncPage, Page, PageData, page_parser
from nuvera_client._resource import (
    AsyncResource,
    Call,
    ExtraBody,
    ExtraHeaders,
    ExtraQuery,
    SyncResource,
    TimeoutTypes,
    query_params,
)
from nuvera_client.models.crypto import CryptoAsset, CryptoNetwork

if TYPE_CHECKING:
    from nuvera_client._resource import AsyncCaller, SyncCaller

__all__ = [
    "AsyncCrypto",
    "AsyncCryptoAssets",
    "AsyncCryptoNetworks",
    "Crypto",
    "CryptoAssets",
    "CryptoNetworks",
]


def _list_assets(
    cursor: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[CryptoAsset]]:
    return Call(
        "GET",
        "/v1/crypto/assets",
        parse=page_parser(CryptoAsset.from_dict),
        query=query_params(limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


def _retrieve_asset(
    code: str, max_retries: int | None, timeout: TimeoutTypes
) -> Call[CryptoAsset]:
    return Call(
        "GET",
        "/v1/crypto/assets/{code}",
        {"code": code},
        parse=CryptoAsset.from_dict,
        max_retries=max_retries,
        timeout=timeout,
    )


def _list_networks(
    cursor: str | None,
    limit: int | None,
    max_retries: int | None,
    timeout: TimeoutTypes,
) -> Call[PageData[CryptoNetwork]]:
    return Call(
        "GET",
        "/v1/crypto/networks",
        parse=page_parser(CryptoNetwork.from_dict),
        query=query_params(limit=limit, cursor=cursor),
        max_retries=max_retries,
        timeout=timeout,
    )


class CryptoAssets(SyncResource):
    """Crypto assets (``BTC``, ``USDC``...), identified by code."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[CryptoAsset]:
        """List the supported assets; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_assets(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    def retrieve(
        self,
        code: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> CryptoAsset:
        """Fetch one asset by its uppercase code, e.g. ``"USDC"``."""
        return self._send(
            _retrieve_asset(code, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class CryptoNetworks(SyncResource):
    """Blockchain networks, identified by code."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> Page[CryptoNetwork]:
        """List the supported networks; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_networks(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )


class Crypto:
    """Crypto reference data: ``assets`` and ``networks``.

    See [`CryptoAssets`][nuvera_client.resources.crypto.CryptoAssets] and
    [`CryptoNetworks`][nuvera_client.resources.crypto.CryptoNetworks].
    """

    def __init__(self, client: SyncCaller) -> None:
        self.assets = CryptoAssets(client)
        """Crypto assets."""
        self.networks = CryptoNetworks(client)
        """Crypto networks."""


class AsyncCryptoAssets(AsyncResource):
    """Crypto assets (``BTC``, ``USDC``...), identified by code."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[CryptoAsset]:
        """List the supported assets; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_assets(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def retrieve(
        self,
        code: str,
        *,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> CryptoAsset:
        """Fetch one asset by its uppercase code, e.g. ``"USDC"``."""
        return await self._send(
            _retrieve_asset(code, max_retries, timeout),
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncCryptoNetworks(AsyncResource):
    """Blockchain networks, identified by code."""

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_retries: int | None = None,
        timeout: TimeoutTypes = None,
        extra_headers: ExtraHeaders | None = None,
        extra_query: ExtraQuery | None = None,
        extra_body: ExtraBody | None = None,
    ) -> AsyncPage[CryptoNetwork]:
        """List the supported networks; iterating follows every page lazily."""
        return self._page(
            lambda c: _list_networks(c, limit, max_retries, timeout),
            cursor,
            extra_headers,
            extra_query,
            extra_body,
        )


class AsyncCrypto:
    """Crypto reference data: ``assets`` and ``networks``.

    See [`AsyncCryptoAssets`][nuvera_client.resources.crypto.AsyncCryptoAssets] and
    [`AsyncCryptoNetworks`][nuvera_client.resources.crypto.AsyncCryptoNetworks].
    """

    def __init__(self, client: AsyncCaller) -> None:
        self.assets = AsyncCryptoAssets(client)
        """Crypto assets."""
        self.networks = AsyncCryptoNetworks(client)
        """Crypto networks."""
