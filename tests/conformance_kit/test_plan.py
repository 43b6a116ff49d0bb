"""The conformance run: the Python SDK passes the plan; faulty clients are graded."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nuvera_client import NuveraAuth
from nuvera_client._cli import main
from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._conformance import (
    ConformanceRun,
    ConformanceServer,
    serve_conformance,
)
from nuvera_client.sandbox._conformance_plan import CASE_HEADER, plan_text

from .python_client import run_plan, send_raw

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "docs" / "spec" / "conformance-plan.json"
CLIENT = Path(__file__).with_name("python_client.py")


@pytest.fixture
def served() -> Iterator[ConformanceServer]:
    with Sandbox() as sandbox:
        run = ConformanceRun(sandbox)
        with serve_conformance(run) as server:
            yield server


def _case(run: ConformanceRun, case_id: str) -> dict[str, object]:
    return next(case for case in run.plan["cases"] if case["id"] == case_id)


def test_published_plan_is_current() -> None:
    # Regenerate with: python scripts/make_conformance_plan.py
    assert PLAN.read_text("utf-8") == plan_text()


def test_plan_covers_what_the_issue_names() -> None:
    cases = json.loads(PLAN.read_text("utf-8"))["cases"]
    methods = {case["request"]["method"] for case in cases}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert any(case["request"].get("gzip") for case in cases)
    assert any(case["request"].get("stream") for case in cases)
    assert any("multipart" in case["request"] for case in cases)
    assert {c["expect"].get("first_refusal") for c in cases} >= {
        "token_expired",
        "token_not_yet_valid",
    }
    retry = [c for c in cases if c["expect"].get("same_idempotency_key")]
    assert retry
    assert retry[0]["expect"]["fresh_jti"]


def test_python_sdk_passes_every_case(served: ConformanceServer) -> None:
    run = served.run
    sent = run_plan(served.base_url, run.credentials(served.base_url), run.plan)
    report = run.report()
    assert sent == len(report.cases) == len(run.plan["cases"])
    failures = [(c.id, c.reasons) for c in report.cases if c.verdict != "passed"]
    assert failures == []
    assert report.ok
    skew = next(c for c in report.cases if c.id == "clock-server-ahead")
    assert [a.code for a in skew.attempts] == ["token_expired", None]
    assert report.summary().startswith("conformance: 20 passed, 0 failed")


def test_plan_and_report_are_served_without_credentials(
    served: ConformanceServer,
) -> None:
    plan = httpx.get(f"{served.base_url}/conformance/plan").json()
    # Placeholders are filled with this run's fixture ids.
    assert "{customer_id}" not in json.dumps(plan)
    assert served.run.fixtures["customer_id"] in json.dumps(plan)
    report = httpx.get(f"{served.base_url}/conformance/report").json()
    assert report["ok"] is False
    assert {c["verdict"] for c in report["cases"]} == {"missing"}
    assert served.run.api_key not in json.dumps(report)
    finished = httpx.post(f"{served.base_url}/conformance/finish").json()
    assert finished["summary"].endswith("of 20 cases")
    assert served.run.finished.is_set()


def test_a_refusal_is_reported_with_its_diagnostics(served: ConformanceServer) -> None:
    run = served.run
    case = _case(run, "get-encoded-query")
    auth = NuveraAuth(run.api_key, run.private_key_pem)

    def resign_other_target(request: httpx.Request) -> None:
        # The token is for another target than the one sent: uri_mismatch.
        request.url = request.url.copy_with(query=b"email=a@b.com&limit=10")

    with httpx.Client(
        base_url=served.base_url,
        headers={CASE_HEADER: "get-encoded-query"},
        event_hooks={"request": [resign_other_target]},
    ) as http:
        send_raw(http, auth, case)
    result = next(c for c in run.report().cases if c.id == "get-encoded-query")
    assert result.verdict == "failed"
    text = " ".join(result.reasons)
    assert "uri_mismatch" in text
    assert '"expected": "/v1/customers?email=a@b.com&limit=10"' in text
    assert '"received": "/v1/customers?email=a%40b.com&limit=10"' in text


def test_a_client_that_does_not_retry_fails_the_retry_case(
    served: ConformanceServer,
) -> None:
    run = served.run
    case = _case(run, "retry-idempotent-post")
    auth = NuveraAuth(run.api_key, run.private_key_pem)
    with httpx.Client(
        base_url=served.base_url, headers={CASE_HEADER: "retry-idempotent-post"}
    ) as http:
        assert send_raw(http, auth, case) == 503
    result = next(c for c in run.report().cases if c.id == "retry-idempotent-post")
    assert result.verdict == "failed"
    assert "1 attempts arrived, expected 2" in result.reasons
    # A second send with the same jti would be refused as a replay: never reuse.
    assert result.attempts[0].status == 201  # the sandbox did the work


def test_a_wrong_body_and_an_unknown_case_are_named(served: ConformanceServer) -> None:
    run = served.run
    auth = NuveraAuth(run.api_key, run.private_key_pem)
    with httpx.Client(base_url=served.base_url) as http:
        http.headers[CASE_HEADER] = "post-json-non-ascii"
        http.post(
            "/v1/customers",
            json={"type": "individual", "name": "Zoe", "email": "z@example.com"},
            auth=auth,
        )
        http.headers[CASE_HEADER] = "no-such-case"
        assert http.get("/v1/customers", auth=auth).status_code == 400
    result = next(c for c in run.report().cases if c.id == "post-json-non-ascii")
    assert result.verdict == "failed"
    assert any("plan body sha256" in reason for reason in result.reasons)


def test_cli_runs_a_client_and_writes_json_and_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "report.xml"
    code = main(
        [
            "sandbox",
            "conformance",
            "--json",
            "--junit",
            str(junit),
            "--",
            sys.executable,
            str(CLIENT),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True
    assert report["passed"] == report["total"] == 20
    suite = ET.fromstring(  # noqa: S314 - our own file
        junit.read_text("utf-8")
    )
    assert suite.get("tests") == "20"
    assert suite.get("failures") == "0"
    assert "nvk_test_" not in out + err


def test_cli_exit_1_and_junit_failures_when_cases_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "report.xml"
    code = main(
        [
            "sandbox",
            "conformance",
            "--junit",
            str(junit),
            "--",
            sys.executable,
            "-c",
            "pass",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert "MISSING  get-no-query" in out
    assert out.strip().splitlines()[-1] == (
        "conformance: 0 passed, 20 failed (20 not received) of 20 cases"
    )
    suite = ET.fromstring(  # noqa: S314 - our own file
        junit.read_text("utf-8")
    )
    assert suite.get("failures") == "20"
    assert suite.find("testcase/failure") is not None


def test_cli_credentials_file_is_private_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = (
        "import json, os, stat, sys\n"
        "p = os.environ['NUVERA_CONFORMANCE_CREDENTIALS']\n"
        "c = json.load(open(p))\n"
        "assert stat.S_IMODE(os.stat(p).st_mode) == 0o600\n"
        "assert c['test_only'] and c['plan_url'].endswith('/conformance/plan')\n"
        "open(sys.argv[1], 'w').write(p)\n"
    )
    seen = tmp_path / "seen.txt"
    code = main(
        ["sandbox", "conformance", "--", sys.executable, "-c", probe, str(seen)]
    )
    capsys.readouterr()
    assert code == 1  # nothing was sent
    assert not Path(seen.read_text()).exists()


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "conformance", "--host", "0.0.0.0"]) == 2  # noqa: S104
    assert "loopback" in capsys.readouterr().err


def test_python_client_script_exits_0_against_the_cli() -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "nuvera_client", "sandbox", "conformance"),
            *("--", sys.executable, str(CLIENT)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sent 20 cases; conformance: 20 passed, 0 failed" in done.stdout


def test_attempts_kept_per_case_are_bounded(served: ConformanceServer) -> None:
    run = served.run
    auth = NuveraAuth(run.api_key, run.private_key_pem)
    with httpx.Client(
        base_url=served.base_url, headers={CASE_HEADER: "get-no-query"}
    ) as http:
        for _ in range(25):
            http.get("/v1/customers", auth=auth)
    result = next(c for c in run.report().cases if c.id == "get-no-query")
    assert len(result.attempts) == 20
    assert result.verdict == "failed"


def test_cli_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(["sandbox", "conformance", "--port", str(port)])
    assert code == 2
    assert "cannot listen" in capsys.readouterr().err
