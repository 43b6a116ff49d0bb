"""Owns ``nuvera sign``: show the signed headers and claims, or a ready curl command."""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._config import ENV_API_KEY, check_base_url
from nuvera_client._signer import DEFAULT_TTL, MAX_TTL

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
        "(token masked unless --show-token) and decoded claims; --curl prints only a "
        "shell script on stdout (the summary goes to stderr) whose curl sends the "
        "exact signed bytes: the body and the short-lived token wait in a private "
        "temporary directory, the API key is read from where it is kept when the "
        "script runs and is written nowhere.",
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
    parser.add_argument(
        "--curl",
        action="store_true",
        help="print only a curl script on stdout (summary on stderr)",
    )
    parser.add_argument(
        "--ttl",
        type=int,
        default=DEFAULT_TTL,
        help=f"token lifetime in seconds, 1..{MAX_TTL} (default {DEFAULT_TTL})",
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
        source = _key_reference(
            settings.api_key_source, getattr(args, "api_key_file", None)
        )
        curl = curl_script(method, url, body, source, token, extra, ttl=args.ttl)
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
    # With --curl, stdout carries the script alone (`... --curl > req.sh`).
    summary = sys.stderr if curl else sys.stdout
    print(
        f"{method} {uri}  ({len(body.content)} body bytes, kid {signer.kid})",
        file=summary,
    )
    for name, value in headers.items():
        print(f"{name}: {value}", file=summary)
    print(file=summary)
    print("claims:", file=summary)
    for claim, claim_value in claims.items():
        print(f"  {claim}: {claim_value}", file=summary)
    if curl:
        print(curl, end="")
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


def _key_reference(source: str, key_file: str | None) -> str:
    # A shell expression the script expands when it runs: the key is never copied.
    if key_file:
        return f"$(cat {shlex.quote(key_file)})"
    if source != ENV_API_KEY:
        print(
            f"nuvera: the API key comes from {source}; the script reads "
            f"${ENV_API_KEY}: export it before running the script",
            file=sys.stderr,
        )
    return f"${{{ENV_API_KEY}:?export {ENV_API_KEY} first}}"


def curl_script(
    method: str,
    url: httpx.URL,
    body: Body,
    api_key_reference: str,
    token: str,
    extra: list[tuple[str, str]],
    *,
    ttl: int,
) -> str:
    """Write the token and the body to a 0700 directory; return a ``sh`` script.

    The body goes through ``--data-binary @file``, so curl sends exactly the bytes
    that were hashed; ``--path-as-is`` and ``--globoff`` keep the target unchanged.
    The API key reaches curl on its standard input (a here-document expanding
    ``api_key_reference``), so it is neither on disk nor in curl's arguments.
    """
    directory = Path(tempfile.mkdtemp(prefix="nuvera-sign-"))
    token_file = directory / "token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"Authorization: Bearer {token}\n")
    parts = ["curl", "--silent", "--show-error", "--path-as-is", "--globoff"]
    parts += ["--request", method, "--header", f"@{token_file}", "--header", "@-"]
    for name, value in extra:
        parts += ["--header", f"{name}: {value}"]
    if body.content_type:
        parts += ["--header", f"Content-Type: {body.content_type}"]
    if body.content:
        body_file = directory / "body"
        body_file.write_bytes(body.content)
        parts += ["--data-binary", f"@{body_file}"]
    parts.append(str(url))
    return (
        "#!/bin/sh\n"
        f"# nuvera sign: {method} {url.raw_path.decode('ascii')}; the token is valid "
        f"{ttl}s for one request.\n"
        f"# {directory} holds the token and the body (no API key); remove it after.\n"
        f"{shlex.join(parts)} <<NUVERA_API_KEY_HEADER\n"
        f"x-api-key: {api_key_reference}\n"
        "NUVERA_API_KEY_HEADER\n"
    )
