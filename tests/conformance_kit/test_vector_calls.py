"""Every vector not marked signing-only is a call the API accepts the shape of."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from nuvera_client import NuveraAuth
from nuvera_client.sandbox import PERMISSIONS, Sandbox

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "spec" / "vectors.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def callers() -> Iterator[dict[str, tuple[httpx.Client, NuveraAuth]]]:
    with Sandbox() as sandbox:
        out = {}
        for name, key in VECTORS["keys"].items():
            app = sandbox.create_application(
                name=name,
                permissions=list(PERMISSIONS),
                public_key_pem=key["public_pem"],
            )
            private = serialization.load_pem_private_key(key["pem"].encode(), None)
            out[name] = (
                httpx.Client(transport=sandbox.transport(), base_url="http://sandbox"),
                NuveraAuth(app.api_key, private),  # type: ignore[arg-type]
            )
        yield out
        for http, _ in out.values():
            http.close()


def _send(callers: dict[str, Any], vector: dict[str, Any]) -> httpx.Response:
    given = vector["input"]
    http, auth = callers[given["key"]]
    response: httpx.Response = http.request(
        given["method"],
        given["uri"],
        content=base64.b64decode(given["body_base64"]),
        headers=given.get("headers", {}),
        auth=auth,
    )
    return response


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vector_request_shape(callers: dict[str, Any], vector: dict[str, Any]) -> None:
    response = _send(callers, vector)
    assert response.status_code != 401, response.text  # the signing is right
    error = response.json().get("error", {}) if response.status_code >= 400 else {}
    if vector["signing_only"]:
        # Refused for its shape, after verification, as signing_only_reason says.
        assert response.status_code in (405, 422)
        assert str(response.status_code) in vector["signing_only_reason"]
        return
    if response.status_code == 422:
        # Only references to objects this sandbox does not hold (the vector ids).
        fields = error["details"]["fields"]
        assert all(msg.startswith("no such") for msg in fields.values()), fields
    else:
        assert response.status_code in (200, 201, 404), response.text
