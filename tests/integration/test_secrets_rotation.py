"""Issue 5 end to end: rotate keys in the sandbox, publish them in (moto's) AWS
Secrets Manager, and watch clients under steady traffic pick them up through
``refresh()`` with zero failed calls and exactly one secret read per rotation.

The sandbox serves over loopback (uvicorn in a thread); AWS is moto's in-process
mock with fake credentials: nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from nuvera_client import ApiKey, AsyncNuveraClient, NuveraClient, keys
from nuvera_client.credentials import AwsSecretsManagerCredentials, FileCredentials
from nuvera_client.sandbox import Sandbox, SandboxServer

SECRET = "partner/nuvera"
THREADS = 8
MAX_CALLS_PER_WORKER = 3000  # a bound; the workers stop earlier when told
PHASE_CALLS = 48  # calls to see complete in each phase before moving on
DEADLINE = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-creds"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("NUVERA_API_KEY", "NUVERA_PRIVATE_KEY", "NUVERA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with Sandbox() as sandbox, sandbox.serve(port=0) as running:
        yield running


class CountingClient:
    """The moto client, counting GetSecretValue calls (reads of the secret)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()

    def get_secret_value(self, *, SecretId: str) -> Any:
        with self._lock:
            self.calls += 1
        return self.inner.get_secret_value(SecretId=SecretId)


@dataclass
class Traffic:
    """Outcome counters shared by the workers."""

    completed: int = 0
    failures: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def done(self) -> None:
        with self.lock:
            self.completed += 1

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures.append(exc)


def wait_until(condition: Callable[[], bool], what: str, traffic: Traffic) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if traffic.failures:
            raise AssertionError(f"a call failed while waiting for {what}") from (
                traffic.failures[0]
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@dataclass
class Partner:
    """The partner's side: the sandbox application and the secret it maintains."""

    server: SandboxServer
    aws: Any
    app_id: str = ""
    api_key: str = ""
    private_pem: str = ""
    kid: str = ""

    def create(self) -> None:
        key = keys.generate_private_key(2048)
        self.private_pem = keys.private_key_pem(key)
        created = self.server.sandbox.create_application(
            name="rotation",
            permissions=["CRYPTO_READ"],
            public_key_pem=keys.public_key_pem(key),
        )
        self.app_id, self.api_key, self.kid = created.id, created.api_key, created.kid
        self.aws.create_secret(Name=SECRET, SecretString=self._secret())

    def _secret(self) -> str:
        return json.dumps({"api_key": self.api_key, "private_key": self.private_pem})

    def publish(self) -> None:
        self.aws.put_secret_value(SecretId=SECRET, SecretString=self._secret())

    def add_new_signing_key(self) -> str:
        """Step 1a: upload a new public key, publish the new private key."""
        key = keys.generate_private_key(2048)
        new_kid = self.server.sandbox.add_signing_key(
            self.app_id, keys.public_key_pem(key)
        )
        self.private_pem = keys.private_key_pem(key)
        self.publish()
        old_kid, self.kid = self.kid, new_kid
        return old_kid

    def rotate_api_key(self) -> str:
        """Step 2a: issue a new API key (old one in its grace period), publish it."""
        old = self.api_key
        rotated = self.server.sandbox.rotate_api_key(self.app_id, grace_period=3600)
        assert rotated.api_key is not None  # a partner rotated: the key is shown
        self.api_key = rotated.api_key
        self.publish()
        return ApiKey.parse(old).prefix


def run_rotation(
    partner: Partner,
    secrets: CountingClient,
    traffic: Traffic,
    current_kid: Callable[[], str],
    current_key: Callable[[], str],
) -> None:
    """Drive both rotations while the workers keep calling; check each phase."""

    def after(count: int) -> Callable[[], bool]:
        target = traffic.completed + count
        return lambda: traffic.completed >= target

    wait_until(after(PHASE_CALLS), "steady traffic", traffic)
    assert secrets.calls == 1  # asked once at start, then cached

    # 1. Signing key: both keys active, secret holds the new one; the client
    # keeps the old one (still valid) until the old key is removed.
    old_kid = partner.add_new_signing_key()
    wait_until(after(PHASE_CALLS), "traffic with two signing keys", traffic)
    assert secrets.calls == 1
    partner.server.sandbox.remove_signing_key(partner.app_id, old_kid)
    wait_until(
        lambda: current_kid() == partner.kid, "the new signing key in use", traffic
    )
    wait_until(after(PHASE_CALLS), "traffic with the new signing key", traffic)
    assert secrets.calls == 2  # unknown_signing_key: exactly one refresh

    # 2. API key: rotate with a grace period, publish; then revoke the old key.
    old_prefix = partner.rotate_api_key()
    wait_until(after(PHASE_CALLS), "traffic during the API key grace period", traffic)
    assert secrets.calls == 2
    partner.server.sandbox.revoke_api_key(partner.app_id, old_prefix)
    wait_until(
        lambda: current_key() == partner.api_key, "the new API key in use", traffic
    )
    wait_until(after(PHASE_CALLS), "traffic with the new API key", traffic)
    assert secrets.calls == 3  # api_key_revoked: exactly one refresh
    traffic.stop.set()


def check_sandbox_saw_the_new_keys(partner: Partner) -> None:
    view = partner.server.sandbox.get_application(partner.app_id)
    by_prefix = {k.prefix: k for k in view.api_keys}
    new = by_prefix[ApiKey.parse(partner.api_key).prefix]
    assert new.status == "active"
    assert new.request_count >= PHASE_CALLS
    assert [k.status for k in view.api_keys if k is not new] == ["revoked"]
    active = [k.kid for k in view.signing_keys if k.status == "active"]
    assert active == [partner.kid]


def test_threads_pick_up_rotations_through_refresh(
    server: SandboxServer, aws: Any
) -> None:
    partner = Partner(server, aws)
    partner.create()
    secrets = CountingClient(aws)
    provider = AwsSecretsManagerCredentials(SECRET, client=secrets)
    traffic = Traffic()
    with NuveraClient(credentials=provider, base_url=server.base_url) as client:

        def worker() -> None:
            for _ in range(MAX_CALLS_PER_WORKER):
                if traffic.stop.is_set():
                    return
                try:
                    client.crypto.assets.list(limit=1).first_page()
                except Exception as exc:  # every failure counts, whatever it is
                    traffic.failed(exc)
                    return
                traffic.done()

        workers = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in workers:
            thread.start()
        try:
            run_rotation(
                partner,
                secrets,
                traffic,
                lambda: client.auth.kid,
                lambda: client.auth.api_key.reveal(),
            )
        finally:
            traffic.stop.set()
            for thread in workers:
                thread.join(timeout=DEADLINE)
        assert not any(thread.is_alive() for thread in workers)
    assert traffic.failures == []
    assert traffic.completed >= 5 * PHASE_CALLS
    assert provider.generation == 3
    check_sandbox_saw_the_new_keys(partner)


@pytest.mark.anyio
async def test_tasks_pick_up_rotations_through_refresh(
    server: SandboxServer, aws: Any
) -> None:
    partner = Partner(server, aws)
    partner.create()
    secrets = CountingClient(aws)
    provider = AwsSecretsManagerCredentials(SECRET, client=secrets)
    traffic = Traffic()
    async with AsyncNuveraClient(
        credentials=provider, base_url=server.base_url
    ) as client:

        async def worker() -> None:
            for _ in range(MAX_CALLS_PER_WORKER):
                if traffic.stop.is_set():
                    return
                try:
                    await client.crypto.assets.list(limit=1).first_page()
                except Exception as exc:  # every failure counts, whatever it is
                    traffic.failed(exc)
                    return
                traffic.done()

        async with anyio.create_task_group() as group:
            for _ in range(THREADS):
                group.start_soon(worker)
            # The partner acts from a thread, as another process would.
            try:
                await anyio.to_thread.run_sync(
                    lambda: run_rotation(
                        partner,
                        secrets,
                        traffic,
                        lambda: client.auth.kid,
                        lambda: client.auth.api_key.reveal(),
                    )
                )
            finally:
                traffic.stop.set()
    assert traffic.failures == []
    assert traffic.completed >= 5 * PHASE_CALLS
    assert provider.generation == 3
    check_sandbox_saw_the_new_keys(partner)


def test_refresh_interval_reaches_the_client_before_any_refusal(
    server: SandboxServer, aws: Any
) -> None:
    partner = Partner(server, aws)
    partner.create()
    secrets = CountingClient(aws)
    now = [0.0]
    provider = AwsSecretsManagerCredentials(
        SECRET, client=secrets, refresh_interval=300, clock=lambda: now[0]
    )
    with NuveraClient(credentials=provider, base_url=server.base_url) as client:
        client.crypto.assets.list(limit=1).first_page()
        old_prefix = partner.rotate_api_key()  # published; old key still valid
        client.crypto.assets.list(limit=1).first_page()
        assert secrets.calls == 1  # cached: the interval has not passed
        now[0] = 301
        client.crypto.assets.list(limit=1).first_page()
        assert secrets.calls == 2
        assert client.auth.api_key.reveal() == partner.api_key
        # Already on the new key: revoking the old one costs no refusal, no read.
        partner.server.sandbox.revoke_api_key(partner.app_id, old_prefix)
        for _ in range(5):
            client.crypto.assets.list(limit=1).first_page()
        assert secrets.calls == 2


@pytest.mark.anyio
async def test_refresh_interval_reaches_the_async_client(
    server: SandboxServer, aws: Any
) -> None:
    partner = Partner(server, aws)
    partner.create()
    secrets = CountingClient(aws)
    now = [0.0]
    provider = AwsSecretsManagerCredentials(
        SECRET, client=secrets, refresh_interval=300, clock=lambda: now[0]
    )
    async with AsyncNuveraClient(
        credentials=provider, base_url=server.base_url
    ) as client:
        await client.crypto.assets.list(limit=1).first_page()
        partner.rotate_api_key()
        now[0] = 301
        await client.crypto.assets.list(limit=1).first_page()
        assert secrets.calls == 2
        assert client.auth.api_key.reveal() == partner.api_key


def test_each_private_key_is_parsed_once_across_provider_and_client(
    server: SandboxServer, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real_load = keys.load_private_key

    def counting_load(source: Any, passphrase: Any = None) -> Any:
        if not isinstance(source, rsa.RSAPrivateKey):  # material, not a parsed key
            parsed.append(type(source).__name__)
        return real_load(source, passphrase)

    monkeypatch.setattr(keys, "load_private_key", counting_load)
    partner = Partner(server, aws)
    partner.create()
    provider = AwsSecretsManagerCredentials(SECRET, client=aws)
    with NuveraClient(credentials=provider, base_url=server.base_url) as client:
        client.crypto.assets.list(limit=1).first_page()
        old_kid = partner.add_new_signing_key()
        partner.server.sandbox.remove_signing_key(partner.app_id, old_kid)
        for _ in range(3):
            client.crypto.assets.list(limit=1).first_page()
        assert client.auth.kid == partner.kid
    assert provider.generation == 2
    assert len(parsed) == 2  # two distinct keys, each parsed once


def test_rewritten_files_reach_the_client_through_refresh(
    server: SandboxServer, aws: Any, tmp_path: Path
) -> None:
    # As a secrets agent (Vault agent, a Kubernetes volume) would: new files are
    # written aside and renamed over the old ones, owner-only.
    partner = Partner(server, aws)
    partner.create()
    key_file, api_file = tmp_path / "nuvera.pem", tmp_path / "nuvera.key"

    def publish() -> None:
        for path, text in (
            (key_file, partner.private_pem),
            (api_file, partner.api_key),
        ):
            aside = path.with_suffix(".new")
            aside.write_text(text)
            aside.chmod(0o600)
            aside.replace(path)

    publish()
    provider = FileCredentials(key_file, api_file)
    with NuveraClient(credentials=provider, base_url=server.base_url) as client:
        client.crypto.assets.list(limit=1).first_page()
        old_kid = partner.add_new_signing_key()
        old_prefix = partner.rotate_api_key()
        publish()
        partner.server.sandbox.remove_signing_key(partner.app_id, old_kid)
        partner.server.sandbox.revoke_api_key(partner.app_id, old_prefix)
        client.crypto.assets.list(limit=1).first_page()  # one refresh: both keys
        assert client.auth.kid == partner.kid
        assert client.auth.api_key.reveal() == partner.api_key
    assert provider.generation == 2
