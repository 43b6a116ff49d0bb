"""The compatibility matrix: Python 3.10 and 3.13 x the oldest and the newest httpx.

``nox`` lists the cells; ``nox -s unit`` runs the unit tests in each (what
``scripts/test`` runs), ``nox -s full`` the whole suite. Interpreters come from the
machine (``python3.X`` on ``PATH``, else pyenv's versions): a missing one is skipped
with a message, never downloaded. Each cell's virtualenv lives in ``.nox/`` and is
reinstalled only when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHONS = ("3.10", "3.13")
HTTPX = {
    # The floor of `httpx>=0.27` in pyproject.toml: raise both together.
    "oldest": "httpx==0.27.0",
    "newest": "httpx",
}
# The test dependencies without the docs tools, stubs and linters of `dev`.
TEST_EXTRAS = "sandbox,requests,aws"
TEST_TOOLS = (
    "pytest>=8",
    "hypothesis>=6.100",
    "respx>=0.21",
    "moto[kms,secretsmanager]>=5",
)

nox.options.sessions = ["unit"]
nox.options.error_on_missing_interpreters = False


def _runs(executable: str, version: str) -> bool:
    # A pyenv shim exists for every version but fails for one not installed:
    # ask the interpreter itself, quietly.
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def find_python(version: str) -> str | None:
    """Return an interpreter of ``version`` found on this machine, or None."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv_root, "versions", f"{version}.*", "bin", "python3")
    candidates += sorted(glob.glob(pattern), reverse=True)
    for candidate in candidates:
        if candidate and _runs(candidate, version):
            return candidate
    return None


def _venv(session: nox.Session, version: str, httpx: str) -> Path:
    """Create (once) the cell's virtualenv and return its bin directory."""
    python = find_python(version)
    if python is None:
        session.skip(f"python{version} is not installed on this machine: cell skipped")
    location = ROOT / ".nox" / f"cell-py{version}-httpx-{httpx}"
    bin_dir = location / "bin"
    stamp = location / ".installed"
    fresh = stamp.exists() and stamp.stat().st_mtime >= (
        (ROOT / "pyproject.toml").stat().st_mtime
    )
    if not fresh:
        shutil.rmtree(location, ignore_errors=True)
        session.run(python, "-m", "venv", str(location), external=True)
        pip = (str(bin_dir / "python"), "-m", "pip", "install", "--quiet")
        session.run(
            *pip,
            "--disable-pip-version-check",
            "-e",
            f".[{TEST_EXTRAS}]",
            *TEST_TOOLS,
            external=True,
        )
        session.run(*pip, "--upgrade", HTTPX[httpx], external=True)
        stamp.touch()
    version_line = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import httpx, sys; print(sys.version.split()[0], httpx.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    session.log(f"python {version_line.replace(' ', ', httpx ')}")
    return bin_dir


def _pytest(session: nox.Session, version: str, httpx: str, *paths: str) -> None:
    bin_dir = _venv(session, version, httpx)
    session.run(
        str(bin_dir / "python"),
        "-m",
        "pytest",
        "-q",
        *(session.posargs or paths),
        external=True,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )


@nox.session(python=False)
@nox.parametrize("httpx", list(HTTPX))
@nox.parametrize("version", list(PYTHONS))
def unit(session: nox.Session, version: str, httpx: str) -> None:
    """Unit and property tests in one cell (the bounded run of scripts/test)."""
    _pytest(session, version, httpx, "tests/unit", "tests/properties", "-x")


@nox.session(python=False)
@nox.parametrize("httpx", list(HTTPX))
@nox.parametrize("version", list(PYTHONS))
def full(session: nox.Session, version: str, httpx: str) -> None:
    """The whole test suite in one cell (~8 min each on 2 cores)."""
    _pytest(session, version, httpx, "tests")


if __name__ == "__main__":
    sys.exit("run me with nox: `nox -l` lists the cells")
