"""The ``nuvera`` pytest plugin's fixtures (loaded through ``-p``, as the entry
point would)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGIN_TEST = """
import hashlib, json, secrets, time, base64
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from nuvera_client.sandbox import PERMISSIONS

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def test_application_works(nuvera_application):
    app = nuvera_application
    assert app.base_url.startswith("http://127.0.0.1:")
    assert app.permissions == PERMISSIONS
    assert app.api_key not in repr(app) and "PRIVATE" not in repr(app)
    key = serialization.load_pem_private_key(app.private_key_pem.encode(), None)
    now = int(time.time())
    claims = {"iss": "nuvera-api", "aud": "nuvera-rest-api", "iat": now,
              "exp": now + 30, "jti": secrets.token_hex(16), "method": "GET",
              "uri": "/v1/nothing", "body_hash": hashlib.sha256(b"").hexdigest()}
    head = b64(json.dumps({"alg": "RS256", "kid": app.kid, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()))
    response = httpx.get(app.base_url + "/v1/nothing", headers={
        "x-api-key": app.api_key, "authorization": f"Bearer {head}.{body}.{sig}"})
    assert response.status_code == 404, response.text

def test_sandboxes_are_isolated(nuvera_sandbox):
    assert nuvera_sandbox.list_applications() == []
    nuvera_sandbox.create_application(name="x", permissions=[])

def test_sandboxes_are_isolated_again(nuvera_sandbox):
    assert nuvera_sandbox.list_applications() == []
"""


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PLUGIN_TEST)
    # Installed, the plugin loads through its pytest11 entry point; else name it.
    names = {ep.name for ep in entry_points(group="pytest11")}
    plugin = [] if "nuvera" in names else ["-p", "nuvera_client.testing"]
    result = pytester.runpytest_subprocess(*plugin, "-W", "error", "-q")
    result.assert_outcomes(passed=3)


def test_plugin_import_is_cheap_and_quiet() -> None:
    code = textwrap.dedent(
        """
        import sys, warnings
        warnings.simplefilter("error")
        import nuvera_client.testing
        heavy = [m for m in ("starlette", "uvicorn", "nuvera_client.sandbox")
                 if m in sys.modules]
        print(heavy)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""
