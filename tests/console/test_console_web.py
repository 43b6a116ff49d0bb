"""The console's screens over the in-process transport: session, roles, refusals."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import httpx
import pytest
from console_support import Browserless, send_signed
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client.sandbox import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    CreatedApplication,
    Sandbox,
)
from nuvera_client.sandbox import console as console_package
from nuvera_client.sandbox._transport import SandboxTransport

KEY_RE = re.compile(r"nvk_test_[0-9A-Za-z]{38}")


def test_pages_carry_a_strict_policy_and_a_safe_cookie(web: Browserless) -> None:
    response = web.get("/console/signin")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie
    assert "<script>" not in response.text
    assert " style=" not in response.text


def test_anonymous_users_are_sent_to_sign_in(web: Browserless) -> None:
    response = web.get("/console/apps")
    assert response.url.path == "/console/signin"
    assert "partner@sandbox.local" in response.text


def test_forms_without_the_csrf_token_are_refused(
    web: Browserless, sandbox: Sandbox
) -> None:
    web.sign_in("usr_partner")
    response = web.post(
        "/console/apps",
        {"name": "x", "permissions": "CRYPTO_READ", "public_key_pem": "x"},
        csrf=False,
    )
    assert response.status_code == 403
    assert "security token" in response.text
    assert sandbox.list_applications() == []


def test_sign_in_issues_a_new_session(web: Browserless) -> None:
    web.get("/console/signin")
    before = web.http.cookies.get("nuvera_console")
    web.post("/console/signin", {"user": "usr_partner"})
    assert web.http.cookies.get("nuvera_console") not in (None, before)


def test_partner_creates_an_application_and_sees_the_key_once(
    web: Browserless, sandbox: Sandbox, console_key: rsa.RSAPrivateKey
) -> None:
    web.sign_in("usr_partner")
    response = web.post(
        "/console/apps",
        {
            "name": "payouts",
            "permissions": ["CRYPTO_READ", "CUSTOMERS_READ"],
            "public_key_pem": keys.public_key_pem(console_key),
        },
    )
    assert response.status_code == 200
    assert "you will not see this again" in response.text
    (shown,) = set(KEY_RE.findall(response.text))
    again = web.get(str(response.url))
    assert KEY_RE.search(again.text) is None
    assert "shown once" in again.text
    (view,) = sandbox.list_applications()
    assert view.permissions == ("CUSTOMERS_READ", "CRYPTO_READ")
    page = web.get(f"/console/apps/{view.id}")
    assert KEY_RE.search(page.text) is None
    assert f"{shown[:13]}…{shown[-4:]}" in page.text


def test_write_without_read_is_refused_by_the_platform_rule(
    web: Browserless, console_key: rsa.RSAPrivateKey
) -> None:
    web.sign_in("usr_partner")
    response = web.post(
        "/console/apps",
        {
            "name": "x",
            "permissions": ["PAYMENTS_WRITE"],
            "public_key_pem": keys.public_key_pem(console_key),
        },
    )
    assert response.status_code == 400
    assert "PAYMENTS_WRITE needs its read permission too" in response.text


def test_admin_actions_need_a_reason_that_is_audited(
    web: Browserless, sandbox: Sandbox, app: CreatedApplication
) -> None:
    web.sign_in("usr_admin")
    hub = web.get("/console/admin")
    assert app.id in hub.text
    refused = web.post(f"/console/apps/{app.id}/status", {"status": "disabled"})
    assert "Give a reason" in refused.text
    assert sandbox.get_application(app.id).status == "active"
    done = web.post(
        f"/console/apps/{app.id}/status",
        {"status": "disabled", "reason": "incident INC-42"},
    )
    assert sandbox.get_application(app.id).status == "disabled"
    assert "incident INC-42" in done.text
    entry = sandbox.audit_log(app.id)[-1]
    assert entry.action == "application.disable"
    assert entry.actor == DEFAULT_ADMIN
    assert entry.details["reason"] == "incident INC-42"


def test_admin_rotates_but_never_sees_a_key(
    web: Browserless, sandbox: Sandbox, app: CreatedApplication
) -> None:
    web.sign_in("usr_admin")
    page = web.get(f"/console/apps/{app.id}")
    assert "Rotate API key (partner reveals)" in page.text
    assert app.api_key not in page.text
    refused = web.post(f"/console/apps/{app.id}/rotate", {"grace_period": "0"})
    assert "Give a reason" in refused.text
    assert len(sandbox.get_application(app.id).api_keys) == 1
    done = web.post(
        f"/console/apps/{app.id}/rotate", {"grace_period": "0", "reason": "INC-7"}
    )
    assert done.status_code == 200
    assert KEY_RE.search(done.text) is None
    old, new = sandbox.get_application(app.id).api_keys
    assert old.prefix == app.api_key[:13]
    assert f"New API key {new.prefix}…{new.last_four} created unrevealed" in done.text
    assert "active, unrevealed" in done.text
    entry = sandbox.audit_log(app.id)[-1]
    assert entry.action == "api_key.rotate"
    assert entry.actor == DEFAULT_ADMIN
    assert entry.details["reason"] == "INC-7"
    assert entry.details["unrevealed"] is True
    # Neither the page nor a reveal hands the admin the key.
    assert "Reveal " not in done.text
    denied = web.post(f"/console/apps/{app.id}/reveal", {"prefix": new.prefix})
    assert denied.status_code == 403
    assert KEY_RE.search(denied.text) is None
    assert sandbox.platform.unrevealed_api_keys(app.id) == (new.prefix,)
    assert web.get("/console/apps").status_code == 403


def test_partner_reveals_an_admin_rotated_key_once(
    web: Browserless,
    sandbox: Sandbox,
    app: CreatedApplication,
    console_key: rsa.RSAPrivateKey,
) -> None:
    rotated = sandbox.rotate_api_key(app.id, 300, actor=DEFAULT_ADMIN)
    assert rotated.api_key is None
    web.sign_in("usr_partner")
    page = web.get(f"/console/apps/{app.id}")
    assert f"Reveal {rotated.prefix}… once" in page.text
    shown = web.post(f"/console/apps/{app.id}/reveal", {"prefix": rotated.prefix})
    assert "API key revealed for svc" in shown.text
    (new_key,) = set(KEY_RE.findall(shown.text))
    assert new_key[:13] == rotated.prefix
    assert new_key[-4:] == rotated.last_four
    # The revealed key is the one the sandbox accepts.
    works = send_signed(
        sandbox,
        dataclasses.replace(app, api_key=new_key),
        console_key,
    )
    assert works.status_code == 200, works.text
    assert sandbox.audit_log(app.id)[-1].action == "api_key.reveal"
    # Once only: the button is gone and a second reveal is refused.
    again = web.get(f"/console/apps/{app.id}")
    assert "once</button>" not in again.text
    assert new_key not in again.text
    second = web.post(f"/console/apps/{app.id}/reveal", {"prefix": rotated.prefix})
    assert second.status_code == 404
    assert KEY_RE.search(second.text) is None


@pytest.mark.parametrize(
    "path",
    [
        "/console",
        "/console/apps",
        "/console/apps/new",
        "/console/admin",
        "/console/requests",
        "/console/requests/feed",
        "/console/requests/1",
        "/console/apps/APP",
        "/console/apps/APP/key",
    ],
)
def test_customer_platform_users_are_refused_on_every_screen(
    web: Browserless, app: CreatedApplication, path: str
) -> None:
    web.sign_in("usr_customer")
    response = web.get(path.replace("APP", app.id))
    assert response.status_code == 403
    assert "Customer-platform users cannot create or use" in response.text


@pytest.mark.parametrize(
    "action", ["status", "permissions", "revoke", "rotate", "add-signing-key"]
)
def test_customer_platform_users_are_refused_on_every_form(
    web: Browserless, sandbox: Sandbox, app: CreatedApplication, action: str
) -> None:
    web.sign_in("usr_customer")
    response = web.post(f"/console/apps/{app.id}/{action}", {"status": "disabled"})
    assert response.status_code == 403
    assert "Customer-platform users cannot create or use" in response.text
    assert len(sandbox.audit_log(app.id)) == 1  # the creation only


def test_partner_of_another_organisation_is_refused(
    web: Browserless, sandbox: Sandbox, app: CreatedApplication
) -> None:
    sandbox.create_user("rival@other.example", "partner", "Other Ltd")
    web.get("/console/signin")
    users = sandbox.platform.list_users()
    rival = next(u for u, _ in users if u.email == "rival@other.example")
    web.post("/console/signin", {"user": rival.id})
    response = web.get(f"/console/apps/{app.id}")
    assert response.status_code == 403
    assert "belongs to another organisation" in response.text


def test_add_a_user_from_the_sign_in_page(web: Browserless, sandbox: Sandbox) -> None:
    web.get("/console/signin")
    response = web.post(
        "/console/users",
        {"email": "qa@partner.example", "role": "partner", "organisation": ""},
    )
    assert "Added qa@partner.example" in response.text
    assert any(
        u.email == "qa@partner.example" for u, _ in sandbox.platform.list_users()
    )
    assert DEFAULT_CUSTOMER in response.text


def test_inspector_shows_a_body_hash_mismatch(
    web: Browserless,
    sandbox: Sandbox,
    app: CreatedApplication,
    console_key: rsa.RSAPrivateKey,
) -> None:
    send_signed(
        sandbox,
        app,
        console_key,
        method="POST",
        target="/v1/customers",
        body=b'{"a":1}',
        signed_body=b'{"a":2}',
    )
    web.sign_in("usr_partner")
    listing = web.get("/console/requests", params={"code": "body_hash_mismatch"})
    (link,) = re.findall(r'href="(/console/requests/\d+)"', listing.text)
    page = web.get(link)
    assert "Failed check <strong>18</strong>" in page.text
    assert "body_hash_mismatch" in page.text
    assert "<mark>" in page.text
    row = sandbox.request_log.list()[0]
    assert row.entry["derived"]["body_hash"][:8] in page.text
    assert row.entry["claimed"]["body_hash"][:8] in page.text
    assert app.api_key not in page.text
    feed = web.get("/console/requests/feed", params={"after": "0"}).json()
    assert feed[0]["error_code"] == "body_hash_mismatch"


def test_console_refuses_a_non_loopback_host(sandbox: Sandbox) -> None:
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://console.example"
    ) as client:
        response = client.get("/console/signin")
    assert response.status_code == 403
    assert "loopback" in response.json()["error"]


def test_console_requests_stay_out_of_the_request_log(
    web: Browserless, sandbox: Sandbox
) -> None:
    web.get("/console/signin")
    assert sandbox.request_log.list() == []


def test_console_refuses_a_non_loopback_client(sandbox: Sandbox) -> None:
    transport = SandboxTransport(sandbox.app, client=("192.0.2.7", 50000))
    with httpx.Client(transport=transport, base_url="http://127.0.0.1") as client:
        response = client.get("/console/signin")
    assert response.status_code == 403
    assert "loopback clients only" in response.json()["error"]


def test_partner_manages_keys_from_the_application_page(
    web: Browserless,
    sandbox: Sandbox,
    app: CreatedApplication,
    console_key: rsa.RSAPrivateKey,
) -> None:
    web.sign_in("usr_partner")
    rotated = web.post(f"/console/apps/{app.id}/rotate", {"grace_period": "300"})
    (new_key,) = set(KEY_RE.findall(rotated.text))
    view = sandbox.get_application(app.id)
    assert [k.prefix for k in view.api_keys] == [app.api_key[:13], new_key[:13]]
    assert view.api_keys[0].expires_at is not None
    web.post(f"/console/apps/{app.id}/revoke", {"prefix": app.api_key[:13]})
    assert sandbox.get_application(app.id).api_keys[0].status == "revoked"
    second = keys.generate_private_key(2048)
    added = web.post(
        f"/console/apps/{app.id}/add-signing-key",
        {"public_key_pem": keys.public_key_pem(second)},
    )
    kid = keys.kid_of(second)
    assert f"Signing key {kid} added." in added.text
    web.post(f"/console/apps/{app.id}/remove-signing-key", {"kid": app.kid})
    active = [
        s.kid
        for s in sandbox.get_application(app.id).signing_keys
        if s.status == "active"
    ]
    assert active == [kid]
    page = web.get(f"/console/apps/{app.id}")
    assert new_key not in page.text
    assert f"{new_key[:13]}…{new_key[-4:]}" in page.text
    assert [e.action for e in sandbox.audit_log(app.id)][-4:] == [
        "api_key.rotate",
        "api_key.revoke",
        "signing_key.add",
        "signing_key.remove",
    ]


def test_admin_fixes_permissions_and_revokes_with_reasons(
    web: Browserless, sandbox: Sandbox, app: CreatedApplication
) -> None:
    web.sign_in("usr_admin")
    web.post(
        f"/console/apps/{app.id}/permissions",
        {"permissions": ["CRYPTO_READ"], "reason": "ticket T-1"},
    )
    web.post(
        f"/console/apps/{app.id}/revoke",
        {"prefix": app.api_key[:13], "reason": "leaked in a log"},
    )
    audit = sandbox.audit_log(app.id)
    assert [(e.action, e.details["reason"]) for e in audit[-2:]] == [
        ("application.set_permissions", "ticket T-1"),
        ("api_key.revoke", "leaked in a log"),
    ]
    assert sandbox.get_application(app.id).permissions == ("CRYPTO_READ",)
    refused = web.post(
        f"/console/apps/{app.id}/add-signing-key",
        {"public_key_pem": "x", "reason": "because"},
    )
    assert refused.status_code == 403


def test_sign_out_ends_the_session(web: Browserless) -> None:
    web.sign_in("usr_partner")
    assert web.get("/console/apps").url.path == "/console/apps"
    web.post("/console/signout", {})
    assert web.get("/console/apps").url.path == "/console/signin"


def test_every_static_file_the_templates_name_ships_and_is_served(
    web: Browserless,
) -> None:
    package = Path(console_package.__file__).parent
    named = set()
    for template in (package / "templates").glob("*.html"):
        named |= set(re.findall(r"/console/static/([\w.-]+)", template.read_text()))
    assert named == {"console.css", "console.js", "keygen.js", "logs.js"}
    for name in sorted(named):
        assert (package / "static" / name).is_file()
        response = web.get(f"/console/static/{name}")
        assert response.status_code == 200
        assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_customer_platform_users_cannot_create_an_application(
    web: Browserless, sandbox: Sandbox, console_key: rsa.RSAPrivateKey
) -> None:
    web.sign_in("usr_customer")
    response = web.post(
        "/console/apps",
        {
            "name": "sneaky",
            "permissions": ["CRYPTO_READ"],
            "public_key_pem": keys.public_key_pem(console_key),
        },
    )
    assert response.status_code == 403
    assert "Customer-platform users cannot create or use" in response.text
    assert sandbox.list_applications(actor="usr_admin") == []
