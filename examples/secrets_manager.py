"""Keep credentials in AWS Secrets Manager and let rotations reach a running client.

The partner rotates the signing key and then the API key, writing each new value to
the secret; the client notices the server's refusal of the old credential, re-reads
the secret once (``refresh()``), and carries on: no restart, no failed call.

MOCK AWS: to run with no set-up, this example uses moto's in-process mock of
Secrets Manager (``mock_aws``) with fake AWS credentials, and the local sandbox;
nothing leaves the process. In production, drop ``mock_aws()`` and the fake
variables: ``AwsSecretsManagerCredentials`` uses your usual AWS configuration.

Run: ``python examples/secrets_manager.py`` (needs the ``dev`` extras: moto, boto3).
"""

from __future__ import annotations

import json
import os

import boto3
import httpx
from moto import mock_aws

from nuvera_client import NuveraClient
from nuvera_client.credentials import (
    AwsSecretsManagerCredentials,
    CallableCredentials,
    Credentials,
)
from nuvera_client.keys import generate_private_key, private_key_pem, public_key_pem
from nuvera_client.sandbox import Sandbox

SECRET_ID = "payouts/nuvera"  # noqa: S105 - a name, not a secret
FAKE_AWS = {  # MOCK AWS ONLY: moto accepts any credentials; never real ones here
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


def main() -> None:
    """Rotate both credentials behind a running client, through the secret."""
    os.environ.update(FAKE_AWS)
    with mock_aws(), Sandbox() as sandbox:
        aws = boto3.client("secretsmanager")
        key = generate_private_key(2048)
        app = sandbox.create_application(
            name="payouts",
            permissions=["CRYPTO_READ"],
            public_key_pem=public_key_pem(key),
        )
        secret = {"api_key": app.api_key, "private_key": private_key_pem(key)}
        aws.create_secret(Name=SECRET_ID, SecretString=json.dumps(secret))

        # The provider reads the secret once, then again on refresh() (a rotation
        # signal from the server) or every refresh_interval seconds.
        provider = AwsSecretsManagerCredentials(SECRET_ID, refresh_interval=3600)
        client = NuveraClient(
            credentials=provider,
            base_url="http://127.0.0.1",  # the in-process sandbox below
            http_client=httpx.Client(transport=sandbox.transport()),
        )

        def call(step: str) -> None:
            client.crypto.assets.retrieve("BTC")
            print(
                f"{step:<44} kid {client.auth.kid[:10]}…  secret reads: "
                f"{provider.generation}"
            )

        call("start")

        # 1. Signing key: upload the new public key, publish the private key,
        #    then remove the old one. The client refreshes on unknown_signing_key.
        new_key = generate_private_key(2048)
        sandbox.add_signing_key(app.id, public_key_pem(new_key))
        secret["private_key"] = private_key_pem(new_key)
        aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(secret))
        sandbox.remove_signing_key(app.id, app.kid)
        call("old signing key removed")

        # 2. API key: rotate (old key in its grace period), publish, revoke the old.
        rotated = sandbox.rotate_api_key(app.id, grace_period=3600)
        if rotated.api_key is None:  # only when a Nuvera admin started the rotation
            raise SystemExit("reveal it first: nuvera sandbox keys reveal-api-key")
        secret["api_key"] = rotated.api_key
        aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(secret))
        sandbox.revoke_api_key(app.id, app.api_key[:13])
        call("old API key revoked")
        client.close()

        # Any other store (Vault, GCP Secret Manager...) is a function away; this
        # dict stands in for it. CallableCredentials adds the same caching.
        vault = {"nuvera": dict(secret)}

        def from_vault() -> Credentials:
            data = vault["nuvera"]  # e.g. hvac: kv.v2.read_secret_version(...)
            return Credentials(data["api_key"], data["private_key"])

        other = NuveraClient(
            credentials=CallableCredentials(from_vault),
            base_url="http://127.0.0.1",
            http_client=httpx.Client(transport=sandbox.transport()),
        )
        other.crypto.assets.retrieve("BTC")
        print("a provider for another store works the same way")
        other.close()


if __name__ == "__main__":
    main()
