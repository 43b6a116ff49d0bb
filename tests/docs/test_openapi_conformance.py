"""docs/openapi.yaml, the sandbox's routes and the SDK's resources agree one to one.

- The sandbox's ``ENDPOINTS`` are exactly the file's operations (method, path,
  permission), none missing or extra.
- Every public method of every SDK resource (sync and async) sends exactly the
  request of one operation, needs exactly that operation's permission, and takes
  exactly the fields of its request schema; every operation has a method.
- A short scripted run against the sandbox produces responses that validate against
  the file's schemas (Draft 2020-12), strictly: no undeclared field.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import ApiKey
from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import APIError, NotFoundError

from .openapi_support import load_openapi, operations, resolve, validator_for

DOC = load_openapi()
OPS = {op["operationId"]: (method, path, op) for method, path, op in operations(DOC)}

# Which operation each public SDK method calls: resource attribute path -> verb -> id.
SDK_METHODS: dict[str, dict[str, str]] = {
    "customers": {
        "list": "customers_list",
        "create": "customers_create",
        "retrieve": "customers_retrieve",
        "update": "customers_update",
    },
    "beneficiaries": {
        "list": "beneficiaries_list",
        "create": "beneficiaries_create",
        "retrieve": "beneficiaries_retrieve",
        "update": "beneficiaries_update",
        "delete": "beneficiaries_delete",
    },
    "documents": {
        "list": "documents_list",
        "upload": "documents_upload",
        "retrieve": "documents_retrieve",
        "download": "documents_download",
        "download_to": "documents_download",
        "stream": "documents_download",
    },
    "crypto.assets": {
        "list": "crypto_assets_list",
        "retrieve": "crypto_assets_retrieve",
    },
    "crypto.networks": {"list": "crypto_networks_list"},
    "payments": {
        "list": "payments_list",
        "create": "payments_create",
        "retrieve": "payments_retrieve",
        "cancel": "payments_cancel",
        # A waiter: retrieve() polled until a status (the id only).
        "wait": "payments_retrieve",
    },
    "screening.results": {
        "list": "screening_results_list",
        "retrieve": "screening_results_retrieve",
    },
    "support.tickets": {
        "list": "support_tickets_list",
        "create": "support_tickets_create",
        "retrieve": "support_tickets_retrieve",
        "close": "support_tickets_close",
    },
    "support.tickets.messages": {
        "list": "support_messages_list",
        "create": "support_messages_create",
    },
}

# Parameters that steer the SDK rather than fill the request.
CONTROL = {
    "extra_headers",
    "extra_query",
    "extra_body",
    "idempotency_key",
    "max_retries",
    "timeout",
    "limit",
    "filename",
    "content_type",
    "path",
    "progress",
}

DUMMY: dict[str, Any] = {
    "customer_id": "cus_1",
    "beneficiary_id": "ben_1",
    "document_id": "doc_1",
    "payment_id": "pay_1",
    "result_id": "scr_1",
    "ticket_id": "tkt_1",
    "code": "BTC",
    "name": "N",
    "email": "n@example.com",
    "currency": "EUR",
    "file": b"bytes",
    "amount": Decimal("1.00"),
    "subject": "s",
    "body": "b",
}
DUMMY_TYPE = {
    "customers": "individual",
    "beneficiaries": "bank_account",
    "documents": "passport",
}


def _template_of(method: str, raw_path: str) -> str:
    path = raw_path.split("?", 1)[0]
    for op_method, template, _ in operations(DOC):
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
        if op_method == method and re.fullmatch(pattern, path):
            return template
    raise AssertionError(f"{method} {raw_path} is no operation of openapi.yaml")


def _not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        404,
        json={
            "error": {
                "type": "not_found_error",
                "code": "not_found",
                "message": "No such object",
                "request_id": "req_1",
                "details": {},
            }
        },
        headers={"x-request-id": "req_1"},
    )


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def sync_client(private_key_pem: str) -> Iterator[NuveraClient]:
    with NuveraClient(
        ApiKey.generate("test"), private_key_pem, base_url="http://127.0.0.1"
    ) as client:
        yield client


def _resolve_attr(root: object, dotted: str) -> object:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


def _public_methods(resource: object) -> set[str]:
    names = set()
    for name, member in inspect.getmembers(type(resource)):
        if name.startswith("_") or not callable(member):
            continue
        if isinstance(inspect.getattr_static(type(resource), name), property):
            continue
        names.add(name)
    return names


def _arguments(resource_path: str, func: Callable[..., Any], tmp: Path) -> Any:
    args, kwargs = [], {}
    for param in inspect.signature(func).parameters.values():
        if param.default is not inspect.Parameter.empty:
            continue
        if param.name == "type":
            value: Any = DUMMY_TYPE[resource_path]
        elif param.name == "path":
            value = tmp / "download.bin"
        else:
            value = DUMMY[param.name]
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    if func.__name__ == "update":
        kwargs["name"] = "N"  # an update needs at least one field
    return args, kwargs


def _cases() -> Iterator[tuple[str, str, str]]:
    for resource_path, verbs in SDK_METHODS.items():
        for verb, op_id in verbs.items():
            yield resource_path, verb, op_id


CASES = list(_cases())


def _request_fields(op: dict[str, Any]) -> set[str]:
    fields: set[str] = set()
    body = op.get("requestBody")
    if body is None:
        return fields
    for content in body["content"].values():
        schema = resolve(DOC, content["schema"])
        for variant in schema.get("oneOf", [schema]):
            fields |= set(resolve(DOC, variant).get("properties", {}))
    return fields


def _query_fields(op: dict[str, Any]) -> set[str]:
    params = [resolve(DOC, p) for p in op.get("parameters", [])]
    # limit is a control parameter; cursor= is on every list method since issue 16.
    return {p["name"] for p in params if p["in"] == "query"} - {"limit"}


def _invoke(verb: str, func: Callable[..., Any], args: Any, kwargs: Any) -> None:
    """Call a sync SDK method far enough that it sends its request."""
    result = func(*args, **kwargs)
    if verb == "list":
        next(iter(result))
    elif verb == "stream":
        with result as chunks:
            b"".join(chunks)


async def _ainvoke(verb: str, func: Callable[..., Any], args: Any, kwargs: Any) -> None:
    """Call an async SDK method far enough that it sends its request."""
    if verb == "list":
        await func(*args, **kwargs).first_page()
    elif verb == "stream":
        async with func(*args, **kwargs) as chunks:
            async for _ in chunks:
                pass
    else:
        await func(*args, **kwargs)


# ---------------------------------------------------------------- the sandbox


def test_sandbox_endpoints_match_openapi_one_to_one() -> None:
    from nuvera_client.sandbox._routes import ENDPOINTS

    routes = [(e.method, e.path, e.permission) for e in ENDPOINTS]
    documented = [(m, p, op["x-nuvera-permission"]) for m, p, op in operations(DOC)]
    assert len(routes) == len(set(routes)), "duplicate sandbox route"
    assert set(routes) - set(documented) == set(), "routes missing from openapi.yaml"
    assert set(documented) - set(routes) == set(), "operations the sandbox lacks"


# -------------------------------------------------------------------- the SDK


def test_every_operation_has_an_sdk_method() -> None:
    assert {op_id for _, _, op_id in CASES} == set(OPS)


def test_the_file_names_the_python_method_of_each_operation() -> None:
    for op_id, (_, _, op) in OPS.items():
        dotted = op["x-nuvera-python"].removeprefix("client.")
        resource_path, verb = dotted.rsplit(".", 1)
        assert SDK_METHODS[resource_path][verb] == op_id


@pytest.mark.parametrize("resource_path", sorted(SDK_METHODS))
def test_resources_have_no_unmapped_public_method(
    resource_path: str, sync_client: NuveraClient, private_key_pem: str
) -> None:
    asynchronous = AsyncNuveraClient(
        ApiKey.generate("test"), private_key_pem, base_url="http://127.0.0.1"
    )
    expected = set(SDK_METHODS[resource_path])
    # ``tickets.messages`` is a sub-resource, listed on its own.
    for client in (sync_client, asynchronous):
        found = _public_methods(_resolve_attr(client, resource_path)) - {"messages"}
        assert found == expected, type(client).__name__


@pytest.mark.parametrize(("resource_path", "verb", "op_id"), CASES)
def test_sync_method_sends_its_operation(
    resource_path: str, verb: str, op_id: str, private_key_pem: str, tmp_path: Path
) -> None:
    method, template, op = OPS[op_id]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _not_found(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with NuveraClient(
        ApiKey.generate("test"),
        private_key_pem,
        base_url="http://127.0.0.1",
        http_client=http,
        max_retries=0,
    ) as client:
        func = getattr(_resolve_attr(client, resource_path), verb)
        args, kwargs = _arguments(resource_path, func, tmp_path)
        with pytest.raises(NotFoundError):
            _invoke(verb, func, args, kwargs)
        assert client.permissions_used == {op["x-nuvera-permission"]}
    assert len(seen) == 1
    request = seen[0]
    assert request.method == method
    assert _template_of(request.method, request.url.raw_path.decode()) == template
    has_key = "idempotency-key" in request.headers
    if op_id == "payments_create":
        assert has_key
    if method != "POST":
        assert not has_key


@pytest.mark.anyio
@pytest.mark.parametrize(("resource_path", "verb", "op_id"), CASES)
async def test_async_method_sends_its_operation(
    resource_path: str, verb: str, op_id: str, private_key_pem: str, tmp_path: Path
) -> None:
    method, template, op = OPS[op_id]
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _not_found(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncNuveraClient(
        ApiKey.generate("test"),
        private_key_pem,
        base_url="http://127.0.0.1",
        http_client=http,
        max_retries=0,
    ) as client:
        func = getattr(_resolve_attr(client, resource_path), verb)
        args, kwargs = _arguments(resource_path, func, tmp_path)
        with pytest.raises(NotFoundError):
            await _ainvoke(verb, func, args, kwargs)
        assert client.permissions_used == {op["x-nuvera-permission"]}
    await http.aclose()
    assert len(seen) == 1
    assert seen[0].method == method
    assert _template_of(method, seen[0].url.raw_path.decode()) == template


@pytest.mark.parametrize(("resource_path", "verb", "op_id"), CASES)
def test_method_parameters_are_the_operation_fields(
    resource_path: str, verb: str, op_id: str, sync_client: NuveraClient
) -> None:
    method, template, op = OPS[op_id]
    if verb in {"download_to", "stream", "download", "retrieve", "delete", "wait"}:
        return  # the id only; checked by the request test
    resource_class = type(_resolve_attr(sync_client, resource_path))
    params = inspect.signature(getattr(resource_class, verb)).parameters.values()
    path_params = set(re.findall(r"\{([a-z_]+)\}", template))
    names = {
        p.name
        for p in params
        if p.name != "self" and p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD
    } - CONTROL
    positional = [
        p.name
        for p in params
        if p.name != "self" and p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert len(positional) == len(path_params), "the id is the only positional"
    expected = _query_fields(op) if method == "GET" else _request_fields(op)
    assert names == expected


# ------------------------------------------------- sandbox responses vs schemas


def _response_schema(method: str, raw_path: str, status: int, media: str) -> Any:
    template = _template_of(method, raw_path)
    op = DOC["paths"][template][method.lower()]
    responses = op["responses"]
    assert str(status) in responses, (
        f"{method} {template} answered undocumented {status}"
    )
    response = resolve(DOC, responses[str(status)])
    content = response.get("content", {})
    if media in content:
        return content[media]["schema"], response
    assert "*/*" in content, f"{method} {template} {status}: no {media} in the file"
    return content["*/*"]["schema"], response


class _Recorder(httpx.BaseTransport):
    """Wrap a transport and keep every (request, response, body) it carries."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        self.exchanges.append((request, response, body))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
        )


ALL_PERMISSIONS = sorted({op["x-nuvera-permission"] for _, _, op in operations(DOC)})
IBAN = "DE89370400440532013000"
WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def _scripted_run(client: NuveraClient, raw: httpx.Client, tmp: Path) -> None:
    """Call every operation at least once, plus the common refusals."""
    ada = client.customers.create(
        type="individual",
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+447700900123",
        country="GB",
        metadata={"crm": "A-1"},
    )
    client.customers.create(
        type="business", name="Sanction Corp", email="s@example.com"
    )
    list(client.customers.list(limit=1))
    client.customers.retrieve(ada.id)
    client.customers.update(ada.id, name="Ada King")
    bank = client.beneficiaries.create(
        customer_id=ada.id,
        type="bank_account",
        name="Rent",
        currency="EUR",
        bank_account={"iban": IBAN, "bic": "COBADEFFXXX"},
    )
    wallet = client.beneficiaries.create(
        customer_id=ada.id,
        type="crypto_wallet",
        name="Cold wallet",
        currency="USDC",
        crypto_wallet={"asset": "USDC", "network": "ethereum", "address": WALLET},
    )
    list(client.beneficiaries.list(customer_id=ada.id))
    client.beneficiaries.retrieve(bank.id)
    client.beneficiaries.update(bank.id, name="Landlord")
    client.beneficiaries.delete(wallet.id)
    document = client.documents.upload(
        customer_id=ada.id, type="passport", file=b"%PDF-1.4 passport", filename="p.pdf"
    )
    list(client.documents.list(customer_id=ada.id))
    client.documents.retrieve(document.id)
    assert client.documents.download(document.id) == b"%PDF-1.4 passport"
    list(client.crypto.assets.list(limit=100))
    client.crypto.assets.retrieve("BTC")
    list(client.crypto.networks.list())
    payment = client.payments.create(
        customer_id=ada.id,
        beneficiary_id=bank.id,
        amount=Decimal("250.00"),
        currency="EUR",
        reference="Invoice 42",
        idempotency_key="conformance-payment-1",
    )
    replay = client.payments.create(
        customer_id=ada.id,
        beneficiary_id=bank.id,
        amount=Decimal("250.00"),
        currency="EUR",
        reference="Invoice 42",
        idempotency_key="conformance-payment-1",
    )
    assert replay.id == payment.id
    list(client.payments.list(customer_id=ada.id))
    client.payments.retrieve(payment.id)
    client.payments.cancel(payment.id)
    results = list(client.screening.results.list(subject_id=ada.id))
    client.screening.results.retrieve(results[0].id)
    ticket = client.support.tickets.create(subject="Payout", body="Where is it?")
    list(client.support.tickets.list())
    client.support.tickets.retrieve(ticket.id)
    client.support.tickets.messages.create(ticket.id, body="Any news?")
    attachment = tmp / "receipt.txt"
    attachment.write_bytes(b"receipt")
    client.support.tickets.messages.create(
        ticket.id, body="Receipt attached", attachments=[attachment]
    )
    list(client.support.tickets.messages.list(ticket.id))
    client.support.tickets.close(ticket.id)
    # Refusals: each must also match the file.
    for call in (
        lambda: client.customers.retrieve("cus_doesnotexist"),
        lambda: client.customers.create(type="individual", name="X", email="nope"),
        lambda: client.payments.cancel(payment.id),
        lambda: client.support.tickets.close(ticket.id),
    ):
        with pytest.raises(APIError):
            call()
    raw.get("/v1/customers")  # no credentials at all: 401


@pytest.fixture(scope="module")
def sandbox_exchanges(
    private_key_pem: str, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[httpx.Request, httpx.Response, bytes]]:
    sandbox_module = pytest.importorskip("nuvera_client.sandbox")
    sandbox = sandbox_module.Sandbox()
    key = serialization.load_pem_private_key(private_key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    public_pem = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    app = sandbox.create_application(
        name="conformance", permissions=ALL_PERMISSIONS, public_key_pem=public_pem
    )
    recorder = _Recorder(sandbox.transport())
    http = httpx.Client(transport=recorder, base_url="http://127.0.0.1")
    with NuveraClient(
        app.api_key,
        private_key_pem,
        base_url="http://127.0.0.1",
        http_client=http,
        max_retries=0,
    ) as client:
        _scripted_run(client, http, tmp_path_factory.mktemp("conformance"))
    http.close()
    sandbox.close()
    return recorder.exchanges


def test_the_scripted_run_covers_every_operation(
    sandbox_exchanges: list[tuple[httpx.Request, httpx.Response, bytes]],
) -> None:
    covered = {
        (request.method, _template_of(request.method, request.url.raw_path.decode()))
        for request, response, _ in sandbox_exchanges
        if response.status_code < 300
    }
    assert covered == {(m, p) for m, p, _ in operations(DOC)}


def test_sandbox_responses_validate_against_the_schemas(
    sandbox_exchanges: list[tuple[httpx.Request, httpx.Response, bytes]],
) -> None:
    statuses = set()
    for request, response, body in sandbox_exchanges:
        where = (
            f"{request.method} {request.url.raw_path.decode()} {response.status_code}"
        )
        media = response.headers.get("content-type", "").split(";")[0].strip()
        schema, documented = _response_schema(
            request.method, request.url.raw_path.decode(), response.status_code, media
        )
        for header in documented.get("headers", {}):
            if resolve(DOC, documented["headers"][header]).get("required"):
                assert header.lower() in response.headers, f"{where}: no {header}"
        statuses.add(response.status_code)
        if media != "application/json":
            assert schema.get("contentMediaType") == "application/octet-stream", where
            continue
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator_for(schema, strict=True).iter_errors(json.loads(body))
        ]
        assert errors == [], (where, errors)
    assert {200, 201, 401, 404, 409, 422} <= statuses


def test_an_idempotent_replay_is_marked_and_identical(
    sandbox_exchanges: list[tuple[httpx.Request, httpx.Response, bytes]],
) -> None:
    creates = [
        (response, body)
        for request, response, body in sandbox_exchanges
        if request.method == "POST" and request.url.path == "/v1/payments"
    ]
    assert len(creates) == 2
    (first, first_body), (second, second_body) = creates
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert json.loads(first_body) == json.loads(second_body)


def test_a_download_carries_its_content_length(
    sandbox_exchanges: list[tuple[httpx.Request, httpx.Response, bytes]],
) -> None:
    downloads = [
        (response, body)
        for request, response, body in sandbox_exchanges
        if request.url.path.endswith("/content") and response.status_code == 200
    ]
    assert downloads
    for response, body in downloads:
        assert response.headers.get("content-length") == str(len(body))


# ----------------------------------------------------------- the SDK's models

MODEL_ENUMS = {  # model enum -> where the file defines its values
    "BeneficiaryStatus": "#/components/schemas/BeneficiaryStatus",
    "BeneficiaryType": "#/components/schemas/BeneficiaryType",
    "CryptoStatus": "#/components/schemas/ReferenceStatus",
    "CustomerStatus": "#/components/schemas/CustomerStatus",
    "CustomerType": "#/components/schemas/CustomerType",
    "DocumentType": "#/components/schemas/DocumentType",
    "KycStatus": "#/components/schemas/KycStatus",
    "MessageAuthor": "#/components/schemas/SupportMessage/properties/author",
    "PaymentStatus": "#/components/schemas/PaymentStatus",
    "ScreeningStatus": "#/components/schemas/ScreeningStatus",
    "SubjectType": "#/components/schemas/ScreeningResult/properties/subject_type",
    "TicketPriority": "#/components/schemas/TicketPriority",
    "TicketStatus": "#/components/schemas/TicketStatus",
}


def _models() -> dict[str, Any]:
    import dataclasses

    from nuvera_client import models

    return {
        name: getattr(models, name)
        for name in models.__all__
        if dataclasses.is_dataclass(getattr(models, name)) and name != "NuveraModel"
    }


def test_models_have_exactly_the_schema_fields() -> None:
    import dataclasses

    models = _models()
    assert len(models) >= 14
    for name, model in models.items():
        schema = DOC["components"]["schemas"][name]
        fields = {f.name for f in dataclasses.fields(model)} - {"extra"}
        assert fields == set(schema["properties"]), name


def test_model_enums_have_exactly_the_schema_values() -> None:
    import enum

    from nuvera_client import models

    enums = {
        name: getattr(models, name)
        for name in models.__all__
        if isinstance(getattr(models, name), type)
        and issubclass(getattr(models, name), enum.Enum)
        and name != "OpenEnum"  # the base class
    }
    assert set(enums) == set(MODEL_ENUMS)
    for name, model_enum in enums.items():
        values = set(resolve(DOC, {"$ref": MODEL_ENUMS[name]})["enum"])
        assert {member.value for member in model_enum} == values, name


def test_sandbox_responses_round_trip_through_the_models(
    sandbox_exchanges: list[tuple[httpx.Request, httpx.Response, bytes]],
) -> None:
    models = _models()
    parsed = 0
    for request, response, body in sandbox_exchanges:
        if not 200 <= response.status_code < 300:
            continue
        if not response.headers.get("content-type", "").startswith("application/json"):
            continue
        schema, _ = _response_schema(
            request.method, request.url.raw_path.decode(), response.status_code,
            "application/json",
        )  # fmt: skip
        name = schema["$ref"].rsplit("/", 1)[1]
        payload = json.loads(body)
        items = [payload]
        if name.endswith("List"):
            name, items = name[: -len("List")], payload["data"]
        for item in items:
            model = models[name].from_dict(item)
            assert model.extra == {}, (name, model.extra)
            assert model.to_dict() == item, name
            parsed += 1
    assert parsed > 40
