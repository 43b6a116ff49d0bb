"""The signing guide's worked example is the test vectors, and it verifies."""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .openapi_support import ROOT, load_hook

HOOK = load_hook()
GUIDE = ROOT / "docs" / "guides" / "signing.md"


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = HOOK.load_vectors()
    return data


def test_the_guide_has_the_marker_and_the_hook_fills_it() -> None:
    source = GUIDE.read_text(encoding="utf-8")
    assert HOOK.WORKED_EXAMPLE_MARKER in source
    page = SimpleNamespace(file=SimpleNamespace(src_uri="guides/signing.md"))
    rendered = HOOK.on_page_markdown(source, page=page, config=None, files=None)
    assert HOOK.WORKED_EXAMPLE_MARKER not in rendered
    assert "### Multipart" in rendered


@pytest.mark.parametrize("name", ["post-json-non-ascii", "post-multipart"])
def test_worked_example_shows_the_vector_and_the_vector_verifies(
    vectors: dict[str, Any], name: str
) -> None:
    vector = next(v for v in vectors["vectors"] if v["name"] == name)
    given, expected = vector["input"], vector["output"]
    text = HOOK.render_worked_example(vectors, name)
    head, payload, signature = expected["token"].split(".")
    for shown in (head, payload, signature, expected["body_hash"], expected["kid"]):
        assert shown in text
    assert expected["payload_json"] in text
    assert expected["header_json"] in text

    # The example is real: each step follows from the previous one.
    body = base64.b64decode(given["body_base64"])
    assert hashlib.sha256(body).hexdigest() == expected["body_hash"]
    assert _b64decode(head) == expected["header_json"].encode()
    assert _b64decode(payload) == expected["payload_json"].encode()
    public = serialization.load_pem_public_key(
        vectors["keys"][given["key"]]["public_pem"].encode()
    )
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        _b64decode(signature),
        f"{head}.{payload}".encode("ascii"),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_a_body_that_does_not_match_its_hash_is_refused(
    vectors: dict[str, Any],
) -> None:
    broken = {
        **vectors,
        "vectors": [
            {**v, "input": {**v["input"], "body_base64": "e30="}}
            for v in vectors["vectors"]
        ],
    }
    with pytest.raises(ValueError, match="body_hash"):
        HOOK.render_worked_example(broken, "post-json-non-ascii")
