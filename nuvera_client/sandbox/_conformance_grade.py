"""Owns grading a conformance case: what arrived, the rules it must meet, the report."""

from __future__ import annotations

import base64
import gzip
import json
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from typing import Any

from nuvera_client.sandbox._conformance_plan import body_of, sha256_hex

# The §3 codes of checks 1-18: an answer carrying one means the request was refused.
REFUSALS = frozenset(
    {
        "missing_api_key",
        "invalid_api_key",
        "api_key_revoked",
        "application_disabled",
        "missing_signature",
        "malformed_token",
        "unsupported_algorithm",
        "unknown_signing_key",
        "invalid_signature",
        "invalid_issuer",
        "invalid_audience",
        "invalid_lifetime",
        "token_not_yet_valid",
        "token_expired",
        "replayed_jti",
        "method_mismatch",
        "uri_mismatch",
        "body_hash_mismatch",
    }
)


@dataclass
class Attempt:
    """One request that arrived for a case, and the answer it got."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    jti: str | None
    status: int = 0
    code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    response: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return the attempt as JSON (no API key, no token)."""
        return {
            "method": self.method,
            "target": self.target,
            "body_length": len(self.body),
            "body_sha256": sha256_hex(self.body),
            "jti": self.jti,
            "idempotency_key": self.headers.get("idempotency-key"),
            "content_encoding": self.headers.get("content-encoding"),
            "transfer_encoding": self.headers.get("transfer-encoding"),
            "status": self.status,
            "code": self.code,
            "details": self.details,
        }


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one case: ``passed``, ``failed`` or ``missing``."""

    id: str
    title: str
    verdict: str
    reasons: tuple[str, ...]
    attempts: tuple[Attempt, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "attempts": [attempt.to_dict() for attempt in self.attempts],
        }


@dataclass(frozen=True)
class Report:
    """Every case's verdict, in plan order."""

    cases: tuple[CaseResult, ...]
    unlabelled: int = 0

    @property
    def passed(self) -> int:
        """How many cases passed."""
        return sum(case.verdict == "passed" for case in self.cases)

    @property
    def ok(self) -> bool:
        """Whether every case passed."""
        return self.passed == len(self.cases)

    def summary(self) -> str:
        """Return the one-line summary: ``N passed, M failed (K missing)``."""
        missing = sum(case.verdict == "missing" for case in self.cases)
        failed = len(self.cases) - self.passed
        return (
            f"conformance: {self.passed} passed, {failed} failed "
            f"({missing} not received) of {len(self.cases)} cases"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON."""
        return {
            "ok": self.ok,
            "passed": self.passed,
            "failed": len(self.cases) - self.passed,
            "total": len(self.cases),
            "unlabelled_requests": self.unlabelled,
            "summary": self.summary(),
            "cases": [case.to_dict() for case in self.cases],
        }

    def junit_xml(self) -> str:
        """Return the report as JUnit XML (one testcase per plan case)."""
        suite = ET.Element(
            "testsuite",
            name="nuvera-conformance",
            tests=str(len(self.cases)),
            failures=str(len(self.cases) - self.passed),
            errors="0",
            skipped="0",
        )
        for case in self.cases:
            element = ET.SubElement(
                suite, "testcase", classname="nuvera.conformance", name=case.id
            )
            if case.verdict != "passed":
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=f"{case.verdict}: {'; '.join(case.reasons)}",
                    type=case.verdict,
                )
                failure.text = json.dumps(
                    [attempt.to_dict() for attempt in case.attempts], indent=2
                )
        ET.indent(suite)
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

    def lines(self) -> list[str]:
        """Return a human-readable verdict per case, then the summary."""
        out = []
        for case in self.cases:
            out.append(f"{case.verdict.upper():8} {case.id}  ({case.title})")
            out += [f"         - {reason}" for reason in case.reasons]
        out.append(self.summary())
        return out


def grade(case: dict[str, Any], attempts: list[Attempt]) -> CaseResult:
    """Grade one case on the attempts that arrived for it."""
    title = str(case.get("title", ""))
    if not attempts:
        return CaseResult(case["id"], title, "missing", ("no request arrived",), ())
    request = case["request"]
    expect = case.get("expect", {})
    reasons: list[str] = []
    wanted_attempts = int(expect.get("attempts", 1))
    if len(attempts) != wanted_attempts:
        reasons.append(f"{len(attempts)} attempts arrived, expected {wanted_attempts}")
    first_refusal = expect.get("first_refusal")
    target = expect.get("target", request["target"])
    for number, attempt in enumerate(attempts, 1):
        where = f"attempt {number}"
        if attempt.method != request["method"]:
            reasons.append(
                f"{where}: method {attempt.method!r}, plan says {request['method']!r}"
            )
        if attempt.target != target:
            reasons.append(f"{where}: target {attempt.target!r}, expected {target!r}")
        if attempt.code in REFUSALS:
            allowed = number == 1 and attempt.code == first_refusal
            if not allowed:
                reasons.append(
                    f"{where}: refused {attempt.status} {attempt.code} "
                    f"details={json.dumps(attempt.details, sort_keys=True)}"
                )
        elif number == 1 and first_refusal:
            reasons.append(f"{where}: expected {first_refusal}, got {attempt.status}")
        reasons += _body_reasons(where, request, expect, attempt)
    final = attempts[-1]
    if "status" in expect and final.status != expect["status"]:
        shown = f"{final.status} {final.code}" if final.code else str(final.status)
        reasons.append(f"final status {shown}, expected {expect['status']}")
    if "code" in expect and final.code != expect["code"]:
        reasons.append(f"final code {final.code}, expected {expect['code']}")
    if expect.get("fresh_jti"):
        jtis = [attempt.jti for attempt in attempts]
        if None in jtis or len(set(jtis)) != len(jtis):
            reasons.append(
                "every attempt needs its own jti; the same jti was sent again"
            )
    if expect.get("same_idempotency_key"):
        wanted = request["headers"].get("Idempotency-Key")
        sent = [attempt.headers.get("idempotency-key") for attempt in attempts]
        if any(key != wanted for key in sent):
            reasons.append(
                f"Idempotency-Key per attempt {sent}, expected {wanted!r} on each"
            )
    if expect.get("multipart") and isinstance(final.response, dict):
        files = request["multipart"]["files"]
        wanted_hash = sha256_hex(base64.b64decode(files[0]["content_base64"]))
        if final.response.get("sha256") != wanted_hash:
            reasons.append("the uploaded file arrived with other bytes")
    verdict = "passed" if not reasons else "failed"
    return CaseResult(case["id"], title, verdict, tuple(reasons), tuple(attempts))


def _body_reasons(
    where: str, request: dict[str, Any], expect: dict[str, Any], attempt: Attempt
) -> list[str]:
    reasons = []
    encoding = attempt.headers.get("content-encoding")
    if expect.get("gzip"):
        if encoding != "gzip":
            reasons.append(f"{where}: Content-Encoding {encoding!r}, expected 'gzip'")
        else:
            try:
                decoded = gzip.decompress(attempt.body)
            except (OSError, EOFError, zlib.error):
                return [*reasons, f"{where}: the body is not valid gzip"]
            if decoded != body_of(request):
                reasons.append(f"{where}: the body decompresses to other bytes")
    elif expect.get("body_exact") and attempt.body != body_of(request):
        reasons.append(
            f"{where}: body sha256 {sha256_hex(attempt.body)} ({len(attempt.body)} "
            f"bytes), plan body sha256 {sha256_hex(body_of(request))}"
        )
    chunked = "chunked" in attempt.headers.get("transfer-encoding", "").lower()
    if expect.get("chunked") and not chunked:
        reasons.append(f"{where}: not streamed (no Transfer-Encoding: chunked)")
    if expect.get("multipart"):
        content_type = attempt.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            reasons.append(
                f"{where}: Content-Type {content_type!r}, expected multipart"
            )
    return reasons
