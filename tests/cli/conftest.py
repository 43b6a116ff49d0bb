"""Fixtures for the ``nuvera`` CLI tests: isolated config, keys, a loopback sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import keys
from nuvera_client._cli import main

REPO = Path(__file__).resolve().parents[2]
ALL_PERMISSIONS = (
    "CUSTOMERS_READ",
    "CUSTOMERS_WRITE",
    "BENEFICIARIES_READ",
    "BENEFICIARIES_WRITE",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "CRYPTO_READ",
    "PAYMENTS_READ",
    "PAYMENTS_WRITE",
    "SCREENING_READ",
    "SUPPORT_READ",
    "SUPPORT_WRITE",
)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class App:
    id: str
    api_key: str
    kid: str
    private_key_file: Path
    public_key_file: Path
    private_pem: str
    base_url: str


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No NUVERA_* from the outside; the profile file lives under tmp_path."""
    for name in list(os.environ):
        if name.startswith("NUVERA_"):
            monkeypatch.delenv(name)
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # `sign --curl` leaves its 0700 directory for the user: keep ours in tmp_path.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    for proxy in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(proxy, raising=False)
    return xdg


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``main(argv)``; return exit code, stdout and stderr."""

    def run(*argv: str) -> Result:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_subprocess(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Result:
    """Run ``python -m nuvera_client ARGV`` with the repository on sys.path."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "nuvera_client", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


def write_pair(directory: Path, key: rsa.RSAPrivateKey, stem: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / f"{stem}_private.pem"
    public = directory / f"{stem}_public.pem"
    private.write_text(keys.private_key_pem(key))
    private.chmod(0o600)
    public.write_text(keys.public_key_pem(key))
    return private, public


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[object]:
    sandbox_module = pytest.importorskip("nuvera_client.sandbox")
    with sandbox_module.Sandbox() as sandbox, sandbox.serve(port=0) as server:
        yield server


@pytest.fixture
def make_app(sandbox_server, tmp_path: Path, rsa_key: rsa.RSAPrivateKey):
    """Create an application on the loopback sandbox; return its credentials."""

    def create(
        permissions: Sequence[str] = ALL_PERMISSIONS,
        key: rsa.RSAPrivateKey | None = None,
    ) -> App:
        key = key or rsa_key
        private, public = write_pair(tmp_path / "keys", key, keys.kid_of(key)[:8])
        # A public key is active on one application at a time (PROTOCOL §1.2).
        with sandbox_server.sandbox.store.transaction() as db:
            db.execute(
                "UPDATE signing_keys SET status = 'removed'"
                " WHERE kid = ? AND status = 'active'",
                (keys.kid_of(key),),
            )
        created = sandbox_server.sandbox.create_application(
            name="cli-test",
            permissions=list(permissions),
            public_key_pem=keys.public_key_pem(key),
        )
        return App(
            id=created.id,
            api_key=created.api_key,
            kid=created.kid,
            private_key_file=private,
            public_key_file=public,
            private_pem=keys.private_key_pem(key),
            base_url=sandbox_server.base_url,
        )

    return create


@pytest.fixture
def app_env(make_app, monkeypatch: pytest.MonkeyPatch) -> App:
    """An application with every permission, configured through NUVERA_* variables."""
    app: App = make_app()
    monkeypatch.setenv("NUVERA_API_KEY", app.api_key)
    monkeypatch.setenv("NUVERA_PRIVATE_KEY_FILE", str(app.private_key_file))
    monkeypatch.setenv("NUVERA_BASE_URL", app.base_url)
    return app


def private_key_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM private key: none may ever be printed."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]
