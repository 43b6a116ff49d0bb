"""Tokens per second through SoftHSM2 (PKCS#11) next to the local-key floor.

    .venv/bin/python benchmarks/bench_hsm.py [--threads 4] [--seconds 2]

Creates a throw-away SoftHSM2 token in a temporary directory (needs the
``softhsm2`` package and the ``hsm`` extra), generates an RSA key inside it, and
imports the same key pair's twin into this process; then, interleaved round by
round so CPU frequency drift hits both alike, it times:

* hsm   - ``RequestSigner(Pkcs11SigningKey).sign``: claims, canonical JSON and
          one ``C_Sign`` with ``CKM_SHA256_RSA_PKCS`` inside the token;
* local - the same ``RequestSigner.sign`` with the private key in memory (the
          floor: what the SDK costs without an HSM).

Single-threaded and with ``--threads`` threads sharing one key (the session
pool; calls into the module are serialised, see ``nuvera_client.hsm``). It
prints tokens/s and the ratio hsm/local measured in this run; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import RequestSigner

LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
PIN = "1234"
LABEL = "bench"
BITS = 2048
ROUNDS = 7


def _token(directory: Path) -> str:
    library = next((p for p in LIBRARIES if os.path.isfile(p)), None)
    if library is None or shutil.which("softhsm2-util") is None:
        sys.exit("SoftHSM2 is not installed (apt-get install softhsm2)")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            *("softhsm2-util", "--init-token", "--free", "--label", LABEL),
            *("--pin", PIN, "--so-pin", "12345678"),
        ],
        check=True,
        capture_output=True,
    )
    return library


def _import_key(library: str, key: rsa.RSAPrivateKey) -> None:
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from pkcs11.util.rsa import decode_rsa_private_key

    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    token = pkcs11.lib(library).get_token(token_label=LABEL)
    with token.open(rw=True, user_pin=PIN) as session:
        attributes = decode_rsa_private_key(der)
        attributes.update({pkcs11.Attribute.LABEL: LABEL, pkcs11.Attribute.TOKEN: True})
        session.create_object(attributes)


def _rate(sign: Callable[[], str], seconds: float, threads: int) -> float:
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < stop:
            sign()
            done[index] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=0.5, help="per round")
    args = parser.parse_args()

    from nuvera_client.hsm import Pkcs11SigningKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=BITS)
    with tempfile.TemporaryDirectory() as directory:
        library = _token(Path(directory))
        _import_key(library, key)
        with Pkcs11SigningKey(
            library, token_label=LABEL, key_label=LABEL, pin=PIN
        ) as hsm_key:
            hsm = RequestSigner(hsm_key)
            local = RequestSigner(key)
            assert hsm.kid == local.kid

            def sign_hsm() -> str:
                return hsm.sign("POST", "/v1/payments", b'{"amount":"10.00"}')

            def sign_local() -> str:
                return local.sign("POST", "/v1/payments", b'{"amount":"10.00"}')

            print(f"RSA-{BITS}, {ROUNDS} rounds of {args.seconds}s, library {library}")
            for threads in (1, args.threads):
                hsm_rates, local_rates, ratios = [], [], []
                for _ in range(ROUNDS):
                    h = _rate(sign_hsm, args.seconds, threads)
                    loc = _rate(sign_local, args.seconds, threads)
                    hsm_rates.append(h)
                    local_rates.append(loc)
                    ratios.append(h / loc)
                print(
                    f"{threads} thread(s): hsm {statistics.median(hsm_rates):8.0f} "
                    f"tokens/s   local {statistics.median(local_rates):8.0f} tokens/s"
                    f"   hsm/local {statistics.median(ratios):.2f}"
                )


if __name__ == "__main__":
    main()
