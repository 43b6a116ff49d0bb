"""Owns ``nuvera sign``: show the signed headers and claims, or a ready curl command."""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._config import check_base_url
from nuvera_client._signer import MAX_TTL

from ._common import (
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    mask_token,
    print_json,
)
from ._request_body import Body, add_body_options, build_body
from ._settings import add_credential_options, resolve_settings


def register(subparsers: Any) -> None:
    """Add ``sign``."""
    parser = subparsers.add_parser(
        "sign",
        help="sign a request: headers, claims, or a curl command",
        description="Sign one request with the configured key and print its headers "
        "(token masked unless --show-token) and decoded claims; --curl writes the "
        "exact body and the secret headers to a private temporary directory and "
        "prints a curl command that sends those very bytes.",
    )
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument(
        "url", metavar="URL", help="full URL, or a path such as /v1/customers"
    )
    add_body_options(parser)
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra header for --curl, e.g. 'Idempotency-Key: k1' (repeatable)",
    )
    parser.add_argument(
        "--show-token",
        action="store_true",
        help="print the whole token (it grants access until it expires)",
    )
    parser.add_argument("--curl", action="store_true", help="print a curl command")
    parser.add_argument(
        "--ttl",
        type=int,
        default=MAX_TTL,
        help=f"token lifetime in seconds, 1..{MAX_TTL} (default {MAX_TTL})",
    )
    add_credential_options(parser)
    add_format_option(parser, json_flag=False)
    parser.set_defaults(func=run)


def target_url(settings_url: httpx.URL | None, url: str) -> httpx.URL:
    """Return the absolute URL: ``url`` itself, or a path joined to the base URL."""
    if url.startswith("/"):
        if settings_url is None:
            raise UsageError("a path needs a base URL (--base-url or NUVERA_BASE_URL)")
        base = str(settings_url).rstrip("/")
        path = url if url.startswith("/v1/") or url == "/v1" else "/v1" + url
        return httpx.URL(base + path)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"invalid URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"URL must be http(s)://host/path or a /path, not {url!r}")
    return parsed


@command
def run(args: argparse.Namespace) -> int:
    """Run ``nuvera sign``."""
    settings = resolve_settings(args)
    signer = settings.signer(ttl=args.ttl)
    api_key = settings.api_key() if settings.api_key_text is not None else None
    if args.curl and api_key is None:
        settings.api_key()  # raises the "no API key" configuration error
    base = settings.base_url(api_key) if args.url.startswith("/") else None
    url = target_url(base, args.url)
    if base is None:
        # A full URL gets the same checks as a base URL: loopback-only plain HTTP,
        # and no live key against a sandbox (nor a test key against production).
        check_base_url(f"{url.scheme}://{url.netloc.decode('ascii')}", _env(api_key))
    if url.raw_path.endswith(b"?") and not url.query:
        url = url.copy_with(query=None)
    uri = url.raw_path.decode("ascii")
    body = build_body(args)
    method = args.method.upper()
    extra = [_parse_header(h) for h in args.header]
    token = signer.sign(method, uri, body.content)
    claims = decoded_claims(token)
    shown_token = token if args.show_token else mask_token(token)
    headers: dict[str, str] = {
        "x-api-key": api_key.redacted if api_key else "<not configured>",
        "Authorization": f"Bearer {shown_token}",
    }
    if body.content_type:
        headers["Content-Type"] = body.content_type
    headers.update(extra)
    curl = None
    if args.curl and api_key is not None:
        curl = curl_command(method, url, body, api_key.reveal(), token, extra)
    if args.format == "json":
        print_json(
            {
                "method": method,
                "url": str(url),
                "kid": signer.kid,
                "headers": headers,
                "claims": claims,
                "body_length": len(body.content),
                "curl": curl,
            }
        )
        return EXIT_OK
    print(f"{method} {uri}  ({len(body.content)} body bytes, kid {signer.kid})")
    for name, value in headers.items():
        print(f"{name}: {value}")
    print()
    print("claims:")
    for claim, claim_value in claims.items():
        print(f"  {claim}: {claim_value}")
    if curl:
        print()
        print(
            "# The headers file holds the API key and the token (valid "
            f"{args.ttl}s, one use); remove its directory when done."
        )
        print(curl)
    return EXIT_OK


def decoded_claims(token: str) -> dict[str, Any]:
    """Decode a token's payload: what is shown is exactly what was signed."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def _env(api_key: ApiKey | None) -> str | None:
    return None if api_key is None else api_key.env


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header expects 'Name: value', got {text!r}")
    if name.strip().lower() in ("authorization", "x-api-key"):
        raise UsageError(f"--header cannot set {name.strip()}: the signature sets it")
    return name.strip(), value.strip()


def curl_command(
    method: str,
    url: httpx.URL,
    body: Body,
    api_key: str,
    token: str,
    extra: list[tuple[str, str]],
) -> str:
    """Write the secret headers and the body to a 0700 directory; return curl's line.

    The body goes through ``--data-binary @file``, so curl sends exactly the bytes
    that were hashed; ``--path-as-is`` and ``--globoff`` keep the target unchanged.
    """
    directory = Path(tempfile.mkdtemp(prefix="nuvera-sign-"))
    headers_file = directory / "headers"
    fd = os.open(headers_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"x-api-key: {api_key}\nAuthorization: Bearer {token}\n")
    parts = ["curl", "--silent", "--show-error", "--path-as-is", "--globoff"]
    parts += ["--request", method, "--header", f"@{headers_file}"]
    for name, value in extra:
        parts += ["--header", f"{name}: {value}"]
    if body.content_type:
        parts += ["--header", f"Content-Type: {body.content_type}"]
    if body.content:
        body_file = directory / "body"
        body_file.write_bytes(body.content)
        parts += ["--data-binary", f"@{body_file}"]
    parts.append(str(url))
    return shlex.join(parts)
