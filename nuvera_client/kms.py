"""Sign with an RSA key that never leaves AWS KMS (the ``aws`` extra).

    from nuvera_client import NuveraAuth
    from nuvera_client.kms import AwsKmsSigningKey

    key = AwsKmsSigningKey("alias/nuvera-signing")
    auth = NuveraAuth(api_key, key)

The KMS key must be an asymmetric ``SIGN_VERIFY`` key of spec ``RSA_2048``,
``RSA_3072`` or ``RSA_4096``. The caller needs ``kms:GetPublicKey`` (once) and
``kms:Sign`` (per request). Requests are signed with
``RSASSA_PKCS1_V1_5_SHA_256`` over a SHA-256 digest computed here
(``MessageType=DIGEST``), so token length never meets KMS's 4 KiB message limit.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client.errors import ConfigurationError, InvalidPrivateKeyError

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

__all__ = ["SIGNING_ALGORITHM", "AwsKmsSigningKey"]

SIGNING_ALGORITHM: Final = "RSASSA_PKCS1_V1_5_SHA_256"


def _default_client() -> KMSClient:
    try:
        import boto3  # optional dependency (the aws extra), imported on use
    except ImportError:
        raise ConfigurationError(
            "AwsKmsSigningKey needs boto3: pip install 'nuvera-client[aws]' "
            "(or pass client= a KMS client)"
        ) from None
    return boto3.client("kms")


class AwsKmsSigningKey:
    """A [`SigningKey`][nuvera_client.SigningKey] backed by an AWS KMS asymmetric key.

    Args:
        key_id: the key id, key ARN, alias name (``alias/...``) or alias ARN.
        client: a boto3 KMS client; by default ``boto3.client("kms")`` with the
            usual AWS configuration (region, credentials) from the environment.

    Raises:
        ConfigurationError: boto3 is not installed and no client was given.
    """

    def __init__(self, key_id: str, client: KMSClient | Any | None = None) -> None:
        if not isinstance(key_id, str) or not key_id:
            raise ConfigurationError("key_id must be a KMS key id, ARN or alias")
        self.key_id = key_id
        self._client: KMSClient = client if client is not None else _default_client()
        self._public: rsa.RSAPublicKey | None = None
        self._lock = threading.Lock()

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the RSA public key (fetched from KMS once, then cached).

        Raises:
            InvalidPrivateKeyError: the KMS key is not an RSA signing key that
                supports ``RSASSA_PKCS1_V1_5_SHA_256``.
        """
        with self._lock:
            if self._public is None:
                self._public = self._fetch_public_key()
            return self._public

    def _fetch_public_key(self) -> rsa.RSAPublicKey:
        answer = self._client.get_public_key(KeyId=self.key_id)
        if answer.get("KeyUsage") not in (None, "SIGN_VERIFY"):
            raise InvalidPrivateKeyError(
                f"KMS key {self.key_id} has KeyUsage {answer.get('KeyUsage')}; "
                "create an asymmetric SIGN_VERIFY key (RSA_2048/3072/4096)"
            )
        algorithms = answer.get("SigningAlgorithms")
        if algorithms is not None and SIGNING_ALGORITHM not in algorithms:
            raise InvalidPrivateKeyError(
                f"KMS key {self.key_id} cannot sign with {SIGNING_ALGORITHM}; "
                "create an RSA_2048, RSA_3072 or RSA_4096 SIGN_VERIFY key"
            )
        try:
            public = serialization.load_der_public_key(answer["PublicKey"])
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidPrivateKeyError(
                f"KMS returned an unreadable public key for {self.key_id}"
            ) from None
        if not isinstance(public, rsa.RSAPublicKey):
            raise InvalidPrivateKeyError(
                f"KMS key {self.key_id} is not RSA ({answer.get('KeySpec')}); "
                "RS256 needs RSA_2048, RSA_3072 or RSA_4096"
            )
        return public

    def sign(self, data: bytes) -> bytes:
        """Return the RSASSA-PKCS1-v1_5 SHA-256 signature of ``data``, made by KMS."""
        answer = self._client.sign(
            KeyId=self.key_id,
            Message=hashlib.sha256(data).digest(),
            MessageType="DIGEST",
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
        return answer["Signature"]

    def __repr__(self) -> str:
        return f"AwsKmsSigningKey(key_id={self.key_id!r})"
