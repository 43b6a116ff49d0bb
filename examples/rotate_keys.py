"""Rotate the signing key and the API key with zero failed requests.

Each credential can have two active versions at once. The order is always: add the
new one, switch the running client to it, and only then remove the old one.

Run: ``python examples/rotate_keys.py``
"""

from __future__ import annotations

import httpx

from nuvera_client import NuveraClient
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.sandbox import Sandbox


def main() -> None:
    """Rotate both credentials of a live client, checking traffic after each step."""
    old_key, new_key = generate_private_key(2048), generate_private_key(2048)
    with Sandbox() as sandbox:
        app = sandbox.create_application(
            name="payouts-worker",
            permissions=["CRYPTO_READ"],
            public_key_pem=public_key_pem(old_key),
        )
        client = NuveraClient(
            app.api_key,
            private_key_pem(old_key),
            base_url="http://127.0.0.1",
            http_client=httpx.Client(transport=sandbox.transport()),
        )
        failures = 0

        def check(step: str) -> None:
            nonlocal failures
            try:
                client.crypto.assets.retrieve("BTC")
                outcome = "ok"
            except Exception as exc:
                failures += 1
                outcome = f"FAILED: {exc}"
            print(f"{step:<46} kid {client.auth.kid[:10]}…  {outcome}")

        check("start")

        # Signing key: upload the new public key, switch, then remove the old one.
        new_kid = sandbox.add_signing_key(app.id, public_key_pem(new_key))
        check("new signing key added (both active)")
        client.rotate_credentials(private_key=private_key_pem(new_key))
        check("client signs with the new key")
        sandbox.remove_signing_key(app.id, app.kid)
        check("old signing key removed")
        if client.auth.kid != new_kid:
            raise SystemExit("the client does not sign with the new key")

        # API key: rotate (the old key keeps a grace period), switch, then revoke.
        old_prefix = app.api_key[:13]
        rotated = sandbox.rotate_api_key(app.id, grace_period=3600)
        check("API key rotated (old one in its grace period)")
        client.rotate_credentials(api_key=rotated.api_key)
        check("client sends the new API key")
        sandbox.revoke_api_key(app.id, old_prefix)
        check("old API key revoked")

        view = sandbox.get_application(app.id)
        print(f"application now has {len(view.api_keys)} API key record(s)")
        print(f"failed requests during rotation: {failures}")
        client.close()
        if failures:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
