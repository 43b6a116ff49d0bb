"""Owns ``nuvera keys generate`` and ``nuvera keys inspect``."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import _profile, keys
from nuvera_client._config import ENV_PRIVATE_KEY_FILE
from nuvera_client.errors import ConfigurationError, InvalidPrivateKeyError

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_format_option,
    command,
    fail,
    print_json,
)

PRIVATE_NAME = "nuvera_private.pem"
PUBLIC_NAME = "nuvera_public.pem"


def register(subparsers: Any) -> None:
    """Add ``keys generate`` and ``keys inspect``."""
    parser = subparsers.add_parser(
        "keys",
        help="generate and inspect RS256 signing keys",
        description="Generate and inspect the RSA key pair that signs requests.",
    )
    sub = parser.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    gen = sub.add_parser(
        "generate",
        help="write a new key pair (private 0600) and print the public key",
        description=f"Write {PRIVATE_NAME} (mode 0600) and {PUBLIC_NAME}, print the "
        "kid and the public key to upload, and what to do next.",
    )
    gen.add_argument("--bits", type=int, choices=keys.ALLOWED_KEY_SIZES, default=3072)
    gen.add_argument("--out", metavar="DIR", default=".", help="directory (default .)")
    gen.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="encrypt the private key with the passphrase in variable VAR",
    )
    gen.add_argument("--force", action="store_true", help="overwrite existing files")
    gen.add_argument(
        "--profile",
        metavar="NAME",
        help="also remember the key files in this profile of the config file",
    )
    add_format_option(gen, json_flag=True)
    gen.set_defaults(func=generate)

    inspect = sub.add_parser(
        "inspect",
        help="show a key's type, size, kid, encryption; check a pair",
        description="Show a key file's type, size and kid, whether it is private or "
        "public and encrypted, and with --public whether two files form a pair.",
    )
    inspect.add_argument("file", metavar="FILE", nargs="?")
    inspect.add_argument("--public", metavar="FILE2", help="public key to pair-check")
    inspect.add_argument(
        "--passphrase-env", metavar="VAR", help="passphrase variable, if encrypted"
    )
    hsm = inspect.add_argument_group(
        "a key in an HSM, instead of FILE (each flag defaults to its "
        "NUVERA_PKCS11_* variable)"
    )
    hsm.add_argument("--pkcs11", metavar="LIBRARY", help="the PKCS#11 module (.so)")
    hsm.add_argument("--token-label", metavar="LABEL", help="the token's label")
    hsm.add_argument("--slot", metavar="ID", help="the slot id, instead of a label")
    hsm.add_argument("--key-label", metavar="LABEL", help="the private key's label")
    hsm.add_argument("--key-id", metavar="HEX", help="the private key's CKA_ID")
    hsm.add_argument(
        "--pin-env",
        metavar="VAR",
        help="read the user PIN from variable VAR (default NUVERA_PKCS11_PIN)",
    )
    add_format_option(inspect, json_flag=True)
    inspect.set_defaults(func=inspect_key)


@command
def generate(args: argparse.Namespace) -> int:
    """Run ``nuvera keys generate``."""
    out = Path(args.out).expanduser()
    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    passphrase = None
    if args.passphrase_env:
        passphrase = os.environ.get(args.passphrase_env)
        if not passphrase:
            raise UsageError(
                f"--passphrase-env: variable {args.passphrase_env} is empty"
            )
    if not args.force:
        for path in (private_path, public_path):
            if path.exists():
                raise UsageError(f"{path} exists; refusing to overwrite (use --force)")
    out.mkdir(parents=True, exist_ok=True)
    key = keys.generate_private_key(args.bits)
    private_pem = keys.private_key_pem(key, passphrase).encode("ascii")
    public_pem = keys.public_key_pem(key)
    kid = keys.kid_of(key)
    _write_private(private_path, private_pem, force=args.force)
    public_path.write_text(public_pem, encoding="ascii")
    if args.profile:
        settings = {
            "private_key_file": str(private_path.resolve()),
            "public_key_file": str(public_path.resolve()),
            "kid": kid,
            "passphrase_env": args.passphrase_env or "",
        }
        _profile.save_profile(args.profile, settings)
    if args.format == "json":
        print_json(
            {
                "kid": kid,
                "bits": args.bits,
                "encrypted": passphrase is not None,
                "private_key_file": str(private_path),
                "public_key_file": str(public_path),
                "public_key_pem": public_pem,
            }
        )
        return EXIT_OK
    encrypted = " (encrypted)" if passphrase else ""
    print(
        f"Wrote {private_path}{encrypted} (mode 0600: keep it secret, never upload it)"
    )
    print(f"Wrote {public_path}")
    print(f"kid: {kid}")
    print()
    print("Public key to upload:")
    print(public_pem.rstrip())
    print()
    print("Next steps:")
    print(
        f"  1. Upload {public_path} to your API application "
        "(Settings > Platform > API Applications > Signing keys);"
    )
    print(
        "     local sandbox: nuvera sandbox app create --state FILE --name NAME "
        f"--permissions P1,P2 --public-key {shlex.quote(str(public_path))}"
    )
    print(
        f"  2. export {ENV_PRIVATE_KEY_FILE}={shlex.quote(str(private_path.resolve()))}"
    )
    print(
        "  3. export NUVERA_API_KEY=... (the key shown once when the app was created)"
    )
    print(
        "     local sandbox: nuvera sandbox serve --state FILE, then "
        "export NUVERA_BASE_URL=http://127.0.0.1:8787"
    )
    print("     (a test key otherwise goes to the hosted sandbox)")
    print("  4. nuvera doctor")
    return EXIT_OK


def _write_private(path: Path, data: bytes, *, force: bool) -> None:
    if force:
        path.unlink(missing_ok=True)
    # O_EXCL: never write key material into a file someone else created or can read.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@command
def inspect_key(args: argparse.Namespace) -> int:
    """Run ``nuvera keys inspect``."""
    if args.pkcs11 is not None:
        if args.file is not None:
            raise UsageError("give FILE or --pkcs11, not both")
        args.file, info = describe_pkcs11(args)
    elif args.file is None:
        raise UsageError("give a key FILE, or --pkcs11 LIBRARY for a key in an HSM")
    else:
        data = Path(args.file).expanduser().read_bytes()
        variable = args.passphrase_env
        info = describe(data, os.environ.get(variable) if variable else None)
    ok = info["problem"] is None
    if args.public:
        public = keys.load_public_key(Path(args.public).expanduser())
        matches = info.get("kid") is not None and info["kid"] == keys.kid_of(public)
        info["pair"] = {"public_file": args.public, "kid": keys.kid_of(public)}
        info["pair"]["matches"] = matches
        ok = ok and matches
    if args.format == "json":
        print_json({"file": args.file, **info})
    else:
        _print_info(args.file, info)
    if info["problem"]:
        fail(f"{args.file}: {info['problem']}")
    if "pair" in info and not info["pair"]["matches"]:
        fail(f"{args.file} and {args.public} are not a key pair (their kids differ)")
    return EXIT_OK if ok else EXIT_FAILED


def describe_pkcs11(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Return a name and what the key in the token is (as ``describe()``)."""
    from nuvera_client import hsm

    env = {k: v for k, v in os.environ.items() if k.startswith("NUVERA_PKCS11_")}
    for variable, value in (
        (hsm.ENV_LIBRARY, args.pkcs11),
        (hsm.ENV_TOKEN_LABEL, args.token_label),
        (hsm.ENV_SLOT, args.slot),
        (hsm.ENV_KEY_LABEL, args.key_label),
        (hsm.ENV_KEY_ID, args.key_id),
    ):
        if value is not None:
            env[variable] = value
    if args.pin_env:
        env[hsm.ENV_PIN] = os.environ.get(args.pin_env, "")
    token = env.get(hsm.ENV_TOKEN_LABEL) or f"slot {env.get(hsm.ENV_SLOT)}"
    key_name = env.get(hsm.ENV_KEY_LABEL) or env.get(hsm.ENV_KEY_ID)
    info: dict[str, Any] = {
        "kind": "private",
        "encrypted": False,
        "type": None,
        "bits": None,
        "kid": None,
        "problem": None,
        "pkcs11": {"library": env.get(hsm.ENV_LIBRARY), "token": token},
    }
    try:
        with hsm.Pkcs11SigningKey.from_env(env) as key:
            public = key.public_key()
    except ConfigurationError as exc:
        info["problem"] = str(exc)
    else:
        info.update(type="RSA", bits=public.key_size, kid=keys.kid_of(public))
    return f"pkcs11:{token}/{key_name}", info


def describe(data: bytes, passphrase: str | None) -> dict[str, Any]:
    """Return what a key file is: kind, type, bits, kid, encrypted, problem."""
    is_pem = b"-----BEGIN" in data
    public_pem = is_pem and b"PUBLIC KEY-----" in data and b"PRIVATE KEY" not in data
    encrypted = is_pem and b"ENCRYPTED" in data
    info: dict[str, Any] = {
        "kind": "public" if public_pem else "private",
        "encrypted": encrypted,
        "type": None,
        "bits": None,
        "kid": None,
        "problem": None,
    }
    try:
        key = _load_any(data, passphrase, public=public_pem)
    except InvalidPrivateKeyError as exc:
        info["problem"] = str(exc)
        return info
    except ValueError:
        info["problem"] = "not a key file this tool understands (PEM, DER or JWK)"
        return info
    if isinstance(key, rsa.RSAPrivateKey):
        public = key.public_key()
    elif isinstance(key, rsa.RSAPublicKey):
        info["kind"] = "public"
        public = key
    else:
        info["type"] = type(key).__name__.lstrip("_")
        info["problem"] = "not an RSA key: Nuvera signs with RS256 (RSA) only"
        return info
    info.update(type="RSA", bits=public.key_size, kid=keys.kid_of(public))
    try:
        keys.check_public_key(public)
    except ConfigurationError as exc:
        info["problem"] = str(exc)
    return info


def _load_any(data: bytes, passphrase: str | None, *, public: bool) -> object:
    if data.lstrip().startswith(b"{"):
        # A JWK: load_private_key explains what is wrong with it, if anything.
        return keys.load_private_key(data.decode("utf-8", "replace"))
    if public:
        try:
            return serialization.load_pem_public_key(data)
        except UnsupportedAlgorithm:
            raise ValueError("unsupported") from None
    if b"-----BEGIN" in data and b"ENCRYPTED" in data and not passphrase:
        raise InvalidPrivateKeyError(
            "the private key is encrypted: pass --passphrase-env VAR to see its kid"
        )
    secret = passphrase.encode("utf-8") if passphrase else None
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=secret)
        try:
            return serialization.load_der_private_key(data, password=secret)
        except ValueError:
            return serialization.load_der_public_key(data)
    except TypeError:
        raise InvalidPrivateKeyError(
            "a passphrase was given but the key is not encrypted"
        ) from None
    except UnsupportedAlgorithm:
        raise ValueError("unsupported") from None
    except ValueError:
        if secret is not None:
            raise InvalidPrivateKeyError(
                "the passphrase does not decrypt the key"
            ) from None
        raise


def _print_info(name: str, info: dict[str, Any]) -> None:
    print(f"file:       {name}")
    print(f"kind:       {info['kind']} key")
    if "pkcs11" in info:
        print(f"in token:   {info['pkcs11']['token']} ({info['pkcs11']['library']})")
    print(f"encrypted:  {'yes' if info['encrypted'] else 'no'}")
    if info["type"]:
        print(f"type:       {info['type']}")
    if info["bits"]:
        print(f"size:       {info['bits']} bits")
    if info["kid"]:
        print(f"kid:        {info['kid']}")
    usable = "no" if info["problem"] else "yes"
    print(f"usable:     {usable} (RS256: RSA 2048/3072/4096, e=65537)")
    if "pair" in info:
        pair = info["pair"]
        verdict = "yes" if pair["matches"] else f"NO (its kid is {pair['kid']})"
        print(f"pair with {pair['public_file']}: {verdict}")
