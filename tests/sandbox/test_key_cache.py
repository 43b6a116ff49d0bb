"""The API key / signing key cache of checks 2-4 and 8: never stale after a change.

Each test warms the cache with a good request, changes the platform (in this
process, through another connection to the state file, or from another process)
and expects the very next request to see the change.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock, make_sandbox

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._verify import KeyLookup


def _code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    code: str = response.json()["error"]["code"]
    return code


@pytest.fixture
def on_file(
    tmp_path: Path, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> Iterator[tuple[Caller, Path]]:
    path = tmp_path / "state.sqlite"
    sandbox = make_sandbox(clock, state=path)
    app = sandbox.create_application(
        name="svc", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://sandbox.test"
    ) as client:
        yield Caller(sandbox, clock, client, app, rsa_key), path
    sandbox.close()


def test_revoking_in_process_is_seen_by_the_next_request(caller: Caller) -> None:
    assert _code(caller.send("GET", "/v1/customers")) is None
    assert _code(caller.send("GET", "/v1/customers")) is None  # from the cache
    caller.sandbox.revoke_api_key(caller.app.id, caller.app.api_key[:13])
    assert _code(caller.send("GET", "/v1/customers")) == "api_key_revoked"


def test_disabling_and_enabling_in_process(caller: Caller) -> None:
    assert _code(caller.send("GET", "/v1/customers")) is None
    caller.sandbox.disable_application(caller.app.id)
    assert _code(caller.send("GET", "/v1/customers")) == "application_disabled"
    caller.sandbox.enable_application(caller.app.id)
    assert _code(caller.send("GET", "/v1/customers")) is None


def test_permissions_and_signing_keys_changed_in_process(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    assert _code(caller.send("GET", "/v1/customers")) is None
    caller.sandbox.set_permissions(caller.app.id, ["SUPPORT_READ"])
    assert _code(caller.send("GET", "/v1/customers")) == "permission_denied"
    caller.sandbox.set_permissions(caller.app.id, ALL_PERMISSIONS)
    kid_2 = caller.sandbox.add_signing_key(caller.app.id, public_pem(rsa_key_2))
    second = caller.token("GET", "/v1/customers", key=rsa_key_2, kid=kid_2)
    assert _code(caller.send("GET", "/v1/customers", token=second)) is None
    caller.sandbox.remove_signing_key(caller.app.id, caller.kid)
    assert _code(caller.send("GET", "/v1/customers")) == "unknown_signing_key"


def test_the_grace_period_still_ends_on_time(caller: Caller) -> None:
    assert _code(caller.send("GET", "/v1/customers")) is None
    rotated = caller.sandbox.rotate_api_key(caller.app.id, grace_period=30)
    assert _code(caller.send("GET", "/v1/customers")) is None  # old key, in grace
    caller.clock.t += 31  # nothing committed: only the clock moved
    assert _code(caller.send("GET", "/v1/customers")) == "api_key_revoked"
    assert rotated.api_key is not None
    assert _code(caller.send("GET", "/v1/customers", api_key=rotated.api_key)) is None


def test_a_write_through_another_connection_is_seen(
    on_file: tuple[Caller, Path],
) -> None:
    caller, path = on_file
    assert _code(caller.send("GET", "/v1/customers")) is None
    assert _code(caller.send("GET", "/v1/customers")) is None
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute(
            "UPDATE applications SET status = 'disabled' WHERE id = ?",
            (caller.app.id,),
        )
    assert _code(caller.send("GET", "/v1/customers")) == "application_disabled"


def test_another_sandbox_on_the_same_file_revokes(
    on_file: tuple[Caller, Path],
) -> None:
    caller, path = on_file
    assert _code(caller.send("GET", "/v1/customers")) is None
    with Sandbox(state=path) as other:
        other.revoke_api_key(caller.app.id, caller.app.api_key[:13])
    assert _code(caller.send("GET", "/v1/customers")) == "api_key_revoked"


def test_another_process_revokes(on_file: tuple[Caller, Path]) -> None:
    caller, path = on_file
    assert _code(caller.send("GET", "/v1/customers")) is None
    script = (
        "import sys\n"
        "from nuvera_client.sandbox import Sandbox\n"
        "with Sandbox(state=sys.argv[1]) as sb:\n"
        "    sb.revoke_api_key(sys.argv[2], sys.argv[3])\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(path),
            caller.app.id,
            caller.app.api_key[:13],
        ],
        check=True,
        timeout=60,
    )
    assert _code(caller.send("GET", "/v1/customers")) == "api_key_revoked"


def test_the_cache_is_bounded_and_skips_unknown_keys() -> None:
    generation = [0]
    lookup = KeyLookup(lambda: generation[0], shared_file=False)
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(
            "CREATE TABLE applications (id TEXT, status TEXT, permissions TEXT);"
            "CREATE TABLE api_keys (sha256 TEXT, application_id TEXT, status TEXT,"
            " expires_at INTEGER);"
            "CREATE TABLE signing_keys (application_id TEXT, kid TEXT,"
            " public_key_pem TEXT, status TEXT);"
            "INSERT INTO applications VALUES ('app_1', 'active', '[\"A\"]');"
        )
        total = KeyLookup.MAX_ENTRIES + 1
        db.executemany(
            "INSERT INTO api_keys VALUES (?, 'app_1', 'active', NULL)",
            [(f"h{i}",) for i in range(total)],
        )
        queries: list[str] = []
        db.set_trace_callback(queries.append)

        def queried(key: str) -> bool:
            before = len(queries)
            row = lookup.get(db, key, None)
            assert (row is None) == (key == "unknown")
            return len(queries) > before

        assert queried("h0")
        assert not queried("h0")  # cached
        assert queried("unknown")
        assert queried("unknown")  # an unknown key is never cached
        for i in range(1, KeyLookup.MAX_ENTRIES):
            assert queried(f"h{i}")
        assert not queried("h0")  # still there: MAX_ENTRIES rows kept
        assert queried(f"h{KeyLookup.MAX_ENTRIES}")  # one too many: started over
        assert queried("h0")
        generation[0] += 1  # a commit of the store: everything is read again
        assert queried("h0")
        assert not queried("h0")
