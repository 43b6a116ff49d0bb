"""Owns ``nuvera doctor``: check the set-up end to end, one line and a fix per check."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from nuvera_client import keys
from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._permissions import Permission, validate_permissions
from nuvera_client._signer import RequestSigner
from nuvera_client.errors import ConfigurationError, error_from_response

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_format_option,
    command,
    explain,
    print_json,
)
from ._settings import Settings, add_credential_options, resolve_settings

CLOCK_LEEWAY = 10  # PROTOCOL §3 checks 13/14
LOCAL_SANDBOX_URL = "http://127.0.0.1:8787"
"""Where ``nuvera sandbox serve`` listens by default; probed for test keys."""
LOCAL_PROBE_TIMEOUT = 0.5
P = Permission
READ_PROBES: tuple[tuple[Permission, str], ...] = (
    (P.CUSTOMERS_READ, "/v1/customers?limit=1"),
    (P.BENEFICIARIES_READ, "/v1/beneficiaries?limit=1"),
    (P.DOCUMENTS_READ, "/v1/documents?limit=1"),
    (P.CRYPTO_READ, "/v1/crypto/assets?limit=1"),
    (P.PAYMENTS_READ, "/v1/payments?limit=1"),
    (P.SCREENING_READ, "/v1/screening/results?limit=1"),
    (P.SUPPORT_READ, "/v1/support/tickets?limit=1"),
)
"""GET a one-item list: 403 ``permission_denied`` means not granted."""
WRITE_PROBES: tuple[tuple[Permission, str], ...] = (
    (P.CUSTOMERS_WRITE, "/v1/customers"),
    (P.BENEFICIARIES_WRITE, "/v1/beneficiaries"),
    (P.DOCUMENTS_WRITE, "/v1/documents"),
    (P.PAYMENTS_WRITE, "/v1/payments"),
    (P.SUPPORT_WRITE, "/v1/support/tickets"),
)
"""POST ``{}``: refused with 403 when not granted, with 4xx validation when granted.

The permission check (§3 #19) runs before the handler, so nothing is ever created.
"""
del P


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


def register(subparsers: Any) -> None:
    """Add ``doctor``."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the configuration end to end",
        description="Check the API key, the private key, the kid (against "
        "--public-key or the server), the clock offset, a signed round trip and "
        "the application's permissions; one line per check with a fix per failure.",
    )
    parser.add_argument(
        "--public-key", metavar="FILE", help="check the private key pairs with FILE"
    )
    parser.add_argument(
        "--expect",
        metavar="P1,P2",
        help="fail unless the application has at least these permissions",
    )
    parser.add_argument(
        "--offline", action="store_true", help="only the local checks, no request"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (10)")
    add_credential_options(parser)
    add_format_option(parser, json_flag=True)
    parser.set_defaults(func=run)


@command
def run(args: argparse.Namespace) -> int:
    """Run ``nuvera doctor``."""
    if args.expect:
        validate_permissions(args.expect)  # a bad --expect is a usage error, up front
    settings = resolve_settings(args)
    checks: list[Check] = []
    key = _check_api_key(settings, checks)
    url = _check_base_url(settings, key, checks, probe_local=not args.offline)
    signer = _check_private_key(settings, checks)
    _check_public_key(args, settings, signer, checks)
    if args.offline:
        checks.append(Check("server", "skip", "--offline"))
    elif key is None or signer is None or url is None:
        checks.append(Check("server", "skip", "fix the failures above first"))
    else:
        auth = NuveraAuth(key, signer=signer)
        with httpx.Client(base_url=url, auth=auth, timeout=args.timeout) as client:
            if _check_server(client, signer, checks):
                _check_permissions(client, args.expect, checks)
    ok = all(c.status != "fail" for c in checks)
    if args.format == "json":
        print_json({"ok": ok, "checks": [asdict(c) for c in checks]})
    else:
        for check in checks:
            print(f"[{check.status.upper():>4}] {check.name:<16} {check.detail}")
            if check.fix:
                print(f"{'':7}{'':<16} fix: {check.fix}")
        print("all checks passed" if ok else "some checks failed")
    return EXIT_OK if ok else EXIT_FAILED


def _check_api_key(settings: Settings, checks: list[Check]) -> ApiKey | None:
    try:
        key = settings.api_key()
    except ConfigurationError as exc:
        fix = "export NUVERA_API_KEY=nvk_... (shown once when the app was created)"
        checks.append(Check("api key", "fail", str(exc), fix))
        return None
    detail = f"{key.redacted} ({key.env}, from {settings.api_key_source})"
    expected = settings.profile.get("api_key_prefix")
    if expected and not key.reveal().startswith(expected):
        checks.append(
            Check(
                "api key",
                "fail",
                f"{detail} does not start with the profile's {expected}",
                "use the key of this profile's application, or "
                "`nuvera config set --profile NAME` with the new key",
            )
        )
        return None
    checks.append(Check("api key", "ok", detail))
    return key


def _check_base_url(
    settings: Settings,
    key: ApiKey | None,
    checks: list[Check],
    *,
    probe_local: bool = True,
) -> httpx.URL | None:
    try:
        url = settings.base_url(key)
    except ConfigurationError as exc:
        fix = "set NUVERA_BASE_URL / --base-url to match the key's environment"
        checks.append(Check("base url", "fail", str(exc), fix))
        return None
    implicit = settings.base_url_text is None
    is_test = key is not None and key.env == "test"
    # The first-time trap: a test key defaults to the hosted sandbox while the
    # partner runs `nuvera sandbox serve` locally. Say so instead of timing out.
    if (
        probe_local
        and implicit
        and is_test
        and local_sandbox_answers(LOCAL_SANDBOX_URL)
    ):
        checks.append(
            Check(
                "base url",
                "fail",
                f"{url} (the test key's default), but a local Nuvera sandbox "
                f"answers on {LOCAL_SANDBOX_URL}",
                f"export NUVERA_BASE_URL={LOCAL_SANDBOX_URL} to use the local "
                f"sandbox (or NUVERA_BASE_URL={url} to keep the hosted one)",
            )
        )
        return None
    checks.append(Check("base url", "ok", f"{url} (from {settings.base_url_source})"))
    return url


def local_sandbox_answers(base_url: str) -> bool:
    """Whether a Nuvera sandbox answers at ``base_url`` (an unsigned GET, 401)."""
    try:
        response = httpx.get(
            f"{base_url}/v1/crypto/assets", timeout=LOCAL_PROBE_TIMEOUT
        )
    except httpx.HTTPError:
        return False
    if "x-request-id" not in response.headers or response.status_code != 401:
        return False
    return _error_code(response) == "missing_api_key"


def _check_private_key(settings: Settings, checks: list[Check]) -> RequestSigner | None:
    try:
        signer = settings.signer()
    except ConfigurationError as exc:
        fix = (
            "point NUVERA_PRIVATE_KEY_FILE at the PEM from `nuvera keys generate` "
            "(and NUVERA_PRIVATE_KEY_PASSPHRASE if it is encrypted)"
        )
        if settings.pkcs11 is not None:
            fix = (
                "check NUVERA_PKCS11_LIBRARY, NUVERA_PKCS11_TOKEN_LABEL (or _SLOT), "
                "NUVERA_PKCS11_KEY_LABEL (or _KEY_ID) and NUVERA_PKCS11_PIN"
            )
        checks.append(Check("private key", "fail", str(exc), fix))
        return None
    detail = (
        f"RSA-{signer.key_size}, kid {signer.kid} (from {settings.private_key_source})"
    )
    checks.append(Check("private key", "ok", detail))
    return signer


def _check_public_key(
    args: argparse.Namespace,
    settings: Settings,
    signer: RequestSigner | None,
    checks: list[Check],
) -> None:
    name = args.public_key or settings.profile.get("public_key_file")
    if name is None or signer is None:
        return
    try:
        kid = keys.kid_of(keys.load_public_key(Path(name).expanduser()))
    except (ConfigurationError, OSError) as exc:
        checks.append(
            Check("key pair", "fail", f"{name}: {exc}", "give a PEM public key")
        )
        return
    if kid == signer.kid:
        checks.append(Check("key pair", "ok", f"{name} has the same kid"))
    else:
        checks.append(
            Check(
                "key pair",
                "fail",
                f"{name} has kid {kid}, the private key has {signer.kid}",
                "upload the public key of this private key, or use the matching "
                "private key (`nuvera keys inspect FILE --public FILE2`)",
            )
        )


def _check_server(
    client: httpx.Client, signer: RequestSigner, checks: list[Check]
) -> bool:
    started = time.time()
    try:
        response = client.get(READ_PROBES[3][1])
    except httpx.HTTPError as exc:
        checks.append(
            Check(
                "server",
                "fail",
                f"cannot reach {client.base_url}: {exc}",
                "check the base URL and that the server is running (a local "
                "sandbox: `nuvera sandbox serve`, then "
                f"export NUVERA_BASE_URL={LOCAL_SANDBOX_URL})",
            )
        )
        return False
    local = (started + time.time()) / 2
    code = _error_code(response)
    if code == "unknown_signing_key":
        checks.append(
            Check(
                "server kid",
                "fail",
                f"the server does not know kid {signer.kid} for this application",
                "upload this key's public PEM to the application (Settings > "
                "Platform > API Applications), or use its current private key",
            )
        )
    elif code not in ("invalid_api_key", "api_key_revoked", "application_disabled"):
        checks.append(Check("server kid", "ok", f"the application knows {signer.kid}"))
    _check_clock(response, local, checks)
    if response.is_success or code in ("permission_denied", "not_found"):
        rid = response.headers.get("x-request-id", "-")
        checks.append(Check("round trip", "ok", f"signed request accepted ({rid})"))
        return True
    error = error_from_response(
        response.status_code, response.content, dict(response.headers)
    )
    lines = explain(error)
    fix = " ".join(lines[1:]) or "see the server's message above"
    checks.append(Check("round trip", "fail", lines[0], fix))
    return False


def _check_clock(response: httpx.Response, local: float, checks: list[Check]) -> None:
    date = response.headers.get("date")
    try:
        server = parsedate_to_datetime(date).timestamp() if date else None
    except (TypeError, ValueError):
        server = None
    if server is None:
        checks.append(Check("clock", "warn", "the response has no usable Date header"))
        return
    # Date has whole seconds (truncated): centre the estimate on the half second.
    offset = server + 0.5 - local
    detail = f"offset {offset:+.0f}s against the server's Date (leeway {CLOCK_LEEWAY}s)"
    if abs(offset) > CLOCK_LEEWAY:
        fix = (
            "synchronise this machine's clock (NTP); the SDK corrects skew, curl cannot"
        )
        checks.append(Check("clock", "fail", detail, fix))
    elif abs(offset) > 2:
        checks.append(Check("clock", "warn", detail, "consider enabling NTP"))
    else:
        checks.append(Check("clock", "ok", detail))


def _error_code(response: httpx.Response) -> str | None:
    if response.is_success:
        return None
    return error_from_response(response.status_code, response.content).code


def probe_permissions(client: httpx.Client) -> tuple[set[Permission], list[str]]:
    """Return the granted permissions and the areas whose probe was inconclusive."""
    granted: set[Permission] = set()
    unclear: list[str] = []
    probes = [("GET", p, path) for p, path in READ_PROBES]
    probes += [("POST", p, path) for p, path in WRITE_PROBES]
    for method, permission, path in probes:
        is_read = method == "GET"
        response = client.get(path) if is_read else client.post(path, json={})
        code = _error_code(response)
        if code == "permission_denied":
            continue
        if response.status_code in (401, 429) or response.status_code >= 500:
            unclear.append(f"{permission.value} ({response.status_code} {code})")
        elif method == "POST" and response.is_success:
            # An empty object should never be accepted; say so rather than hide it.
            unclear.append(f"{permission.value} (the probe was accepted!)")
            granted.add(permission)
        else:
            granted.add(permission)
    return granted, unclear


def _check_permissions(
    client: httpx.Client, expect: str | None, checks: list[Check]
) -> None:
    granted, unclear = probe_permissions(client)
    names = [p.value for p in Permission if p in granted]
    detail = ", ".join(names) if names else "none"
    status = "warn" if unclear else "ok"
    fix = f"inconclusive: {', '.join(unclear)}" if unclear else ""
    checks.append(Check("permissions", status, detail, fix))
    if expect:
        wanted = validate_permissions(expect)
        missing = [p.value for p in Permission if p in wanted and p not in granted]
        if missing:
            checks.append(
                Check(
                    "expected perms",
                    "fail",
                    f"missing {', '.join(missing)}",
                    "grant them in Settings > Platform > API Applications",
                )
            )
        else:
            checks.append(Check("expected perms", "ok", "all granted"))
