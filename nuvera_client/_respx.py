"""Owns ``NuveraMock``: respx routes named after SDK operations, contract-checked.

``mock.payments.create.respond(201, json={...})`` mocks ``POST /v1/payments``; every
route starts with a realistic default answer. Every intercepted request is checked
against PROTOCOL §3 (API key, token, signature, claims, body hash) by
``_contract_check``, which shares no code with the SDK's signer: a wrong request is
answered with the error the real API would send, and the test fails at the end
with the diagnosis (code and details), even if the code under test hid the error.
"""

from __future__ import annotations

import secrets
import time
import types
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from nuvera_client import _notebook
from nuvera_client._contract_check import Diagnosis, RequestFacts, check_request
from nuvera_client._contract_check import thumbprint as kid_of
from nuvera_client._respx_examples import EXAMPLES
from nuvera_client.errors import ContractViolation

__all__ = ["OPERATIONS", "ContractViolation", "NuveraMock"]

_ID = r"[^/]+"

OPERATIONS: dict[str, tuple[str, str, int, str | None]] = {
    # name: (method, path template, default status, example of the answer)
    "customers.list": ("GET", "/v1/customers", 200, "[customer]"),
    "customers.create": ("POST", "/v1/customers", 201, "customer"),
    "customers.retrieve": ("GET", "/v1/customers/{id}", 200, "customer"),
    "customers.update": ("PATCH", "/v1/customers/{id}", 200, "customer"),
    "beneficiaries.list": ("GET", "/v1/beneficiaries", 200, "[beneficiary]"),
    "beneficiaries.create": ("POST", "/v1/beneficiaries", 201, "beneficiary"),
    "beneficiaries.retrieve": ("GET", "/v1/beneficiaries/{id}", 200, "beneficiary"),
    "beneficiaries.update": ("PATCH", "/v1/beneficiaries/{id}", 200, "beneficiary"),
    "beneficiaries.delete": ("DELETE", "/v1/beneficiaries/{id}", 200, "deleted"),
    "documents.list": ("GET", "/v1/documents", 200, "[document]"),
    "documents.upload": ("POST", "/v1/documents", 201, "document"),
    "documents.retrieve": ("GET", "/v1/documents/{id}", 200, "document"),
    "documents.download": ("GET", "/v1/documents/{id}/content", 200, "<bytes>"),
    "crypto.assets.list": ("GET", "/v1/crypto/assets", 200, "[asset]"),
    "crypto.assets.retrieve": ("GET", "/v1/crypto/assets/{id}", 200, "asset"),
    "crypto.networks.list": ("GET", "/v1/crypto/networks", 200, "[network]"),
    "payments.list": ("GET", "/v1/payments", 200, "[payment]"),
    "payments.create": ("POST", "/v1/payments", 201, "payment"),
    "payments.retrieve": ("GET", "/v1/payments/{id}", 200, "payment"),
    "payments.cancel": ("POST", "/v1/payments/{id}/cancel", 200, "payment"),
    "screening.results.list": ("GET", "/v1/screening/results", 200, "[screening]"),
    "screening.results.retrieve": (
        "GET",
        "/v1/screening/results/{id}",
        200,
        "screening_result",
    ),
    "support.tickets.list": ("GET", "/v1/support/tickets", 200, "[ticket]"),
    "support.tickets.create": ("POST", "/v1/support/tickets", 201, "ticket"),
    "support.tickets.retrieve": ("GET", "/v1/support/tickets/{id}", 200, "ticket"),
    "support.tickets.close": ("POST", "/v1/support/tickets/{id}/close", 200, "ticket"),
    "support.tickets.messages.list": (
        "GET",
        "/v1/support/tickets/{id}/messages",
        200,
        "[message]",
    ),
    "support.tickets.messages.create": (
        "POST",
        "/v1/support/tickets/{id}/messages",
        201,
        "message",
    ),
}
"""Every operation of PROTOCOL §5.1, named as on the client (``client.<name>``)."""

_CLOCK_CODES = frozenset({"token_expired", "token_not_yet_valid"})
_LIST_OF = {"[screening]": "screening_result"}
_CONTENT = b"%PDF-1.4 passport\n"


@dataclass(frozen=True)
class Refusal:
    """One refused request: what was sent and what the server would say."""

    method: str
    target: str
    diagnosis: Diagnosis

    def __str__(self) -> str:
        d = self.diagnosis
        details = f" {d.details}" if d.details else ""
        return f"{self.method} {self.target}: {d.status} {d.code}: {d.message}{details}"


def _default_response(name: str) -> httpx.Response:
    _, _, status, example = OPERATIONS[name]
    headers = {"x-request-id": "req_" + secrets.token_hex(12)}
    if example is None:
        return httpx.Response(status, headers=headers)
    if example == "deleted":
        deleted = {"id": EXAMPLES["beneficiary"]["id"], "object": "beneficiary"}
        return httpx.Response(
            status, json={**deleted, "deleted": True}, headers=headers
        )
    if example == "<bytes>":
        return httpx.Response(
            status,
            content=_CONTENT,
            headers={**headers, "content-type": "application/pdf"},
        )
    if example.startswith("["):
        item = _LIST_OF.get(example, example[1:-1])
        body: Any = {"data": [EXAMPLES[item]], "has_more": False, "next_cursor": None}
    else:
        body = EXAMPLES[example]
    return httpx.Response(status, json=body, headers=headers)


class _Area:
    """``mock.payments`` and friends: attribute access down to a respx route."""

    def __init__(self, mock: NuveraMock, prefix: str) -> None:
        self._mock = mock
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        full = f"{self._prefix}.{name}"
        if full in OPERATIONS:
            return self._mock.route(full)
        if any(op.startswith(full + ".") for op in OPERATIONS):
            return _Area(self._mock, full)
        known = sorted(op for op in OPERATIONS if op.startswith(self._prefix + "."))
        raise AttributeError(f"no Nuvera operation {full!r}; known: {', '.join(known)}")


class NuveraMock:
    """A respx router for Nuvera operations that checks every request's signature.

    Args:
        base_url: the API base URL the client under test uses (default: any host).
        api_keys: the API keys the mocked application accepts; by default the
            generated ``api_key`` plus any given to ``trust()``.
        permissions: the application's permissions; when given, a call outside them
            is answered ``403 permission_denied`` (check 19).
        clock: the server clock in Unix seconds (inject it; default ``time.time``).
        assert_all_called: fail when a route set up with ``respond`` was not called.

    Test credentials come ready: ``mock.api_key`` and ``mock.private_key_pem`` are
    made on first use and trusted. Your own: ``mock.trust(public_key_pem, api_key)``.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_keys: Iterable[str] | None = None,
        permissions: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
        assert_all_called: bool = False,
    ) -> None:
        respx = _notebook.require("respx", "nuvera_respx / NuveraMock")
        self._respx = respx
        self._api_keys: set[str] | None = set(api_keys) if api_keys else None
        self._signing_keys: dict[str, Any] = {}
        self._permissions = None if permissions is None else frozenset(permissions)
        self._clock = clock
        self._seen_jti: set[str] = set()
        self._credentials: tuple[str, str] | None = None
        self.refusals: list[Refusal] = []
        """Every refused request, in order (the mock answered with the error)."""
        checker = self

        class _Router(respx.MockRouter):  # type: ignore[misc, name-defined]
            # respx documents handler()/async_handler() as the entry of a router.
            def handler(self, request: httpx.Request) -> httpx.Response:
                refused = checker._verify(request)
                return refused if refused is not None else super().handler(request)

            async def async_handler(self, request: httpx.Request) -> httpx.Response:
                refused = checker._verify(request)
                if refused is not None:
                    return refused
                response: httpx.Response = await super().async_handler(request)
                return response

        self.router: Any = _Router(
            base_url=base_url,
            assert_all_called=assert_all_called,
            assert_all_mocked=True,
        )
        self._routes: dict[str, Any] = {}

    # -- credentials ------------------------------------------------------------

    def _make_credentials(self) -> tuple[str, str]:
        if self._credentials is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")
            api_key = _new_test_key()
            self._credentials = (api_key, pem)
            self._trust_key(key.public_key(), api_key)
        return self._credentials

    @property
    def api_key(self) -> str:
        """A test API key this mock accepts (made on first use)."""
        return self._make_credentials()[0]

    @property
    def private_key_pem(self) -> str:
        """A private key whose public half this mock trusts (made on first use)."""
        return self._make_credentials()[1]

    def trust(self, public_key_pem: str | bytes, api_key: str | None = None) -> str:
        """Trust tokens signed by this public key (and API key); return its kid."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        data = (
            public_key_pem.encode()
            if isinstance(public_key_pem, str)
            else public_key_pem
        )
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, rsa.RSAPublicKey):
            raise TypeError("a Nuvera signing key is an RSA public key")
        return self._trust_key(public, api_key)

    def _trust_key(self, public: Any, api_key: str | None) -> str:
        kid = kid_of(public)
        self._signing_keys[kid] = public
        if api_key is not None:
            self._api_keys = (self._api_keys or set()) | {api_key}
        return kid

    # -- routes -------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if any(op.startswith(name + ".") for op in OPERATIONS):
            return _Area(self, name)
        raise AttributeError(f"no Nuvera area {name!r}")

    def route(self, operation: str) -> Any:
        """Return the respx route of ``operation`` (e.g. ``"payments.create"``)."""
        if operation not in OPERATIONS:
            raise KeyError(f"no Nuvera operation {operation!r}")
        route = self._routes.get(operation)
        if route is None:
            method, template, _, _ = OPERATIONS[operation]
            pattern = "^" + template.replace("{id}", _ID) + "$"
            route = self.router.route(
                method=method, path__regex=pattern, name=operation
            )
            route.mock(side_effect=lambda request: _default_response(operation))
            self._routes[operation] = route
        return route

    # -- checking -------------------------------------------------------------------

    def _verify(self, request: httpx.Request) -> httpx.Response | None:
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = request.read()
        facts = RequestFacts(
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            api_keys=request.headers.get_list("x-api-key"),
            authorization=request.headers.get_list("authorization"),
            body=body,
        )
        if not self._signing_keys:
            self._make_credentials()  # nothing trusted yet: the test keys only
        diagnosis = check_request(
            facts,
            api_keys=self._api_keys,
            signing_keys=self._signing_keys,
            now=self._clock(),
            seen_jti=self._seen_jti,
            required_permission=lambda: _permission_of(request.method, facts.target),
            permissions=self._permissions,
        )
        if diagnosis is None:
            return None
        self.refusals.append(Refusal(request.method, facts.target, diagnosis))
        request_id = "req_" + secrets.token_hex(12)
        return httpx.Response(
            diagnosis.status,
            json=diagnosis.body(request_id),
            headers={"x-request-id": request_id},
        )

    def assert_no_refusals(self) -> None:
        """Raise ``ContractViolation`` naming every refused request, if any.

        Clock refusals (``token_expired``, ``token_not_yet_valid``) are left out:
        they come from the server clock (``clock=``), and a client corrects them by
        itself (PROTOCOL §4).
        """
        wrong = [r for r in self.refusals if r.diagnosis.code not in _CLOCK_CODES]
        if wrong:
            lines = "\n".join(f"  {r}" for r in wrong)
            raise ContractViolation(
                f"{len(wrong)} request(s) would be refused by Nuvera:\n{lines}"
            )

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> NuveraMock:
        self.router.__enter__()
        for operation in OPERATIONS:
            self.route(operation)  # every operation answers by default
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.router.__exit__(exc_type, exc, tb)
        if exc_type is None:
            self.assert_no_refusals()


def _permission_of(method: str, target: str) -> str | None:
    from nuvera_client._permissions import Permission

    try:
        return Permission.required_for(method, target).value
    except KeyError:
        return None


def _new_test_key() -> str:
    import zlib

    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    body = "nvk_test_" + "".join(secrets.choice(alphabet) for _ in range(32))
    crc = zlib.crc32(body.encode("ascii"))
    check = ""
    while crc:
        crc, digit = divmod(crc, 62)
        check = alphabet[digit] + check
    return body + check.rjust(6, "0")
