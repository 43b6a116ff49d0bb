"""Owns the crypto reference data: seeded assets and networks, read-only endpoints."""

from __future__ import annotations

import sqlite3
from typing import Any

from nuvera_client.sandbox._handlers import JSON, Reply, RequestContext
from nuvera_client.sandbox._problems import not_found
from nuvera_client.sandbox._routes._common import (
    check_query,
    json_reply,
    one,
    rows,
)
from nuvera_client.sandbox._routes._pagination import (
    list_page,
    page_params,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS crypto_networks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    native_asset TEXT NOT NULL,
    confirmations INTEGER NOT NULL,
    address_pattern TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crypto_assets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crypto_asset_networks (
    asset_code TEXT NOT NULL,
    network_code TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (asset_code, network_code)
);
"""

_EVM = r"^0x[0-9a-fA-F]{40}$"
_BASE58 = "1-9A-HJ-NP-Za-km-z"

# (code, name, native asset, confirmations, address pattern): resources.md seed.
NETWORKS: tuple[tuple[str, str, str, int, str], ...] = (
    (
        "bitcoin",
        "Bitcoin",
        "BTC",
        3,
        # bech32/bech32m (bc1…) or legacy base58 P2PKH/P2SH (1…, 3…).
        rf"^(bc1[02-9ac-hj-np-z]{{11,71}}|[13][{_BASE58}]{{25,34}})$",
    ),
    ("ethereum", "Ethereum", "ETH", 12, _EVM),
    ("polygon", "Polygon PoS", "POL", 128, _EVM),
    ("solana", "Solana", "SOL", 32, rf"^[{_BASE58}]{{32,44}}$"),
    ("tron", "TRON", "TRX", 19, rf"^T[{_BASE58}]{{33}}$"),
    ("arbitrum", "Arbitrum One", "ETH", 12, _EVM),
    ("base", "Base", "ETH", 12, _EVM),
)

# (code, name, decimals, networks carrying it): resources.md seed.
ASSETS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("BTC", "Bitcoin", 8, ("bitcoin",)),
    ("ETH", "Ether", 18, ("ethereum", "arbitrum", "base")),
    ("USDC", "USD Coin", 6, ("ethereum", "polygon", "solana", "arbitrum", "base")),
    ("USDT", "Tether USD", 6, ("ethereum", "tron", "solana")),
    ("SOL", "Solana", 9, ("solana",)),
    ("POL", "Polygon Ecosystem Token", 18, ("polygon",)),
    ("TRX", "TRON", 6, ("tron",)),
    ("EURC", "Euro Coin", 6, ("ethereum", "solana")),
)


def seed(db: sqlite3.Connection) -> None:
    """Insert the reference data; running it again changes nothing."""
    for code, name, native, confirmations, pattern in NETWORKS:
        db.execute(
            "INSERT INTO crypto_networks (code, name, native_asset, confirmations,"
            " address_pattern, status) VALUES (?, ?, ?, ?, ?, 'active')"
            " ON CONFLICT (code) DO NOTHING",
            (code, name, native, confirmations, pattern),
        )
    for code, name, decimals, networks in ASSETS:
        db.execute(
            "INSERT INTO crypto_assets (code, name, decimals, status)"
            " VALUES (?, ?, ?, 'active') ON CONFLICT (code) DO NOTHING",
            (code, name, decimals),
        )
        for position, network in enumerate(networks):
            db.execute(
                "INSERT INTO crypto_asset_networks (asset_code, network_code, position)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (code, network, position),
            )


def asset_networks(db: sqlite3.Connection, code: str) -> list[str]:
    """Return the codes of the networks carrying asset ``code``, in seed order."""
    found = rows(
        db,
        "SELECT network_code FROM crypto_asset_networks WHERE asset_code = ?"
        " ORDER BY position",
        (code,),
    )
    return [row["network_code"] for row in found]


def find_asset(db: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """Return the stored asset ``code`` (case-sensitive), or None."""
    return one(
        db,
        "SELECT seq, code, name, decimals, status FROM crypto_assets WHERE code = ?",
        (code,),
    )


def find_network(db: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """Return the stored network ``code`` (case-sensitive), or None."""
    return one(
        db,
        "SELECT seq, code, name, native_asset, confirmations, address_pattern, status"
        " FROM crypto_networks WHERE code = ?",
        (code,),
    )


def render_asset(db: sqlite3.Connection, row: dict[str, Any]) -> JSON:
    """Render a stored asset with its networks."""
    return {
        "object": "crypto_asset",
        "code": row["code"],
        "name": row["name"],
        "decimals": row["decimals"],
        "networks": asset_networks(db, row["code"]),
        "status": row["status"],
    }


def render_network(row: dict[str, Any]) -> JSON:
    """Render a stored network."""
    return {
        "object": "crypto_network",
        "code": row["code"],
        "name": row["name"],
        "native_asset": row["native_asset"],
        "confirmations": row["confirmations"],
        "address_pattern": row["address_pattern"],
        "status": row["status"],
    }


async def list_assets(ctx: RequestContext) -> Reply:
    """GET /v1/crypto/assets: in reference order (BTC first)."""
    limit, cursor = page_params(ctx, "ast")
    return list_page(
        ctx.db,
        kind="ast",
        select="SELECT seq, code, name, decimals, status FROM crypto_assets",
        where=[],
        limit=limit,
        cursor=cursor,
        render=lambda row: render_asset(ctx.db, row),
        oldest_first=True,
    )


async def retrieve_asset(ctx: RequestContext) -> Reply:
    """GET /v1/crypto/assets/{code}: case-sensitive code, 404 otherwise."""
    check_query(ctx)
    code = ctx.path_params["code"]
    row = find_asset(ctx.db, code)
    if row is None:
        raise not_found("crypto asset", code)
    return json_reply(render_asset(ctx.db, row))


async def list_networks(ctx: RequestContext) -> Reply:
    """GET /v1/crypto/networks: in reference order (bitcoin first)."""
    limit, cursor = page_params(ctx, "net")
    return list_page(
        ctx.db,
        kind="net",
        select="SELECT seq, code, name, native_asset, confirmations, address_pattern,"
        " status FROM crypto_networks",
        where=[],
        limit=limit,
        cursor=cursor,
        render=render_network,
        oldest_first=True,
    )
