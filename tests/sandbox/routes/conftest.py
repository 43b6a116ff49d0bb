"""Fixtures: call the route handlers directly over an in-memory SQLite store."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartParser

from nuvera_client.sandbox._handlers import Endpoint, RequestContext
from nuvera_client.sandbox._problems import ApiProblem
from nuvera_client.sandbox._routes import ENDPOINTS, SCHEMA_SQL, seed

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
START = datetime(2026, 11, 27, 21, 53, 40, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _compile(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))


ROUTES = [(endpoint, _compile(endpoint.path)) for endpoint in ENDPOINTS]


@dataclass
class Result:
    """What a handler answered (or the problem it raised), ready to assert on."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    chunks: list[bytes] = field(default_factory=list)
    media_type: str = ""

    @property
    def error(self) -> dict[str, Any]:
        assert self.status >= 400, self.body
        err: dict[str, Any] = self.body["error"]
        return err

    @property
    def fields(self) -> dict[str, str]:
        assert self.error["code"] == "validation_failed", self.body
        fields: dict[str, str] = self.error["details"]["fields"]
        return fields


class Api:
    """Send requests to the handlers the way the app does, for one application."""

    def __init__(self, db: sqlite3.Connection, application_id: str) -> None:
        self.db = db
        self.application_id = application_id
        self.now = START
        self.max_body_bytes = 25 * 1024 * 1024
        self.new_id_style = "plain"

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def _new_id(self, prefix: str) -> str:
        random = "".join(secrets.choice(BASE62) for _ in range(24))
        # Both conventions the app might use: "cus" -> "cus_…" or "cus…".
        return (
            f"{prefix}_{random}"
            if self.new_id_style == "underscore"
            else prefix + random
        )

    def route(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        for endpoint, pattern in ROUTES:
            match = pattern.fullmatch(path)
            if match and endpoint.method == method:
                return endpoint, match.groupdict()
        raise AssertionError(f"no endpoint {method} {path}")

    async def request(
        self,
        method: str,
        target: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
    ) -> Result:
        body = b""
        ctype = content_type or ""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            ctype = content_type or "application/json"
        elif data is not None or files is not None:
            built = httpx.Request(
                "POST", "http://sandbox" + target, data=data, files=files
            )
            body = built.read()
            ctype = content_type or built.headers["content-type"]
        elif content is not None:
            body = content
        parts = urlsplit(target)
        endpoint, params = self.route(method, parts.path)
        forms: list[FormData] = []

        async def form() -> FormData:
            async def stream() -> AsyncGenerator[bytes, None]:
                yield body

            parser = MultiPartParser(
                Headers({"content-type": ctype}), stream(), max_part_size=len(body) + 1
            )
            parsed = await parser.parse()
            forms.append(parsed)
            return parsed

        ctx = RequestContext(
            application_id=self.application_id,
            method=method,
            path=parts.path,
            path_params=params,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers=Headers({"content-type": ctype} if ctype else {}),
            read_body=lambda: body,
            content_type=ctype,
            open_db=lambda: self.db,
            now=self.now,
            max_body_bytes=self.max_body_bytes,
            new_id=self._new_id,
            form=form,
        )
        self.db.execute("BEGIN")
        try:
            reply = await endpoint.handler(ctx)
        except ApiProblem as exc:
            self.db.execute("ROLLBACK")
            error = {
                "type": exc.type,
                "code": exc.code,
                "message": exc.message,
                "request_id": "req_test",
                "details": exc.details,
            }
            return Result(exc.status, {"error": error}, exc.headers)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        finally:
            for parsed in forms:
                await parsed.close()
        self.db.execute("COMMIT")
        result = Result(
            reply.status, reply.body, reply.headers, media_type=reply.media_type
        )
        if reply.stream is not None:
            if isinstance(reply.stream, Iterator):
                result.chunks = list(reply.stream)
            else:
                result.chunks = [chunk async for chunk in reply.stream]
            result.content = b"".join(result.chunks)
        else:
            # The app serialises with json.dumps: the body must survive it unchanged.
            assert json.loads(json.dumps(reply.body)) == reply.body
        return result

    async def get(self, target: str) -> Result:
        return await self.request("GET", target)

    async def post(self, target: str, body: Any = None, **kwargs: Any) -> Result:
        return await self.request("POST", target, json_body=body, **kwargs)

    async def patch(self, target: str, body: Any) -> Result:
        return await self.request("PATCH", target, json_body=body)

    async def delete(self, target: str) -> Result:
        return await self.request("DELETE", target)

    # ---- builders for the objects most tests need ----------------------------------

    async def customer(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "type": "individual",
            "name": "Ada Lovelace",
            "email": f"ada.{secrets.token_hex(4)}@example.com",
            **overrides,
        }
        result = await self.post("/v1/customers", body)
        assert result.status == 201, result.body
        created: dict[str, Any] = result.body
        return created

    async def bank_beneficiary(
        self, customer_id: str, **overrides: Any
    ) -> dict[str, Any]:
        body = {
            "customer_id": customer_id,
            "type": "bank_account",
            "name": "Charles Babbage",
            "currency": "EUR",
            "bank_account": {
                "iban": "DE89 3704 0044 0532 0130 00",
                "bic": "COBADEFFXXX",
            },
            **overrides,
        }
        result = await self.post("/v1/beneficiaries", body)
        assert result.status == 201, result.body
        created: dict[str, Any] = result.body
        return created


def make_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.row_factory = sqlite3.Row  # as the app's store does
    db.executescript(SCHEMA_SQL)
    seed(db)
    return db


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = make_db()
    yield connection
    connection.close()


@pytest.fixture
def api(db: sqlite3.Connection) -> Api:
    return Api(db, "app_" + "A" * 24)


@pytest.fixture
def other_api(db: sqlite3.Connection) -> Api:
    """A second application on the same store."""
    return Api(db, "app_" + "B" * 24)


# ---- OpenAPI conformance -------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi_schema() -> Any:
    if not OPENAPI.exists():
        pytest.skip("docs/openapi.yaml not present")
    import jsonschema
    import yaml
    from referencing import Registry, Resource

    spec = yaml.safe_load(OPENAPI.read_text())
    resource = Resource.from_contents(spec, default_specification=_draft202012())
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)

    def check(instance: Any, name: str) -> None:
        schema = {"$ref": f"urn:openapi#/components/schemas/{name}"}
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        # Responses must carry every property the schema names (nulls present).
        target = spec["components"]["schemas"][name]
        for key in target.get("required", []):
            assert key in instance

    return check


def _draft202012() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012
