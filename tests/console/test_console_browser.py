"""The console in a real browser: Debian's chromium, driven by role and label.

Skipped (with the reason) when Playwright or a chromium binary is missing;
``.ci/run`` installs chromium. Screenshots of each screen are taken on every run;
with ``NUVERA_SCREENSHOTS=1`` they are also written to ``docs/images/``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import NuveraClient, RequestSigner
from nuvera_client.sandbox import Sandbox, SandboxServer

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Playwright (the dev extra)"
)
CHROMIUM = os.environ.get("NUVERA_CHROMIUM") or shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "browser tests need Debian's chromium (apt-get install chromium)",
        allow_module_level=True,
    )
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
KEY_RE = re.compile(r"nvk_test_[0-9A-Za-z]{38}")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with Sandbox() as sandbox, sandbox.serve(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def context() -> Iterator[Any]:
    with (
        tempfile.TemporaryDirectory() as profile,
        playwright_api.sync_playwright() as pw,
    ):
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1180, "height": 900},
        )
        ctx.set_default_timeout(15_000)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    tab.close()
    # A CSP violation (an inline script or style) shows up as a console error.
    assert not [e for e in errors if "Content Security Policy" in e], errors


UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter((el) => !el.hidden && el.offsetParent !== null)
  .filter((el) => {
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || (el.textContent || '').trim();
    return !named;
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


def shot(page: Any, name: str, tmp_path: Path) -> None:
    """Screenshot the page; keep it in docs/images when NUVERA_SCREENSHOTS=1.

    Every screen photographed is also checked for controls without a name (a
    visible label, an aria-label or text), the way a screen reader meets them.
    """
    assert page.evaluate(UNLABELLED) == []
    target = tmp_path / f"console-{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 1000
    if os.environ.get("NUVERA_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_IMAGES / target.name)


def sign_in(page: Any, server: SandboxServer, email: str) -> None:
    page.goto(server.base_url + "/console/signin")
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
    page.get_by_label(re.compile("^" + re.escape(email))).check()
    page.get_by_role("button", name="Sign in").click()


def one_time_key(page: Any) -> str:
    expect = playwright_api.expect
    expect(page.get_by_text("you will not see this again")).to_be_visible()
    value = page.get_by_label("API key", exact=True).input_value()
    assert KEY_RE.fullmatch(value)
    return str(value)


def test_sign_in_as_each_role(page: Any, server: SandboxServer, tmp_path: Path) -> None:
    expect = playwright_api.expect
    page.goto(server.base_url + "/console")
    expect(
        page.get_by_role("heading", name="Sign in as a platform user")
    ).to_be_visible()
    shot(page, "signin", tmp_path)
    sign_in(page, server, "partner@sandbox.local")
    expect(page.get_by_role("heading", name="API Applications")).to_be_visible()
    sign_in(page, server, "admin@nuvera.local")
    expect(page.get_by_role("heading", name="Admin organisation hub")).to_be_visible()
    sign_in(page, server, "customer@sandbox.local")
    expect(page.get_by_role("alert")).to_contain_text(
        "Customer-platform users cannot create or use REST API applications"
    )
    shot(page, "refused", tmp_path)
    # Every screen, not only the home page.
    for path in ("/console/apps", "/console/apps/new", "/console/requests"):
        page.goto(server.base_url + path)
        expect(page.get_by_role("alert")).to_contain_text("Customer-platform users")


def test_create_use_reveal_rotate(
    page: Any, server: SandboxServer, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    posted: list[str] = []
    page.on(
        "request",
        lambda r: posted.append(r.post_data or "") if r.method == "POST" else None,
    )
    sign_in(page, server, "partner@sandbox.local")
    page.get_by_role("link", name="Create application").click()
    page.get_by_label("Name").fill("payouts-service")
    # The picker ticks the read permission with its write, and unticks the write
    # when its read goes.
    page.get_by_label("CUSTOMERS_WRITE").check()
    expect(page.get_by_label("CUSTOMERS_READ")).to_be_checked()
    page.get_by_label("CRYPTO_READ").check()
    page.get_by_label("PAYMENTS_WRITE").check()
    page.get_by_label("PAYMENTS_READ").uncheck()
    expect(page.get_by_label("PAYMENTS_WRITE")).not_to_be_checked()
    page.get_by_role("button", name="Generate key pair in this browser").click()
    link = page.get_by_role("link", name="Download private key (PKCS#8 PEM)")
    expect(link).to_be_visible()
    shot(page, "create", tmp_path)
    with page.expect_download() as download_info:
        link.click()
    private_path = tmp_path / "private.pem"
    download_info.value.save_as(private_path)
    pem = private_path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size >= 2048
    assert private.public_key().public_numbers().e == 65537
    page.get_by_role("button", name="Create application").click()
    api_key = one_time_key(page)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=server.base_url
    )
    page.get_by_role("button", name="Copy API key").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == api_key
    shot(page, "key-once", tmp_path)
    # The private key never went to the server.
    assert posted
    assert not [p for p in posted if "PRIVATE KEY" in p]
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("shown once")
    assert KEY_RE.search(page.content()) is None

    with NuveraClient(api_key, private_path, base_url=server.base_url) as client:
        assert client.crypto.assets.list().first_page().data

    page.get_by_role("link", name="Go to the application's page").click()
    expect(page.get_by_role("heading", name="payouts-service")).to_be_visible()
    page.get_by_label("Grace period for the current key").select_option("3600")
    page.get_by_role("button", name="Rotate API key").click()
    new_key = one_time_key(page)
    assert new_key != api_key
    for key in (api_key, new_key):  # both work during the grace period
        with NuveraClient(key, private_path, base_url=server.base_url) as client:
            assert client.crypto.assets.list().first_page().data
    page.get_by_role("link", name="Go to the application's page").click()
    expect(
        page.get_by_role("cell", name=f"{new_key[:13]}…{new_key[-4:]}")
    ).to_be_visible()
    assert new_key not in page.content()
    shot(page, "application", tmp_path)
    page.get_by_role("link", name="API Applications").click()
    expect(page.get_by_role("link", name="payouts-service")).to_be_visible()
    shot(page, "applications", tmp_path)


def test_admin_disables_with_a_reason(
    page: Any, server: SandboxServer, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    sandbox = server.sandbox
    created = sandbox.create_application(name="ledger", permissions=["CRYPTO_READ"])
    sign_in(page, server, "admin@nuvera.local")
    shot(page, "admin-hub", tmp_path)
    page.get_by_role("link", name="ledger").click()
    expect(page.get_by_role("button", name="Rotate API key", exact=True)).to_have_count(
        0
    )
    expect(
        page.get_by_role("button", name="Rotate API key (partner reveals)")
    ).to_be_visible()
    page.get_by_label("Reason for disabling (recorded in the audit log)").fill(
        "fraud report FR-7"
    )
    page.get_by_role("button", name="Disable application").click()
    expect(page.get_by_role("status").first).to_contain_text("disabled")
    row = page.get_by_role("row").filter(has_text="application.disable")
    expect(row).to_contain_text("admin@nuvera.local")
    expect(row).to_contain_text("fraud report FR-7")
    assert created.api_key not in page.content()
    shot(page, "admin-application", tmp_path)
    assert sandbox.get_application(created.id).status == "disabled"


def test_admin_rotates_and_the_partner_reveals_once(
    page: Any, server: SandboxServer, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    sandbox = server.sandbox
    created = sandbox.create_application(name="treasury", permissions=["CRYPTO_READ"])
    sign_in(page, server, "admin@nuvera.local")
    page.get_by_role("link", name="treasury").click()
    page.get_by_label("Reason for the rotation (recorded in the audit log)").fill(
        "partner asked, ticket T-9"
    )
    page.get_by_role("button", name="Rotate API key (partner reveals)").click()
    expect(page.get_by_role("status").first).to_contain_text("created unrevealed")
    assert KEY_RE.findall(page.content()) == []
    _, new = sandbox.get_application(created.id).api_keys
    sign_in(page, server, "partner@sandbox.local")
    page.get_by_role("link", name="treasury").click()
    reveal = page.get_by_role("button", name=f"Reveal API key {new.prefix}… once")
    expect(reveal).to_be_visible()
    shot(page, "reveal-waiting", tmp_path)
    reveal.click()
    api_key = one_time_key(page)
    assert (api_key[:13], api_key[-4:]) == (new.prefix, new.last_four)
    page.get_by_role("link", name="Go to the application's page").click()
    expect(
        page.get_by_role("button", name=re.compile("^Reveal API key"))
    ).to_have_count(0)
    assert api_key not in page.content()


def test_inspector_shows_a_wrong_body_hash(
    page: Any, server: SandboxServer, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    sandbox = server.sandbox
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    created = sandbox.create_application(
        name="inspect-me",
        permissions=["CUSTOMERS_READ", "CUSTOMERS_WRITE"],
        public_key_pem=public.decode(),
    )
    sent, signed = b'{"name":"Ada"}', b'{"name":"Ada "}'
    token = RequestSigner(key).sign("POST", "/v1/customers", signed)
    response = httpx.post(
        server.base_url + "/v1/customers",
        content=sent,
        headers={
            "x-api-key": created.api_key,
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
        },
    )
    assert response.json()["error"]["code"] == "body_hash_mismatch"
    details = response.json()["error"]["details"]
    sign_in(page, server, "partner@sandbox.local")
    page.get_by_role("link", name="Requests").click()
    page.get_by_label("Error code").select_option("body_hash_mismatch")
    page.get_by_role("button", name="Filter").click()
    shot(page, "requests", tmp_path)
    page.get_by_role("link", name="/v1/customers").first.click()
    expect(page.get_by_text("Failed check 18 of PROTOCOL §3")).to_be_visible()
    compare = page.get_by_role("row").filter(has_text="Body hash (SHA-256)")
    expect(compare).to_contain_text(details["expected"])
    expect(compare).to_contain_text(details["received"])
    expect(compare.locator("mark").first).to_be_visible()
    assert created.api_key not in page.content()
    assert token.rsplit(".", 1)[1] not in page.content()
    shot(page, "request", tmp_path)


def test_live_update_adds_new_requests(page: Any, server: SandboxServer) -> None:
    expect = playwright_api.expect
    sign_in(page, server, "admin@nuvera.local")
    page.get_by_role("link", name="Requests").click()
    expect(page.get_by_label("Show new requests as they arrive")).to_be_checked()
    httpx.get(server.base_url + "/v1/live-update-probe")
    expect(page.get_by_role("link", name="/v1/live-update-probe")).to_be_visible()


def test_sign_in_with_the_keyboard_only(page: Any, server: SandboxServer) -> None:
    expect = playwright_api.expect
    page.goto(server.base_url + "/console/signin")
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/console/signin")
        page.goto(server.base_url + "/console/signin")  # focus starts afresh
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.keyboard.press("Tab")  # the skip link
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")  # the checked user of the radio group
    expect(page.get_by_label(re.compile("^customer@sandbox.local"))).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next user: the Nuvera admin
    expect(page.get_by_label(re.compile("^admin@nuvera.local"))).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Admin organisation hub")).to_be_visible()
