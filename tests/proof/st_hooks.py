"""Schemathesis hooks: sign every request after requests has built it.

Loaded by ``schemathesis run`` through ``SCHEMATHESIS_HOOKS=proof.st_hooks``. The
credentials come from the file named by ``NUVERA_PROOF_CREDENTIALS`` (JSON with
``api_key`` and ``private_key_pem``), written by :mod:`proof.schema_run`.

Registered as Schemathesis' ``requests`` auth provider: requests calls it on the
PreparedRequest (final target, final body bytes), so the token covers exactly what
is sent. Schemathesis leaves it off the cases that test missing or invalid
credentials (negative cases that drop a security header, ``ignored_auth`` probes),
so those reach the verifier unsigned, as they should.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from schemathesis.transport.prepare import get_exclude_headers

from nuvera_client.requests_auth import NuveraRequestsAuth


def _load() -> NuveraRequestsAuth:
    with open(os.environ["NUVERA_PROOF_CREDENTIALS"], encoding="utf-8") as handle:
        creds = json.load(handle)
    return NuveraRequestsAuth(creds["api_key"], creds["private_key_pem"])


# schemathesis.auth is also its decorator's name, which is all its stubs show.
schemathesis.auth.set_from_requests(_load())  # type: ignore[attr-defined]


_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    # A negative case that removes a credential header must reach the server
    # without it: signing would put both headers back.
    removed = {name.lower() for name in get_exclude_headers(case)}
    if removed & _CREDENTIAL_HEADERS:
        kwargs["auth"] = None
