"""AwsKmsSigningKey against moto's KMS emulation (no network)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from jwt_verifier import verify

from nuvera_client import ApiKey, NuveraAuth, RequestSigner
from nuvera_client.errors import ConfigurationError, InvalidPrivateKeyError
from nuvera_client.kms import AwsKmsSigningKey

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")


_DIGEST = threading.local()


def _honour_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teach moto KMS ``MessageType=DIGEST`` (moto 5 signs the digest as RAW).

    Real KMS signs a DIGEST message as the given SHA-256; moto ignores the
    parameter and hashes it again. This shim makes moto behave like KMS so the
    end-to-end test checks our request, not moto's gap.
    """
    from moto.kms import responses
    from moto.kms import utils as kms_utils

    real_response_sign = responses.KmsResponse.sign

    def response_sign(self: Any) -> str:
        _DIGEST.on = self._get_param("MessageType") == "DIGEST"
        try:
            return real_response_sign(self)
        finally:
            _DIGEST.on = False

    real_key_sign = kms_utils.RSAPrivateKey.sign

    def key_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if getattr(_DIGEST, "on", False):
            assert signing_algorithm == "RSASSA_PKCS1_V1_5_SHA_256"
            assert len(message) == 32
            return self.private_key.sign(  # type: ignore[no-any-return]
                message, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
            )
        return real_key_sign(self, message, signing_algorithm)

    monkeypatch.setattr(responses.KmsResponse, "sign", response_sign)
    monkeypatch.setattr(kms_utils.RSAPrivateKey, "sign", key_sign)


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    # Fake credentials and no config files: moto must never reach AWS.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _honour_digest(monkeypatch)
    with moto.mock_aws():
        yield boto3.client("kms", region_name="eu-west-1")


def _create(kms: Any, spec: str = "RSA_2048", usage: str = "SIGN_VERIFY") -> str:
    return str(kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"])


class _Counting:
    """Wraps a KMS client, counting calls per operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: dict[str, int] = {}
        self.last: dict[str, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            self.last[name] = kwargs
            return method(**kwargs)

        return call


def test_request_signed_in_kms_verifies(kms: Any) -> None:
    key_id = _create(kms)
    client = _Counting(kms)
    remote = AwsKmsSigningKey(key_id, client=client)
    signer = RequestSigner(remote)
    public = remote.public_key()
    assert public.key_size == 2048
    body = b'{"amount":"1250.00","currency":"USDC"}'
    for index in range(3):
        token = signer.sign("POST", f"/v1/payments?i={index}", body)
        verify(
            token,
            public,
            method="POST",
            uri=f"/v1/payments?i={index}",
            body=body,
        )
    assert client.calls == {"get_public_key": 1, "sign": 3}
    assert client.last["sign"]["MessageType"] == "DIGEST"
    assert client.last["sign"]["SigningAlgorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"
    assert len(client.last["sign"]["Message"]) == 32


def test_kms_key_through_nuvera_auth_and_alias(kms: Any) -> None:
    key_id = _create(kms)
    kms.create_alias(AliasName="alias/nuvera-test", TargetKeyId=key_id)
    remote = AwsKmsSigningKey("alias/nuvera-test", client=kms)
    auth = NuveraAuth(ApiKey.generate("test").reveal(), remote)
    request = httpx.Request(
        "POST",
        "https://api.sandbox.nuvera.com/v1/documents",
        files={"file": ("a.txt", b"hello")},
    )
    signed = next(auth.sync_auth_flow(request))
    verify(
        signed.headers["authorization"].removeprefix("Bearer "),
        remote.public_key(),
        method="POST",
        uri="/v1/documents",
        body=signed.read(),
    )
    assert auth.kid == RequestSigner(remote).kid
    assert repr(remote) == "AwsKmsSigningKey(key_id='alias/nuvera-test')"


def test_default_client_from_environment(kms: Any) -> None:
    key_id = _create(kms, "RSA_3072")
    signer = RequestSigner(AwsKmsSigningKey(key_id))
    assert signer.key_size == 3072
    token = signer.sign("GET", "/v1/customers")
    verify(
        token,
        AwsKmsSigningKey(key_id).public_key(),
        method="GET",
        uri="/v1/customers",
    )


@pytest.mark.parametrize(
    ("spec", "usage", "message"),
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "RSASSA_PKCS1_V1_5_SHA_256"),
    ],
)
def test_unusable_kms_keys_are_refused(
    kms: Any, spec: str, usage: str, message: str
) -> None:
    key_id = _create(kms, spec, usage)
    with pytest.raises(InvalidPrivateKeyError, match=message):
        RequestSigner(AwsKmsSigningKey(key_id, client=kms))


def test_missing_boto3_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'nuvera-client\[aws\]'"):
        AwsKmsSigningKey("alias/x")


def test_key_id_required() -> None:
    with pytest.raises(ConfigurationError, match="key_id"):
        AwsKmsSigningKey("", client=object())
