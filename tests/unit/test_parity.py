"""Each sync resource and its async twin expose the same methods and signatures."""

from __future__ import annotations

import inspect
import typing

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.resources import (
    beneficiaries,
    crypto,
    customers,
    documents,
    payments,
    screening,
    support,
)

PAIRS = [
    (customers.Customers, customers.AsyncCustomers),
    (beneficiaries.Beneficiaries, beneficiaries.AsyncBeneficiaries),
    (documents.Documents, documents.AsyncDocuments),
    (crypto.CryptoAssets, crypto.AsyncCryptoAssets),
    (crypto.CryptoNetworks, crypto.AsyncCryptoNetworks),
    (payments.Payments, payments.AsyncPayments),
    (screening.ScreeningResults, screening.AsyncScreeningResults),
    (support.Tickets, support.AsyncTickets),
    (support.TicketMessages, support.AsyncTicketMessages),
    (crypto.Crypto, crypto.AsyncCrypto),
    (screening.Screening, screening.AsyncScreening),
    (support.Support, support.AsyncSupport),
]

# Return annotations that legitimately differ between the twins.
ASYNC_EQUIVALENT = {
    "Page": "AsyncPage",
    "AbstractContextManager[Iterator[bytes]]": (
        "AbstractAsyncContextManager[AsyncIterator[bytes]]"
    ),
}

VERBS = {
    "list",
    "create",
    "retrieve",
    "update",
    "delete",
    "cancel",
    "close",
    "upload",
    "download",
    "download_to",
    "stream",
    "wait",
}


def _public_methods(cls: type) -> dict[str, typing.Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def _normalise(annotation: str) -> str:
    for sync, asynchronous in ASYNC_EQUIVALENT.items():
        annotation = annotation.replace(asynchronous, sync)
    return annotation


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda c: c.__name__)
def test_same_methods_and_signatures(sync: type, asynchronous: type) -> None:
    sync_methods = _public_methods(sync)
    async_methods = _public_methods(asynchronous)
    assert set(sync_methods) == set(async_methods)
    assert set(sync_methods) <= VERBS
    for name, method in sync_methods.items():
        twin = async_methods[name]
        s_sig, a_sig = inspect.signature(method), inspect.signature(twin)
        assert list(s_sig.parameters) == list(a_sig.parameters), name
        for param, a_param in zip(
            s_sig.parameters.values(), a_sig.parameters.values(), strict=True
        ):
            assert param.kind == a_param.kind, (name, param.name)
            assert param.default == a_param.default, (name, param.name)
            assert param.annotation == a_param.annotation, (name, param.name)
        assert _normalise(str(s_sig.return_annotation)) == _normalise(
            str(a_sig.return_annotation)
        ), name
        # Calls that send one request are coroutines in the async twin; list()
        # and stream() return lazy objects in both.
        lazy = name in {"list", "stream"}
        assert not inspect.iscoroutinefunction(method)
        assert inspect.iscoroutinefunction(twin) is not lazy, name


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda c: c.__name__)
def test_only_id_is_positional(sync: type, asynchronous: type) -> None:
    for cls in (sync, asynchronous):
        for name, method in _public_methods(cls).items():
            params = list(inspect.signature(method).parameters.values())[1:]
            positional = [
                p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY
            ]
            allowed = 2 if name == "download_to" else 1  # (id, path)
            assert len(positional) <= allowed, (cls.__name__, name, positional)
            for p in positional:
                assert p.endswith("_id") or p in {"code", "path"}, (name, p)


def test_clients_have_same_signature_and_resources() -> None:
    s_sig = inspect.signature(NuveraClient.__init__)
    a_sig = inspect.signature(AsyncNuveraClient.__init__)
    assert list(s_sig.parameters) == list(a_sig.parameters)
    assert list(s_sig.parameters)[1:] == [
        "api_key",
        "private_key",
        "passphrase",
        "base_url",
        "environment",
        "timeout",
        "max_retries",
        "permissions",
        "http_client",
        "ttl",
        "credentials",
        "max_response_bytes",
        "http_stack",
        "max_concurrency",
    ]
    for name in s_sig.parameters:
        if name in {"self", "http_client"}:
            continue
        assert s_sig.parameters[name].default == a_sig.parameters[name].default
    sync_public = {n for n in dir(NuveraClient) if not n.startswith("_")}
    async_public = {n for n in dir(AsyncNuveraClient) if not n.startswith("_")}
    assert sync_public - {"close"} == async_public - {"aclose"}
