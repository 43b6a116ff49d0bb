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


CLIENT_FIXTURES_TEST = """
import pytest
from decimal import Decimal
from nuvera_client.errors import PermissionDeniedError

def test_client_fixture(nuvera_client, nuvera_application):
    customer = nuvera_client.customers.create(
        type="individual", name="Ada", email="ada@example.com")
    assert nuvera_client.customers.retrieve(customer.id).name == "Ada"
    assert nuvera_application.api_key not in repr(nuvera_client)

@pytest.mark.anyio
async def test_async_client_fixture(nuvera_async_client):
    page = await nuvera_async_client.crypto.assets.list(limit=2)
    assert len(page.data) == 2

@pytest.fixture
def anyio_backend():
    return "asyncio"

def test_app_factory(nuvera_app_factory, nuvera_application):
    from nuvera_client import NuveraClient
    reader = nuvera_app_factory(permissions=["CUSTOMERS_READ"], name="reader")
    other = nuvera_app_factory(permissions=["CRYPTO_READ"])
    assert reader.permissions == ("CUSTOMERS_READ",)
    assert len({reader.kid, other.kid, nuvera_application.kid}) == 3
    assert reader.base_url == nuvera_application.base_url
    assert reader.api_key not in repr(reader)
    with NuveraClient(reader.api_key, reader.private_key_pem,
                      base_url=reader.base_url) as client:
        assert client.customers.list().first_page().data == ()
        with pytest.raises(PermissionDeniedError):
            client.payments.list().first_page()

def test_respx_fixture(nuvera_respx):
    from nuvera_client import NuveraClient
    nuvera_respx.payments.retrieve.respond(200, json={
        **nuvera_respx_example(), "status": "failed"})
    with NuveraClient(nuvera_respx.api_key, nuvera_respx.private_key_pem,
                      base_url="https://api.sandbox.nuvera.com") as client:
        assert client.payments.retrieve("pay_1").status == "failed"
    assert nuvera_respx.payments.retrieve.call_count == 1

def nuvera_respx_example():
    from nuvera_client._respx_examples import EXAMPLES
    return EXAMPLES["payment"]

def test_respx_fixture_fails_a_wrong_signature(nuvera_respx):
    from nuvera_client import NuveraClient
    from nuvera_client.keys import generate_private_key, private_key_pem
    with NuveraClient(nuvera_respx.api_key, private_key_pem(generate_private_key(2048)),
                      base_url="https://api.sandbox.nuvera.com") as client:
        try:
            client.customers.list().first_page()
        except Exception:
            pass  # code under test that swallows errors: the fixture still fails
"""


def test_client_factory_and_respx_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT_FIXTURES_TEST)
    names = {ep.name for ep in entry_points(group="pytest11")}
    plugin = [] if "nuvera" in names else ["-p", "nuvera_client.testing"]
    result = pytester.runpytest_subprocess(*plugin, "-p", "anyio", "-W", "error", "-q")
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ContractViolation: 1 request(s) would be refused by Nuvera:",
            "*GET /v1/customers: 401 unknown_signing_key*",
        ]
    )
