"""``NuveraAuth`` pinned in full (issue 17: mutation testing of ``_auth.py``).

Refusal messages, an encrypted key's passphrase passed through ``NuveraAuth`` and
``rotate()``, rotating only the API key or only the signer, the bounds of a clock
offset, and in-memory keys signing in the SDK's own signing threads.
"""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from keycache import rsa_private_key

from nuvera_client import ApiKey, NuveraAuth, RequestSigner
from nuvera_client._auth import checked_offset
from nuvera_client.errors import (
    ConfigurationError,
    EnvironmentMismatchError,
    InvalidClockOffsetError,
)

DAY = 24 * 3600


def _encrypted(key: rsa.RSAPrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


@pytest.fixture
def api_key() -> str:
    return ApiKey.generate("test").reveal()


def test_key_and_signer_messages(api_key: str, rsa_key: rsa.RSAPrivateKey) -> None:
    signer = RequestSigner(rsa_key)
    with pytest.raises(ConfigurationError) as both:
        NuveraAuth(api_key, rsa_key, signer=signer)
    assert str(both.value) == "pass either private_key= or signer=, not both"
    with pytest.raises(ConfigurationError) as neither:
        NuveraAuth(api_key)
    assert str(neither.value) == (
        "a private key is needed to sign requests: pass private_key= "
        "(PEM, DER, JWK, Path, RSAPrivateKey or SigningKey) or signer="
    )


def test_passphrase_reaches_the_key_loader(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    auth = NuveraAuth(api_key, _encrypted(rsa_key, b"pw-1"), passphrase="pw-1")
    assert auth.kid == RequestSigner(rsa_key).kid
    other = rsa_private_key(2048, "auth-rotation")
    auth.rotate(private_key=_encrypted(other, b"pw-2"), passphrase=b"pw-2")
    assert auth.kid == RequestSigner(other).kid


def test_rotate_only_the_api_key_keeps_the_signer(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    auth = NuveraAuth(api_key, rsa_key)
    signer = auth.signer
    new_key = ApiKey.generate("test")
    auth.rotate(api_key=new_key.reveal())
    assert auth.api_key == new_key
    assert auth.signer is signer


def test_rotate_only_the_signer_keeps_the_api_key(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    auth = NuveraAuth(api_key, rsa_key)
    auth.clock_offset = 12.0
    new_signer = RequestSigner(rsa_private_key(2048, "auth-rotation"))
    auth.rotate(signer=new_signer)
    assert auth.signer is new_signer
    assert auth.api_key == ApiKey.parse(api_key)
    assert new_signer.clock_offset == 12.0
    auth.rotate(private_key=rsa_key)
    assert auth.kid == RequestSigner(rsa_key).kid
    assert auth.api_key == ApiKey.parse(api_key)


def test_rotate_to_another_environment_message(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    auth = NuveraAuth(api_key, rsa_key)
    with pytest.raises(EnvironmentMismatchError) as caught:
        auth.rotate(api_key=ApiKey.generate("live").reveal())
    assert str(caught.value) == (
        "cannot rotate a test API key to a live key: create a new client for the "
        "other environment"
    )


@pytest.mark.parametrize("value", [0, -DAY, DAY, 1.5, -0.25, DAY - 0.5])
def test_clock_offsets_within_a_day(value: float) -> None:
    assert checked_offset(value) == value


@pytest.mark.parametrize(
    "value",
    [DAY + 1, -DAY - 1, DAY + 0.5, 1e10, float("inf"), float("nan"), 10**400, True],
)
def test_clock_offsets_refused(value: object) -> None:
    with pytest.raises(InvalidClockOffsetError):
        checked_offset(value)


@pytest.mark.parametrize("value", ["5", None, [1]])
def test_clock_offset_of_another_type_is_refused_with_its_value(value: object) -> None:
    with pytest.raises(InvalidClockOffsetError) as caught:
        checked_offset(value)
    assert str(caught.value) == (
        "a clock offset must be a finite number of seconds within ±86400, got "
        f"{value!r}; fix the machine clock instead"
    )


@pytest.mark.anyio
async def test_in_memory_keys_sign_in_the_signing_threads(
    api_key: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    threads: list[str] = []

    def clock() -> float:
        threads.append(threading.current_thread().name)
        return 1_767_225_600.0

    auth = NuveraAuth(api_key, signer=RequestSigner(rsa_key, clock=clock))
    pending, sent_key = auth.start_signing("GET", "/v1/x", "0" * 64)
    token = await pending
    assert sent_key == api_key
    assert token.count(".") == 2
    assert len(threads) == 1
    assert threads[0].startswith("nuvera-signing-")
