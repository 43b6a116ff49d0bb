"""PROTOCOL §1.2 and §1.3 on the platform; upload part types; the CLI's key file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock

from nuvera_client._cli import main
from nuvera_client.sandbox import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    Sandbox,
    SandboxError,
)


def _code(exc: pytest.ExceptionInfo[SandboxError]) -> str:
    return exc.value.code


# -- §1.2: one application per public key -----------------------------------------


def test_a_key_active_on_another_application_is_refused(
    sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    pem = public_pem(rsa_key)
    first = sandbox.create_application(name="a", permissions=[], public_key_pem=pem)
    with pytest.raises(SandboxError) as exc:
        sandbox.create_application(name="b", permissions=[], public_key_pem=pem)
    assert _code(exc) == "signing_key_in_use"
    assert "another application" in exc.value.message
    second = sandbox.create_application(
        name="b", permissions=[], public_key_pem=public_pem(rsa_key_2)
    )
    with pytest.raises(SandboxError) as exc:
        sandbox.add_signing_key(second.id, pem)
    assert _code(exc) == "signing_key_in_use"
    # Once removed from the first application, the key may move.
    sandbox.remove_signing_key(first.id, first.kid)
    assert sandbox.add_signing_key(second.id, pem) == first.kid
    # Nothing was created by the refusals.
    assert len(sandbox.list_applications()) == 2


def test_one_token_is_accepted_by_one_application_only(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    """The attack the rule closes: one token replayed against a second application."""
    with pytest.raises(SandboxError):
        caller.sandbox.create_application(
            name="twin",
            permissions=ALL_PERMISSIONS,
            public_key_pem=public_pem(caller.key),
        )


# -- §1.3: who may do what --------------------------------------------------------


def test_admin_rotation_leaves_the_key_for_a_partner_to_reveal_once(
    caller: Caller,
) -> None:
    sb, app = caller.sandbox, caller.app
    rotated = sb.rotate_api_key(app.id, grace_period=60, actor=DEFAULT_ADMIN)
    assert rotated.api_key is None  # the admin never receives it
    assert rotated.prefix.startswith("nvk_test_")
    # Neither an admin, nor a partner of another organisation, may reveal it.
    sb.create_user("eve@other.example", "partner", organisation="Other Ltd")
    for actor in (DEFAULT_ADMIN, "eve@other.example", DEFAULT_CUSTOMER):
        with pytest.raises(SandboxError) as exc:
            sb.reveal_api_key(app.id, rotated.prefix, actor=actor)
        assert _code(exc) == "forbidden"
    key = sb.reveal_api_key(app.id, rotated.prefix)
    assert key.startswith(rotated.prefix)
    assert key.endswith(rotated.last_four)
    assert caller.send("GET", "/v1/customers", api_key=key).status_code == 200
    with pytest.raises(SandboxError) as exc:
        sb.reveal_api_key(app.id, rotated.prefix)
    assert _code(exc) == "not_found"
    # Revealed: the plaintext is gone from the store; the audit names no secret.
    with sb.store.transaction() as db:
        assert db.execute("SELECT count(*) FROM api_key_reveals").fetchone()[0] == 0
    log = sb.audit_log(app.id)
    assert [e.action for e in log][-2:] == ["api_key.rotate", "api_key.reveal"]
    assert log[-2].details["unrevealed"] is True
    assert key not in json.dumps([e.to_dict() for e in log])


def test_a_partner_rotation_returns_the_key_at_once(caller: Caller) -> None:
    rotated = caller.sandbox.rotate_api_key(caller.app.id)
    assert rotated.api_key is not None
    with pytest.raises(SandboxError) as exc:
        caller.sandbox.reveal_api_key(caller.app.id, rotated.prefix)
    assert _code(exc) == "not_found"


def test_unrevealed_keys_are_listed_until_revealed_or_revoked(caller: Caller) -> None:
    sb, app_id = caller.sandbox, caller.app.id
    assert sb.platform.unrevealed_api_keys(app_id) == ()
    first = sb.rotate_api_key(app_id, 60, actor=DEFAULT_ADMIN, reason="ticket T-3")
    assert sb.audit_log(app_id)[-1].details["reason"] == "ticket T-3"
    assert sb.platform.unrevealed_api_keys(app_id) == (first.prefix,)
    assert sb.platform.unrevealed_api_keys(app_id, actor=DEFAULT_ADMIN) == (
        first.prefix,
    )
    with pytest.raises(SandboxError) as exc:
        sb.platform.unrevealed_api_keys(app_id, actor=DEFAULT_CUSTOMER)
    assert _code(exc) == "forbidden"
    sb.reveal_api_key(app_id, first.prefix)
    assert sb.platform.unrevealed_api_keys(app_id) == ()
    sb.revoke_api_key(app_id, caller.app.api_key[:13])
    second = sb.rotate_api_key(app_id, 0, actor=DEFAULT_ADMIN)
    assert sb.platform.unrevealed_api_keys(app_id) == (second.prefix,)
    sb.revoke_api_key(app_id, second.prefix, actor=DEFAULT_ADMIN)
    assert sb.platform.unrevealed_api_keys(app_id) == ()


def test_an_admin_may_not_add_a_signing_key(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(SandboxError) as exc:
        caller.sandbox.add_signing_key(
            caller.app.id, public_pem(rsa_key_2), actor=DEFAULT_ADMIN
        )
    assert _code(exc) == "forbidden"
    # Still allowed: emergency removal.
    caller.sandbox.remove_signing_key(caller.app.id, caller.kid, actor=DEFAULT_ADMIN)


@pytest.mark.parametrize(
    "operation",
    ["create", "create-admin", "rotate", "add-key", "permissions"],
)
def test_forbidden_comes_before_any_validation(caller: Caller, operation: str) -> None:
    """Garbage arguments from an actor that may not act: forbidden, not invalid."""
    sb, app_id = caller.sandbox, caller.app.id
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: sb.create_application(
            name="", permissions=["NOPE"], public_key_pem="junk", actor=DEFAULT_CUSTOMER
        ),
        "create-admin": lambda: sb.create_application(
            name="", permissions=["NOPE"], public_key_pem="junk", actor=DEFAULT_ADMIN
        ),
        "rotate": lambda: sb.rotate_api_key(app_id, -5, actor=DEFAULT_CUSTOMER),
        "add-key": lambda: sb.add_signing_key(app_id, "junk", actor=DEFAULT_ADMIN),
        "permissions": lambda: sb.set_permissions(
            app_id, ["NOPE"], actor=DEFAULT_CUSTOMER
        ),
    }
    with pytest.raises(SandboxError) as exc:
        calls[operation]()
    assert _code(exc) == "forbidden"


# -- upload part Content-Type -----------------------------------------------------


def _multipart(part_type: bytes, customer_id: str) -> tuple[bytes, str]:
    boundary = "b0undary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="customer_id"\r\n\r\n'
            f"{customer_id}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="type"\r\n\r\n'
            "passport\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="p.pdf"\r\n'
        ).encode()
        + b"Content-Type: "
        + part_type
        + b"\r\n\r\n%PDF-1.7 data\r\n"
        + (f"--{boundary}--\r\n").encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("part_type", "status"),
    [
        (b"application/pdf", 201),
        (b'application/pdf; name="a b"', 201),
        (b"application/pdf;\tq=1", 201),
        (b"application/pdf; x=\x01", 422),
        (b"application/pdf; x=\x7f", 422),
        (b"application/pdf; x=\xc3\xa9", 422),
    ],
    ids=["plain", "sp", "htab", "control", "del", "non-ascii"],
)
def test_upload_part_content_type_is_visible_ascii(
    clock: Clock, rsa_key: rsa.RSAPrivateKey, part_type: bytes, status: int
) -> None:
    with Sandbox(clock=clock) as sb:
        app = sb.create_application(
            name="u",
            permissions=[
                "CUSTOMERS_WRITE",
                "CUSTOMERS_READ",
                "DOCUMENTS_WRITE",
                "DOCUMENTS_READ",
            ],
            public_key_pem=public_pem(rsa_key),
        )
        with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
            c = Caller(sb, clock, client, app, rsa_key)
            customer = c.send(
                "POST",
                "/v1/customers",
                b'{"type": "individual", "name": "A", "email": "a@example.com"}',
                content_type="application/json",
            ).json()
            body, ctype = _multipart(part_type, customer["id"])
            response = c.send("POST", "/v1/documents", body, content_type=ctype)
            assert response.status_code == status, response.text
            if status == 422:
                error = response.json()["error"]
                assert error["code"] == "validation_failed"
                assert set(error["details"]["fields"]) == {"file"}
                return
            doc = response.json()
            download = c.send("GET", f"/v1/documents/{doc['id']}/content")
            assert download.status_code == 200
            assert download.content == b"%PDF-1.7 data"


# -- the CLI opens the key file before creating -------------------------------------


def test_unwritable_private_key_out_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user that ignores directory permissions")
        argv = [
            "sandbox",
            "app",
            "create",
            "--state",
            str(state),
            "--name",
            "svc",
            "--permissions",
            "CUSTOMERS_READ",
            "--generate-key",
            "--private-key-out",
            str(locked / "key.pem"),
        ]
        code = main(argv)
        out, err = capsys.readouterr()
    finally:
        locked.chmod(0o700)
    assert code == 2
    assert "Traceback" not in err
    assert "no application was created" in err
    assert out == ""
    with Sandbox(state=state) as sb:
        assert sb.list_applications() == []


def test_missing_directory_for_private_key_out_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    argv = [
        "sandbox",
        "app",
        "create",
        "--state",
        str(state),
        "--name",
        "svc",
        "--permissions",
        "CUSTOMERS_READ",
        "--generate-key",
        "--private-key-out",
        str(tmp_path / "no" / "such" / "key.pem"),
    ]
    assert main(argv) == 2
    _, err = capsys.readouterr()
    assert "no application was created" in err
    with Sandbox(state=state) as sb:
        assert sb.list_applications() == []


def test_a_refused_create_leaves_no_key_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    out = tmp_path / "key.pem"
    argv = [
        "sandbox",
        "app",
        "create",
        "--state",
        str(state),
        "--name",
        "svc",
        "--permissions",
        "CUSTOMERS_WRITE",
        "--generate-key",
        "--private-key-out",
        str(out),
    ]
    assert main(argv) == 1  # CUSTOMERS_WRITE without CUSTOMERS_READ: refused
    capsys.readouterr()
    assert not out.exists()


def test_generated_key_is_written_with_the_application(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    out = tmp_path / "key.pem"
    argv = [
        "sandbox",
        "app",
        "create",
        "--state",
        str(state),
        "--name",
        "svc",
        "--permissions",
        "CUSTOMERS_READ",
        "--generate-key",
        "--private-key-out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    created = json.loads(capsys.readouterr().out)
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (out.stat().st_mode & 0o777) == 0o600
    with Sandbox(state=state) as sb:
        assert [a.id for a in sb.list_applications()] == [created["application_id"]]
