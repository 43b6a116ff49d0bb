"""Every status an operation can return is declared in docs/openapi.yaml (issue 17).

Each of the 28 operations gets the requests a client or a fuzzer can send besides
the valid one: an unknown query parameter, a body over the size limit, a body of
another media type, a body that is not JSON. Whatever the sandbox answers must be
a status the operation declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from nuvera_client import NuveraAuth
from proof.operations import Operation, operations, seed
from proof.servers import Running, running_sandbox

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
LIMIT = 4096


def _declared() -> dict[tuple[str, str], set[str]]:
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    out: dict[tuple[str, str], set[str]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                out[(method.upper(), path)] = set(op["responses"])
    return out


def _template(op: Operation, ids: dict[str, str]) -> str:
    path = op.target.split("?", 1)[0]
    for _key, value in sorted(ids.items(), key=lambda kv: -len(kv[1])):
        path = path.replace(value, "{id}")
    return path.replace("/BTC", "/{code}")


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Running, dict[str, str], httpx.Client]]:
    with running_sandbox(max_body_bytes=LIMIT) as env:
        ids = seed(env.base_url, env.app.api_key, env.private_key_pem)
        auth = NuveraAuth(env.app.api_key, env.private_key_pem)
        with httpx.Client(base_url=env.base_url, auth=auth, timeout=30) as http:
            yield env, ids, http


def _probes(op: Operation) -> Iterator[tuple[str, dict[str, object]]]:
    sep = "&" if "?" in op.target else "?"
    headers = dict(op.headers)
    if op.content_type:
        headers["content-type"] = op.content_type
    yield (
        "unknown parameter",
        {
            "url": op.target + sep + "zz_unknown=1",
            "content": op.body,
            "headers": headers,
        },
    )
    big = {**headers, "content-type": op.content_type or "application/json"}
    yield (
        "too large",
        {"url": op.target, "content": b"{" + b" " * LIMIT + b"}", "headers": big},
    )
    yield (
        "media type",
        {
            "url": op.target,
            "content": b"x",
            "headers": {**headers, "content-type": "text/plain"},
        },
    )
    yield (
        "not JSON",
        {
            "url": op.target,
            "content": b"{nope",
            "headers": {**headers, "content-type": "application/json"},
        },
    )


def test_every_returned_status_is_declared(
    world: tuple[Running, dict[str, str], httpx.Client],
) -> None:
    _env, ids, http = world
    declared = _declared()
    undeclared: list[str] = []
    for op in operations(ids):
        key = (op.method, _template(op, ids))
        assert key in declared, key
        for probe, kwargs in _probes(op):
            response = http.request(op.method, **kwargs)  # type: ignore[arg-type]
            status = str(response.status_code)
            assert response.status_code < 500, (op.name, probe, response.text)
            if status not in declared[key]:
                code = response.json()["error"]["code"]
                undeclared.append(f"{op.method} {key[1]}: {probe} -> {status} {code}")
    assert not undeclared, "\n".join(undeclared)
