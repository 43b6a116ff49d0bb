"""Run the conformance plan with the Python SDK (NuveraClient and NuveraAuth).

The same flow a porter's SDK follows: read the credentials file the conformance
server wrote, fetch the plan, send every case with its case header, then finish.

    nuvera sandbox conformance -- python tests/conformance_kit/python_client.py
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from nuvera_client import NuveraAuth, NuveraClient


def _body(request: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    headers = dict(request.get("headers", {}))
    if "multipart" in request:
        form = request["multipart"]
        files = [
            (
                part["name"],
                (
                    part["filename"],
                    base64.b64decode(part["content_base64"]),
                    part["content_type"],
                ),
            )
            for part in form["files"]
        ]
        encoded = httpx.Request(
            "POST", "http://x/", data=dict(form["fields"]), files=files
        )
        headers["Content-Type"] = encoded.headers["content-type"]
        return encoded.read(), headers
    body = base64.b64decode(request.get("body_base64", ""))
    if request.get("gzip"):
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return body, headers


def _chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def send_raw(http: httpx.Client, auth: NuveraAuth, case: dict[str, Any]) -> int:
    """Send one case as given, signed by NuveraAuth; return the status."""
    request = case["request"]
    body, headers = _body(request)
    content: bytes | Iterator[bytes] = _chunks(body) if request.get("stream") else body
    response = http.request(
        request["method"],
        request["target"],
        content=content,
        headers=headers,
        auth=auth,
    )
    return response.status_code


def _policy_case(client: NuveraClient, case: dict[str, Any]) -> None:
    # Cases about the attempt loop run through NuveraClient's own resources.
    body = json.loads(base64.b64decode(case["request"].get("body_base64", "")) or "{}")
    target = case["request"]["target"]
    if target == "/v1/payments":
        client.payments.create(
            idempotency_key=case["request"]["headers"]["Idempotency-Key"], **body
        )
    elif target == "/v1/customers":
        client.customers.create(**body)
    elif target == "/v1/crypto/networks":
        client.crypto.networks.list().first_page()
    else:
        raise ValueError(f"no policy runner for {target}")


POLICY_CASES = frozenset(
    {"retry-idempotent-post", "clock-server-ahead", "clock-server-behind"}
)


def run_plan(base_url: str, credentials: dict[str, Any], plan: dict[str, Any]) -> int:
    """Send every case of ``plan``; return how many were sent."""
    header = plan["case_header"]
    http = httpx.Client(base_url=base_url, timeout=30)
    client = NuveraClient(
        credentials["api_key"],
        credentials["private_key_pem"],
        base_url=base_url,
        http_client=http,
    )
    try:
        for case in plan["cases"]:
            http.headers[header] = case["id"]
            if case["id"] in POLICY_CASES:
                try:
                    _policy_case(client, case)
                except Exception as exc:  # graded by the server, not here
                    print(f"{case['id']}: {type(exc).__name__}", file=sys.stderr)  # noqa: T201
            else:
                send_raw(http, client.auth, case)
        del http.headers[header]
    finally:
        client.close()
        http.close()
    return len(plan["cases"])


def main() -> int:
    with open(os.environ["NUVERA_CONFORMANCE_CREDENTIALS"], encoding="utf-8") as f:
        credentials = json.load(f)
    base_url = credentials["base_url"]
    plan = httpx.get(credentials["plan_url"], timeout=30).json()
    sent = run_plan(base_url, credentials, plan)
    report = httpx.post(credentials["finish_url"], timeout=30).json()
    print(f"sent {sent} cases; {report['summary']}")  # noqa: T201
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
