"""Owns ``nuvera rotate plan``: the zero-downtime rotation sequence, checked live."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from nuvera_client._api_key import ApiKey
from nuvera_client._auth import NuveraAuth
from nuvera_client._signer import RequestSigner
from nuvera_client.errors import ConfigurationError, error_from_response

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    print_json,
)
from ._settings import add_credential_options, resolve_settings

PROBE_PATH = "/v1/crypto/assets?limit=1"
ACCEPTED_CODES = ("permission_denied", "not_found")
"""Refusals that come after the signature checks: the credentials themselves work."""


@dataclass
class Step:
    """One step of a rotation, with the state the server shows for it."""

    kind: str
    number: int
    action: str
    status: str = "todo"  # todo | ok | pending | fail | skip
    detail: str = ""


def register(subparsers: Any) -> None:
    """Add ``rotate plan``."""
    parser = subparsers.add_parser(
        "rotate",
        help="zero-downtime rotation of API keys and signing keys",
        description="Rotate credentials without downtime.",
    )
    sub = parser.add_subparsers(dest="rotate_command", metavar="COMMAND", required=True)
    plan = sub.add_parser(
        "plan",
        help="print the rotation sequence; --check verifies each step",
        description="Print the zero-downtime sequence for rotating the API key and "
        "the signing key. With --check, verify each step against the server: the "
        "new credential works before the old one is removed, and the old one is "
        "refused once removed. The configured credentials are the current (old) ones "
        "unless --old-* says otherwise.",
    )
    plan.add_argument(
        "--kind", choices=("api-key", "signing-key", "both"), default="both"
    )
    plan.add_argument("--check", action="store_true", help="verify against the server")
    plan.add_argument("--new-api-key-file", metavar="FILE", help="the new API key")
    plan.add_argument("--new-private-key", metavar="FILE", help="the new private key")
    plan.add_argument(
        "--new-passphrase-env", metavar="VAR", help="passphrase of the new key"
    )
    plan.add_argument("--old-api-key-file", metavar="FILE", help="the old API key")
    plan.add_argument("--old-private-key", metavar="FILE", help="the old private key")
    plan.add_argument("--timeout", type=float, default=10.0)
    add_credential_options(plan)
    add_format_option(plan, json_flag=True)
    plan.set_defaults(func=run)


def signing_key_steps() -> list[Step]:
    """Return the signing-key rotation sequence."""
    actions = (
        "Generate a new key pair: nuvera keys generate --out NEW_DIR",
        "Add NEW_DIR/nuvera_public.pem to the application as a second signing key "
        "(at most two are active); the old key keeps working",
        "Check that a request signed with the new key is accepted",
        "Deploy the new private key to every service (NUVERA_PRIVATE_KEY_FILE, or "
        "client.rotate_credentials(private_key=...) without a restart)",
        "Only then remove the old signing key from the application; check it is "
        "refused (unknown_signing_key) and the new key still works",
    )
    return [Step("signing-key", n, a) for n, a in enumerate(actions, start=1)]


def api_key_steps() -> list[Step]:
    """Return the API-key rotation sequence."""
    actions = (
        "Rotate the API key in the application's settings: a new key is shown once; "
        "the old key keeps working for its grace period (24 h by default)",
        "Check that a request with the new key is accepted",
        "Deploy the new key to every service (NUVERA_API_KEY, or "
        "client.rotate_credentials(api_key=...) without a restart)",
        "Only then revoke the old key (or let its grace period end); check it is "
        "refused (api_key_revoked) and the new key still works",
    )
    return [Step("api-key", n, a) for n, a in enumerate(actions, start=1)]


def _key_from(path: str | None) -> ApiKey | None:
    if path is None:
        return None
    text = Path(path).expanduser().read_text(encoding="utf-8")
    return ApiKey.parse(text)


def _signer_from(path: str | None, passphrase_env: str | None) -> RequestSigner | None:
    if path is None:
        return None
    passphrase = os.environ.get(passphrase_env) if passphrase_env else None
    return RequestSigner(Path(path).expanduser(), passphrase=passphrase)


def probe(
    url: httpx.URL, key: ApiKey, signer: RequestSigner, timeout: float
) -> str | None:
    """Send one signed GET; return None when the credentials work, else the code."""
    auth = NuveraAuth(key, signer=signer)
    with httpx.Client(base_url=url, auth=auth, timeout=timeout) as client:
        response = client.get(PROBE_PATH)
    if response.is_success:
        return None
    code = error_from_response(response.status_code, response.content).code
    return None if code in ACCEPTED_CODES else code


@command
def run(args: argparse.Namespace) -> int:
    """Run ``nuvera rotate plan``."""
    steps: list[Step] = []
    if args.kind in ("signing-key", "both"):
        steps += signing_key_steps()
    if args.kind in ("api-key", "both"):
        steps += api_key_steps()
    if args.check:
        _check(args, steps)
    failed = any(s.status == "fail" for s in steps)
    if args.format == "json":
        print_json({"ok": not failed, "steps": [asdict(s) for s in steps]})
    else:
        kind = None
        for step in steps:
            if step.kind != kind:
                kind = step.kind
                title = "Signing key" if kind == "signing-key" else "API key"
                if step is not steps[0]:
                    print()
                print(f"{title} rotation (zero downtime):")
            mark = f"[{step.status}] " if args.check else ""
            print(f"  {step.number}. {mark}{step.action}")
            if step.detail:
                print(f"      -> {step.detail}")
    return EXIT_FAILED if failed else EXIT_OK


def _check(args: argparse.Namespace, steps: list[Step]) -> None:
    settings = resolve_settings(args)
    old_key = _key_from(args.old_api_key_file) or settings.api_key()
    old_signer = _signer_from(args.old_private_key, None) or settings.signer()
    new_key = _key_from(args.new_api_key_file)
    new_signer = _signer_from(args.new_private_key, args.new_passphrase_env)
    url = settings.base_url(old_key)
    # One credential changes at a time: each probe pairs the credential under test
    # with the *configured* other half (the one the services use right now).
    configured = settings.api_key(), settings.signer()
    configured_key, configured_signer = configured

    def status(step: Step, value: str, detail: str) -> None:
        step.status, step.detail = value, detail

    by_kind = {(s.kind, s.number): s for s in steps}
    if ("signing-key", 1) in by_kind:
        s1, s2, s3, s4, s5 = (by_kind["signing-key", n] for n in range(1, 6))
        if new_signer is None:
            for step in (s1, s2, s3, s4, s5):
                status(step, "skip", "pass --new-private-key FILE to check")
        elif new_signer.kid == old_signer.kid:
            raise UsageError("--new-private-key is the same key as the old one")
        else:
            status(s1, "ok", f"new kid {new_signer.kid} (old {old_signer.kid})")
            new_works = probe(url, configured_key, new_signer, args.timeout)
            if new_works is None:
                status(s2, "ok", "the application has the new public key")
                status(s3, "ok", "a request signed with the new key was accepted")
            else:
                status(s2, "pending", f"new key refused: {new_works}")
                status(s3, "fail", "do NOT remove the old key: the new one is refused")
            deployed = configured[1].kid == new_signer.kid
            status(
                s4,
                "ok" if deployed else "pending",
                "configured credentials use the new key"
                if deployed
                else "the configured private key is still the old one",
            )
            old_state = probe(url, configured_key, old_signer, args.timeout)
            if old_state == "unknown_signing_key":
                status(
                    s5,
                    "ok" if new_works is None else "fail",
                    "old key refused (unknown_signing_key)",
                )
            elif old_state is None:
                status(s5, "pending", "old key still accepted: remove it once deployed")
            else:
                status(s5, "pending", f"probe with the old key refused: {old_state}")
    if ("api-key", 1) in by_kind:
        a1, a2, a3, a4 = (by_kind["api-key", n] for n in range(1, 5))
        if new_key is None:
            for step in (a1, a2, a3, a4):
                status(step, "skip", "pass --new-api-key-file FILE to check")
        elif new_key == old_key:
            raise UsageError("--new-api-key-file is the same key as the old one")
        else:
            try:
                new_ok = probe(url, new_key, configured_signer, args.timeout)
            except ConfigurationError as exc:
                new_ok = str(exc)
            status(a1, "ok", f"new key {new_key.redacted}")
            if new_ok is None:
                status(a2, "ok", "a request with the new key was accepted")
            else:
                status(a2, "fail", f"new key refused ({new_ok}): do NOT revoke the old")
            deployed = configured[0] == new_key
            status(
                a3,
                "ok" if deployed else "pending",
                "configured credentials use the new key"
                if deployed
                else "the configured API key is still the old one",
            )
            old_state = probe(url, old_key, configured_signer, args.timeout)
            if old_state in ("api_key_revoked", "invalid_api_key"):
                status(
                    a4,
                    "ok" if new_ok is None else "fail",
                    f"old key refused ({old_state})",
                )
            elif old_state is None:
                status(a4, "pending", "old key still accepted: revoke it once deployed")
            else:
                status(a4, "pending", f"probe with the old key refused: {old_state}")
