"""SoftHSM2 for the tests: where the module is, and how to make tokens and keys.

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the module is first initialised, and
python-pkcs11 loads a module once per process: so one session-wide configuration
serves every test. The tests skip (one reason) when SoftHSM2 is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOFTHSM_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
SKIP_REASON = "SoftHSM2 not installed (apt-get install softhsm2)"
PIN = "246810"
SO_PIN = "13579111"
TOKEN = "nuvera-tests"
PIN_TOKEN = "nuvera-pin-tests"  # nobody stays logged in: wrong PINs are seen


def softhsm_library() -> str | None:
    """Return the SoftHSM2 module path, or None when it is not installed."""
    for candidate in SOFTHSM_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    return None


LIBRARY = softhsm_library()
AVAILABLE = LIBRARY is not None and shutil.which("softhsm2-util") is not None


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 set-up: module path, token labels, the user PIN."""

    library: str
    token: str
    pin_token: str
    pin: str
    directory: Path


def init_token(conf: Path, label: str) -> None:
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        timeout=60,
    )


def make_keys(s: Any) -> None:
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    s.generate_keypair(KeyType.RSA, 2048, label="signing", id=b"\x01", store=True)
    s.generate_keypair(KeyType.RSA, 3072, label="signing-3072", id=b"\x02", store=True)
    s.generate_keypair(KeyType.RSA, 1024, label="small", id=b"\x03", store=True)
    s.generate_keypair(
        KeyType.RSA,
        2048,
        label="no-sign",
        id=b"\x04",
        store=True,
        private_template={Attribute.SIGN: False},
    )
    parameters = s.create_domain_parameters(
        KeyType.EC,
        {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        local=True,
    )
    parameters.generate_keypair(label="ec", id=b"\x05", store=True)
    # Two keys sharing a label: ambiguous without an id.
    for key_id in (b"\x06", b"\x07"):
        s.generate_keypair(KeyType.RSA, 2048, label="twin", id=key_id, store=True)
