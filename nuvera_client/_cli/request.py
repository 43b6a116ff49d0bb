"""Owns ``nuvera request``: send one signed request and explain what came back."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from nuvera_client.errors import error_from_response

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    explain,
    fail,
    print_json,
)
from ._request_body import add_body_options, build_body
from ._settings import add_credential_options, http_client, resolve_settings


def register(subparsers: Any) -> None:
    """Add ``request``."""
    parser = subparsers.add_parser(
        "request",
        help="send one signed request; explain a refusal",
        description="Send one signed request (no retries) with the configured "
        "credentials and print the status, the request id and the JSON body; on a "
        "refusal, explain the server's diagnostic details in plain words.",
    )
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument("path", metavar="PATH", help="e.g. /v1/customers or /customers")
    add_body_options(parser)
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="K=V",
        help="query parameter, percent-encoded for you (repeatable)",
    )
    parser.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="Idempotency-Key header (generated for POST /v1/payments when absent)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="write the response body to FILE (downloads)"
    )
    add_credential_options(parser)
    add_format_option(parser, json_flag=False)
    parser.set_defaults(func=run)


def request_target(path: str, query: list[str]) -> str:
    """Return the origin-form target: ``/v1`` + path, plus the encoded query."""
    if not path.startswith("/"):
        path = "/" + path
    if not (path == "/v1" or path.startswith(("/v1/", "/v1?"))):
        path = "/v1" + path
    pairs = []
    for item in query:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--query expects K=V, got {item!r}")
        pairs.append((name, value))
    if pairs:
        joiner = "&" if "?" in path else "?"
        path += joiner + urlencode(pairs, quote_via=quote, safe="")
    return path


@command
def run(args: argparse.Namespace) -> int:
    """Run ``nuvera request``."""
    settings = resolve_settings(args)
    body = build_body(args)
    method = args.method.upper()
    target = request_target(args.path, args.query)
    headers: dict[str, str] = {}
    if body.content_type:
        headers["Content-Type"] = body.content_type
    key = args.idempotency_key
    if key is None and method == "POST" and target.split("?")[0] == "/v1/payments":
        key = secrets.token_hex(16)  # the server requires one on this endpoint
    if key is not None:
        headers["Idempotency-Key"] = key
    with http_client(settings) as client:
        response = client.request(method, target, content=body.content, headers=headers)
    return report(response, args, signed_length=len(body.content), idempotency_key=key)


def report(
    response: httpx.Response,
    args: argparse.Namespace,
    *,
    signed_length: int,
    idempotency_key: str | None,
) -> int:
    """Print the response (and an explanation when refused); return the exit code."""
    request_id = response.headers.get("x-request-id")
    content_type = response.headers.get("content-type", "")
    parsed: object = None
    if "json" in content_type:
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
    if args.out and response.is_success:
        Path(args.out).expanduser().write_bytes(response.content)
    if args.format == "json":
        print_json(
            {
                "status": response.status_code,
                "request_id": request_id,
                "idempotency_key": idempotency_key,
                "replayed": response.headers.get("idempotent-replayed") == "true",
                "body": parsed,
            }
        )
    else:
        reason = response.reason_phrase
        print(f"HTTP {response.status_code} {reason}  request id {request_id or '-'}")
        if idempotency_key is not None:
            replayed = response.headers.get("idempotent-replayed") == "true"
            print(
                f"Idempotency-Key: {idempotency_key}"
                + ("  (replayed response)" if replayed else "")
            )
        if parsed is not None:
            print(json.dumps(parsed, indent=2, ensure_ascii=False))
        elif args.out and response.is_success:
            print(f"wrote {len(response.content)} bytes to {args.out}")
        elif response.content:
            print(f"({len(response.content)} bytes of {content_type or 'data'})")
    if response.is_success:
        return EXIT_OK
    error = error_from_response(
        response.status_code, response.content, dict(response.headers)
    )
    for line in explain(error, signed_length=signed_length):
        fail(line)
    sys.stderr.flush()
    return EXIT_FAILED
