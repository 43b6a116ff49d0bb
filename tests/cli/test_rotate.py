from __future__ import annotations

import json
from typing import Any

from nuvera_client import ApiKey, keys

from .conftest import run_subprocess, write_pair


def steps_of(out: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {(s["kind"], s["number"]): s for s in json.loads(out)["steps"]}


def test_plan_prints_both_sequences(cli):
    result = cli("rotate", "plan")
    assert result.code == 0
    assert "Signing key rotation (zero downtime):" in result.out
    assert "API key rotation (zero downtime):" in result.out
    text = result.out
    # The new credential is checked before the old one is removed.
    assert text.index("signed with the new key is accepted") < text.index(
        "remove the old signing key"
    )
    assert text.index("request with the new key is accepted") < text.index(
        "revoke the old key"
    )


def test_check_without_new_credentials_skips(cli, app_env):
    result = cli("rotate", "plan", "--check", "--json")
    assert result.code == 0
    assert {s["status"] for s in json.loads(result.out)["steps"]} == {"skip"}


def test_signing_key_rotation_checked_step_by_step(
    cli, app_env, sandbox_server, other_key, tmp_path, monkeypatch
):
    sandbox = sandbox_server.sandbox
    new_private, _ = write_pair(tmp_path / "new", other_key, "new")
    argv = (
        "rotate",
        "plan",
        "--kind",
        "signing-key",
        "--check",
        "--json",
        "--new-private-key",
        str(new_private),
    )

    before = cli(*argv)
    assert before.code == 1  # the new key is not on the application yet
    steps = steps_of(before.out)
    assert steps["signing-key", 3]["status"] == "fail"
    assert "do NOT remove" in steps["signing-key", 3]["detail"]

    new_kid = sandbox.add_signing_key(app_env.id, keys.public_key_pem(other_key))
    added = cli(*argv)
    assert added.code == 0, added.out
    steps = steps_of(added.out)
    assert steps["signing-key", 2]["status"] == "ok"
    assert steps["signing-key", 3]["status"] == "ok"
    assert steps["signing-key", 4]["status"] == "pending"  # not deployed yet
    assert steps["signing-key", 5]["status"] == "pending"  # old key still active

    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(new_private))
    deployed = cli(*argv, "--old-private-key", str(app_env.private_key_file))
    assert steps_of(deployed.out)["signing-key", 4]["status"] == "ok"

    sandbox.remove_signing_key(app_env.id, app_env.kid)
    done = cli(*argv, "--old-private-key", str(app_env.private_key_file))
    assert done.code == 0, done.out
    steps = steps_of(done.out)
    assert {s["status"] for s in steps.values()} == {"ok"}
    assert new_kid in steps["signing-key", 1]["detail"]


def test_api_key_rotation_checked_step_by_step(
    cli, app_env, sandbox_server, tmp_path, monkeypatch
):
    sandbox = sandbox_server.sandbox
    stranger = tmp_path / "stranger.key"
    stranger.write_text(ApiKey.generate("test").reveal())
    refused = cli(
        "rotate",
        "plan",
        "--kind",
        "api-key",
        "--check",
        "--new-api-key-file",
        str(stranger),
    )
    assert refused.code == 1
    assert "do NOT revoke the old" in refused.out

    rotated = sandbox.rotate_api_key(app_env.id)
    new_key_file = tmp_path / "new.key"
    new_key_file.write_text(rotated.api_key + "\n")
    argv = (
        "rotate",
        "plan",
        "--kind",
        "api-key",
        "--check",
        "--json",
        "--new-api-key-file",
        str(new_key_file),
    )
    grace = cli(*argv)
    assert grace.code == 0, grace.out
    steps = steps_of(grace.out)
    assert steps["api-key", 2]["status"] == "ok"
    assert steps["api-key", 3]["status"] == "pending"
    assert steps["api-key", 4]["status"] == "pending"
    assert rotated.api_key not in grace.out
    assert app_env.api_key not in grace.out

    sandbox.revoke_api_key(app_env.id, app_env.api_key[:13])
    old_key_file = tmp_path / "old.key"
    old_key_file.write_text(app_env.api_key)
    monkeypatch.setenv("NUVERA_API_KEY", rotated.api_key)
    done = cli(*argv, "--old-api-key-file", str(old_key_file))
    assert done.code == 0, done.out
    assert {s["status"] for s in steps_of(done.out).values()} == {"ok"}


def test_same_key_twice_is_a_usage_error(cli, app_env):
    result = cli(
        "rotate",
        "plan",
        "--check",
        "--kind",
        "signing-key",
        "--new-private-key",
        str(app_env.private_key_file),
    )
    assert result.code == 2
    assert "same key" in result.err


def test_rotate_as_subprocess():
    result = run_subprocess(["rotate", "plan", "--kind", "api-key"])
    assert result.code == 0, result.err
    assert "API key rotation" in result.out
    assert "Signing key" not in result.out
