"""The Node and Java reference signers: every vector, and the plan against a sandbox.

They need ``node`` / ``javac`` on the PATH; without them these tests skip and
``scripts/test`` prints one line saying so (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nuvera_client._cli import main

ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = ROOT / "docs" / "spec" / "vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text("utf-8"))
COUNT = len(VECTORS["vectors"]) + len(VECTORS["api_keys"]) + len(VECTORS["kids"])
NODE = shutil.which("node")
JAVAC = shutil.which("javac")
JAVA = shutil.which("java")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on the PATH")
needs_jdk = pytest.mark.skipif(
    JAVAC is None or JAVA is None, reason="javac/java are not on the PATH"
)


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("java")
    subprocess.run(
        [str(JAVAC), "-d", str(out), str(ROOT / "conformance/java/NuveraSigner.java")],
        check=True,
        timeout=120,
    )
    return out


def _signer(language: str, classes: Path | None = None) -> list[str]:
    if language == "node":
        return [str(NODE), str(ROOT / "conformance/node/nuvera.mjs")]
    return [str(JAVA), "-cp", str(classes), "NuveraSigner"]


def _vectors(command: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, "vectors", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def _tampered(tmp_path: Path) -> Path:
    doc: dict[str, Any] = json.loads(VECTORS_PATH.read_text("utf-8"))
    token = doc["vectors"][0]["output"]["token"]
    doc["vectors"][0]["output"]["token"] = token[:-2] + (
        "AA" if token[-2:] != "AA" else "BB"
    )
    doc["api_keys"][-1]["reason"] = "length"  # it is a checksum failure
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc), "utf-8")
    return path


def _check_runner(command: list[str], tmp_path: Path) -> None:
    done = _vectors(command, VECTORS_PATH)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{COUNT} passed, 0 failed"
    bad = _vectors(command, _tampered(tmp_path))
    assert bad.returncode == 1
    assert bad.stdout.strip().splitlines()[-1] == f"{COUNT - 2} passed, 2 failed"
    assert re.search(r"FAIL .*get-no-query", bad.stdout)


def _check_client(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sandbox", "conformance", "--json", "--", *command, "client"])
    out, err = capsys.readouterr()
    report = json.loads(out[out.index("{\n") :])
    failures = [
        (c["id"], c["reasons"]) for c in report["cases"] if c["verdict"] != "passed"
    ]
    assert failures == []
    assert code == 0, err
    assert report["passed"] == report["total"] == 20
    streamed = next(c for c in report["cases"] if c["id"] == "post-multipart-streamed")
    assert streamed["attempts"][0]["transfer_encoding"] == "chunked"


@needs_node
def test_node_signer_reproduces_every_vector(tmp_path: Path) -> None:
    _check_runner(_signer("node"), tmp_path)


@needs_node
def test_node_client_passes_the_conformance_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _check_client(_signer("node"), capsys)


@needs_jdk
def test_java_signer_reproduces_every_vector(
    tmp_path: Path, java_classes: Path
) -> None:
    _check_runner(_signer("java", java_classes), tmp_path)


@needs_jdk
def test_java_client_passes_the_conformance_plan(
    java_classes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check_client(_signer("java", java_classes), capsys)


@pytest.mark.parametrize(
    "path", ["conformance/node/nuvera.mjs", "conformance/java/NuveraSigner.java"]
)
def test_reference_signers_stay_small_and_stdlib_only(path: str) -> None:
    source = (ROOT / path).read_text("utf-8")
    assert len(source.splitlines()) <= 300
    if path.endswith(".mjs"):
        imports = re.findall(r"from '([^']+)'", source)
        assert imports
        assert all(name.startswith("node:") for name in imports)
    else:
        imports = re.findall(r"^import ([\w.]+)", source, re.MULTILINE)
        assert all(name.startswith("java.") for name in imports)
