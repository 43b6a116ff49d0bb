"""Platform emulation: roles, rotation, grace period, two-key limits, audit, state."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import kid_of, public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock, caller_on, make_sandbox

from nuvera_client.sandbox import (
    DEFAULT_ADMIN,
    DEFAULT_CUSTOMER,
    Sandbox,
    SandboxError,
)
from nuvera_client.sandbox._credentials import api_key_well_formed


def _code(exc: pytest.ExceptionInfo[SandboxError]) -> str:
    return exc.value.code


def test_create_application_returns_one_time_secrets(
    sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey
) -> None:
    app = sandbox.create_application(
        name="svc", permissions=["CUSTOMERS_READ"], public_key_pem=public_pem(rsa_key)
    )
    assert app.id.startswith("app_")
    assert len(app.id) == 28
    assert api_key_well_formed(app.api_key)
    assert app.api_key.startswith("nvk_test_")
    assert app.kid == kid_of(rsa_key.public_key())
    assert app.private_key_pem is None
    assert app.api_key not in repr(app)
    view = sandbox.get_application(app.id)
    assert view.permissions == ("CUSTOMERS_READ",)
    (key,) = view.api_keys
    assert (key.prefix, key.last_four, key.status) == (
        app.api_key[:13],
        app.api_key[-4:],
        "active",
    )
    assert app.api_key not in repr(view)
    assert app.api_key not in str(view.to_dict())


def test_generated_key_pair_is_shown_once(sandbox: Sandbox) -> None:
    app = sandbox.create_application(name="gen", permissions=["CRYPTO_READ"])
    assert app.private_key_pem is not None
    assert app.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE" not in repr(app)


@pytest.mark.parametrize(
    "permissions",
    [
        ["CUSTOMERS_WRITE"],
        ["PAYMENTS_WRITE", "CUSTOMERS_READ"],
        ["ADMIN"],
        ["crypto_read"],
    ],
)
def test_invalid_permission_sets_are_refused(
    sandbox: Sandbox, permissions: list[str]
) -> None:
    with pytest.raises(SandboxError) as exc:
        sandbox.create_application(name="x", permissions=permissions)
    assert _code(exc) == "invalid_permissions"


def test_bad_public_keys_are_refused(
    sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey
) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    odd_e = rsa.generate_private_key(public_exponent=3, key_size=2048)
    for pem in ("garbage", public_pem(small), public_pem(odd_e)):
        with pytest.raises(SandboxError) as exc:
            sandbox.create_application(name="x", permissions=[], public_key_pem=pem)
        assert _code(exc) == "invalid_public_key"


def test_rotation_keeps_the_old_key_for_the_grace_period(caller: Caller) -> None:
    sb, app = caller.sandbox, caller.app
    rotated = sb.rotate_api_key(app.id, grace_period=3600)
    assert rotated.previous_prefixes == (app.api_key[:13],)
    assert rotated.api_key is not None
    assert rotated.api_key not in repr(rotated)
    assert caller.send("GET", "/v1/customers").status_code == 200
    assert (
        caller.send("GET", "/v1/customers", api_key=rotated.api_key).status_code == 200
    )
    # Two active keys: a third is refused.
    with pytest.raises(SandboxError) as exc:
        sb.rotate_api_key(app.id)
    assert _code(exc) == "limit_reached"
    caller.clock.t += 3600
    refused = caller.send("GET", "/v1/customers")
    assert refused.json()["error"]["code"] == "api_key_revoked"
    statuses = [k.status for k in sb.get_application(app.id).api_keys]
    assert statuses == ["revoked", "active"]
    sb.rotate_api_key(app.id)  # room again


def test_default_grace_period_is_24_hours(caller: Caller) -> None:
    rotated = caller.sandbox.rotate_api_key(caller.app.id)
    assert rotated.previous_expires_at == caller.now() + 86400


def test_revoke_by_prefix(caller: Caller) -> None:
    sb, app = caller.sandbox, caller.app
    rotated = sb.rotate_api_key(app.id)
    sb.revoke_api_key(app.id, app.api_key[:13])
    assert (
        caller.send("GET", "/v1/customers").json()["error"]["code"] == "api_key_revoked"
    )
    assert (
        caller.send("GET", "/v1/customers", api_key=rotated.api_key).status_code == 200
    )
    with pytest.raises(SandboxError) as exc:
        sb.revoke_api_key(app.id, "nvk_test_zzzz")
    assert _code(exc) == "not_found"


def test_signing_key_rotation_with_two_active(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey, rsa_key_3: rsa.RSAPrivateKey
) -> None:
    sb, app = caller.sandbox, caller.app
    kid2 = sb.add_signing_key(app.id, public_pem(rsa_key_2))
    assert kid2 == kid_of(rsa_key_2.public_key())
    with pytest.raises(SandboxError) as exc:
        sb.add_signing_key(app.id, public_pem(rsa_key_2))
    assert _code(exc) == "conflict"
    with pytest.raises(SandboxError) as exc:
        sb.add_signing_key(app.id, public_pem(rsa_key_3))
    assert _code(exc) == "limit_reached"
    new = Caller(sb, caller.clock, caller.client, app, rsa_key_2)
    assert caller.send("GET", "/v1/customers").status_code == 200
    assert new.send("GET", "/v1/customers").status_code == 200
    sb.remove_signing_key(app.id, caller.kid)
    assert caller.send("GET", "/v1/customers").json()["error"]["code"] == (
        "unknown_signing_key"
    )
    assert new.send("GET", "/v1/customers").status_code == 200
    with pytest.raises(SandboxError):
        sb.remove_signing_key(app.id, caller.kid)


def test_disable_and_enable(caller: Caller) -> None:
    caller.sandbox.disable_application(caller.app.id)
    response = caller.send("GET", "/v1/customers")
    assert response.json()["error"]["code"] == "application_disabled"
    caller.sandbox.enable_application(caller.app.id)
    assert caller.send("GET", "/v1/customers").status_code == 200


def test_roles(
    sandbox: Sandbox, rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    pem = public_pem(rsa_key)
    app = sandbox.create_application(name="a", permissions=[], public_key_pem=pem)
    # A partner of another organisation sees nothing of ours.
    sandbox.create_user("bob@other.example", "partner", organisation="Other Ltd")
    with pytest.raises(SandboxError) as exc:
        sandbox.get_application(app.id, actor="bob@other.example")
    assert _code(exc) == "forbidden"
    with pytest.raises(SandboxError):
        sandbox.disable_application(app.id, actor="bob@other.example")
    assert sandbox.list_applications(actor="bob@other.example") == []
    other = sandbox.create_application(
        name="b",
        permissions=[],
        public_key_pem=public_pem(rsa_key_2),
        actor="bob@other.example",
    )
    assert [a.id for a in sandbox.list_applications()] == [app.id]
    # A Nuvera admin: support view, disable/enable, permissions, assisted rotation.
    assert {a.id for a in sandbox.list_applications(actor=DEFAULT_ADMIN)} == {
        app.id,
        other.id,
    }
    sandbox.disable_application(other.id, actor=DEFAULT_ADMIN)
    sandbox.enable_application(other.id, actor=DEFAULT_ADMIN)
    sandbox.set_permissions(other.id, ["CRYPTO_READ"], actor=DEFAULT_ADMIN)
    sandbox.rotate_api_key(other.id, actor=DEFAULT_ADMIN)
    with pytest.raises(SandboxError) as exc:
        sandbox.create_application(name="c", permissions=[], actor=DEFAULT_ADMIN)
    assert _code(exc) == "forbidden"
    # A customer-platform user: refused everything.
    for action in (
        lambda: sandbox.create_application(
            name="c", permissions=[], public_key_pem=pem, actor=DEFAULT_CUSTOMER
        ),
        lambda: sandbox.get_application(app.id, actor=DEFAULT_CUSTOMER),
        lambda: sandbox.list_applications(actor=DEFAULT_CUSTOMER),
        lambda: sandbox.audit_log(actor=DEFAULT_CUSTOMER),
    ):
        with pytest.raises(SandboxError) as exc:
            action()
        assert _code(exc) == "forbidden"
    with pytest.raises(SandboxError) as exc:
        sandbox.get_application(app.id, actor="nobody@example.com")
    assert _code(exc) == "unknown_user"


def test_every_management_action_is_audited(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    sb, app = caller.sandbox, caller.app
    sb.rotate_api_key(app.id, grace_period=10)
    sb.revoke_api_key(app.id, app.api_key[:13])
    kid2 = sb.add_signing_key(app.id, public_pem(rsa_key_2))
    sb.remove_signing_key(app.id, kid2)
    sb.disable_application(app.id, actor=DEFAULT_ADMIN)
    sb.enable_application(app.id)
    sb.set_permissions(app.id, ["CUSTOMERS_READ"])
    log = sb.audit_log(app.id)
    assert [e.action for e in log] == [
        "application.create",
        "api_key.rotate",
        "api_key.revoke",
        "signing_key.add",
        "signing_key.remove",
        "application.disable",
        "application.enable",
        "application.set_permissions",
    ]
    assert log[5].actor == DEFAULT_ADMIN
    assert all(e.at == caller.now() and e.application_id == app.id for e in log)
    text = str([e.to_dict() for e in log])
    assert app.api_key not in text
    assert log[0].details["api_key_prefix"] == app.api_key[:13]


def test_state_file_never_contains_the_key_and_survives_restart(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    state = tmp_path / "state.sqlite"
    clock = Clock()
    sb = make_sandbox(clock, state=state)
    app = sb.create_application(
        name="svc", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    rotated = sb.rotate_api_key(app.id)
    with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
        c = Caller(sb, clock, client, app, rsa_key)
        token = c.token("GET", "/v1/customers")
        assert c.send("GET", "/v1/customers", token=token).status_code == 200
        idem = [("idempotency-key", "persist")]
        first = c.send("POST", "/v1/payments", b"{}", extra=idem)
    sb.close()
    assert rotated.api_key is not None
    for path in tmp_path.iterdir():  # the database, its WAL and shared memory
        data = path.read_bytes()
        for secret in (app.api_key, rotated.api_key, app.api_key[13:], token):
            assert secret.encode() not in data, path.name
    restarted = make_sandbox(clock, state=state)
    view = restarted.get_application(app.id)
    assert [k.request_count for k in view.api_keys] == [2, 0]
    with httpx.Client(transport=restarted.transport(), base_url="http://t") as client:
        c = Caller(restarted, clock, client, app, rsa_key)
        assert c.send("GET", "/v1/customers", token=token).json()["error"]["code"] == (
            "replayed_jti"
        )
        again = c.send("POST", "/v1/payments", b"{}", extra=idem)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert (
            c.send("GET", "/v1/customers", api_key=rotated.api_key).status_code == 200
        )
    assert [e.action for e in restarted.audit_log(app.id)] == [
        "application.create",
        "api_key.rotate",
    ]
    restarted.close()


def _replay_entries(sandbox: Sandbox) -> int:
    with sandbox.store.transaction() as db:
        rows = int(db.execute("SELECT count(*) FROM replay_store").fetchone()[0])
    memory = sandbox.app.replay
    return rows if memory is None else rows + len(memory)


def test_replay_store_is_purged(caller: Caller) -> None:
    assert caller.sandbox.app.replay is not None  # in memory: a dict, no table rows
    caller.send("GET", "/v1/customers")
    assert _replay_entries(caller.sandbox) == 1
    caller.clock.t += 30 + 10 + 1  # past exp + leeway
    caller.send("GET", "/v1/customers")
    assert _replay_entries(caller.sandbox) == 1


def test_replay_store_of_a_state_file_is_its_table_and_purged(
    tmp_path: Path, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    sandbox = make_sandbox(clock, state=tmp_path / "state.sqlite3")
    try:
        assert sandbox.app.replay is None
        with caller_on(sandbox, clock, rsa_key) as c:
            c.send("GET", "/v1/customers")
            with sandbox.store.transaction() as db:
                (rows,) = db.execute("SELECT count(*) FROM replay_store").fetchone()
                assert rows == 1
            clock.t += 30 + 10 + 1
            c.send("GET", "/v1/customers")
            with sandbox.store.transaction() as db:
                (rows,) = db.execute("SELECT count(*) FROM replay_store").fetchone()
                assert rows == 1
    finally:
        sandbox.close()


def test_api_key_worked_example() -> None:
    from nuvera_client.sandbox._credentials import api_key_check
    from nuvera_client.sandbox._encoding import sha256_hex

    body = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae"
    assert api_key_check(body) == "2XuHxe"
    key = body + "2XuHxe"
    assert len(key) == 47
    assert api_key_well_formed(key)
    assert sha256_hex(key) == (
        "66e1c8e83feadc2bf20029f3b38c0bd31b32a76b901751866dc63f7d2290b042"
    )
    assert not api_key_well_formed(body + "2XuHxf")
    assert not api_key_well_formed(key.replace("test", "prod"))


def test_pretty_printers_do_not_show_secrets(sandbox: Sandbox) -> None:
    from hypothesis.vendor.pretty import pretty

    app = sandbox.create_application(name="p", permissions=[])
    rotated = sandbox.rotate_api_key(app.id)
    assert app.api_key not in pretty(app)
    assert "PRIVATE" not in pretty(app)
    assert rotated.api_key is not None
    assert rotated.api_key not in pretty(rotated)
