"""Pkcs11SigningKey against a real SoftHSM2 token: opening, errors, signing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from jwt_verifier import verify
from softhsm_setup import AVAILABLE, SKIP_REASON, SoftHsm

from nuvera_client import ApiKey, NuveraAuth, RequestSigner, keys
from nuvera_client.errors import (
    ConfigurationError,
    InvalidPrivateKeyError,
    Pkcs11Error,
    Pkcs11KeyNotFoundError,
    Pkcs11KeyUnsuitableError,
    Pkcs11LibraryNotFoundError,
    Pkcs11MechanismError,
    Pkcs11PinError,
    Pkcs11TokenNotFoundError,
)
from nuvera_client.hsm import ENV_PIN, Pkcs11SigningKey

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)
API_KEY = "nvk_test_Q7sUMv3k9ZbXc2LpR8wNf4HjT6yGd1Ae2XuHxe"


@pytest.fixture
def hsm_key(softhsm: SoftHsm) -> Iterator[Pkcs11SigningKey]:
    with Pkcs11SigningKey(
        softhsm.library, token_label=softhsm.token, key_label="signing", pin=softhsm.pin
    ) as key:
        yield key


def test_signs_inside_the_token_and_verifies_with_the_public_key(
    hsm_key: Pkcs11SigningKey,
) -> None:
    public = hsm_key.public_key()
    assert public.key_size == 2048
    signature = hsm_key.sign(b"header.payload")
    public.verify(signature, b"header.payload", padding.PKCS1v15(), hashes.SHA256())


def test_request_signer_derives_the_kid_and_makes_valid_tokens(
    hsm_key: Pkcs11SigningKey,
) -> None:
    signer = RequestSigner(hsm_key)
    assert signer.kid == keys.kid_of(hsm_key.public_key())
    assert signer.local is False  # async clients sign in a worker thread
    token = signer.sign("POST", "/v1/customers?limit=1", b'{"a":1}')
    verify(
        token,
        hsm_key.public_key(),
        method="POST",
        uri="/v1/customers?limit=1",
        body=b'{"a":1}',
    )


def test_auth_flow_signs_a_request(hsm_key: Pkcs11SigningKey) -> None:
    auth = NuveraAuth(ApiKey.parse(API_KEY), hsm_key)
    request = httpx.Request("GET", "http://127.0.0.1:8787/v1/payments?limit=2")
    signed = next(auth.sync_auth_flow(request))
    token = signed.headers["authorization"].removeprefix("Bearer ")
    verify(token, hsm_key.public_key(), method="GET", uri="/v1/payments?limit=2")


def test_by_slot_and_key_id_finds_the_same_key(
    softhsm: SoftHsm, hsm_key: Pkcs11SigningKey
) -> None:
    import pkcs11

    token = pkcs11.lib(softhsm.library).get_token(token_label=softhsm.token)
    with Pkcs11SigningKey(
        softhsm.library, slot=token.slot.slot_id, key_id="01", pin=softhsm.pin
    ) as by_id:
        assert keys.kid_of(by_id.public_key()) == keys.kid_of(hsm_key.public_key())


def test_pin_from_environment_and_from_a_provider(
    softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PIN, softhsm.pin)
    with Pkcs11SigningKey(
        softhsm.library, token_label=softhsm.token, key_label="signing-3072"
    ) as key:
        assert key.public_key().key_size == 3072
    monkeypatch.delenv(ENV_PIN)
    asked: list[int] = []

    def provider() -> str:
        asked.append(1)
        return str(softhsm.pin)

    with Pkcs11SigningKey(
        softhsm.library,
        token_label=softhsm.pin_token,
        key_label="signing",
        pin=provider,
    ) as key:
        key.sign(b"x")
    assert asked == [1]


def test_from_env_reads_the_cli_variables(softhsm: SoftHsm) -> None:
    env = {
        "NUVERA_PKCS11_LIBRARY": softhsm.library,
        "NUVERA_PKCS11_TOKEN_LABEL": softhsm.token,
        "NUVERA_PKCS11_KEY_ID": "02",
        "NUVERA_PKCS11_PIN": softhsm.pin,
    }
    with Pkcs11SigningKey.from_env(env) as key:
        assert key.public_key().key_size == 3072
    with pytest.raises(Pkcs11TokenNotFoundError, match="slot number"):
        Pkcs11SigningKey.from_env({**env, "NUVERA_PKCS11_SLOT": "x"})


def test_library_not_found(tmp_path: object) -> None:
    with pytest.raises(Pkcs11LibraryNotFoundError, match="no PKCS#11 module at"):
        Pkcs11SigningKey(
            "/nonexistent/libnothing.so", token_label="t", key_label="k", pin="1"
        )


def test_library_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUVERA_PKCS11_LIBRARY", raising=False)
    with pytest.raises(Pkcs11LibraryNotFoundError, match="NUVERA_PKCS11_LIBRARY"):
        Pkcs11SigningKey(token_label="t", key_label="k", pin="1")


def test_token_not_found_names_the_present_tokens(softhsm: SoftHsm) -> None:
    with pytest.raises(Pkcs11TokenNotFoundError) as caught:
        Pkcs11SigningKey(
            softhsm.library, token_label="absent", key_label="signing", pin="1"
        )
    assert "'absent'" in str(caught.value)
    assert softhsm.token in str(caught.value)
    with pytest.raises(Pkcs11TokenNotFoundError, match="slot 987654"):
        Pkcs11SigningKey(softhsm.library, slot=987654, key_label="signing", pin="1")


def test_wrong_pin_is_typed_and_never_echoed(softhsm: SoftHsm) -> None:
    with pytest.raises(Pkcs11PinError) as caught:
        Pkcs11SigningKey(
            softhsm.library,
            token_label=softhsm.pin_token,
            key_label="signing",
            pin="97531-wrong",
        )
    assert "97531" not in str(caught.value)
    assert "97531" not in repr(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_missing_pin(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_PIN, raising=False)
    with pytest.raises(Pkcs11PinError, match=ENV_PIN):
        Pkcs11SigningKey(softhsm.library, token_label=softhsm.token, key_label="x")


@pytest.mark.parametrize(
    ("label", "error", "message"),
    [
        ("absent", Pkcs11KeyNotFoundError, "no private key label 'absent'"),
        ("twin", Pkcs11KeyNotFoundError, "several private keys"),
        ("small", Pkcs11KeyUnsuitableError, "1024 bits"),
        ("ec", Pkcs11KeyUnsuitableError, "not RSA"),
        ("no-sign", Pkcs11KeyUnsuitableError, "CKA_SIGN"),
    ],
)
def test_key_errors(
    softhsm: SoftHsm, label: str, error: type[Pkcs11Error], message: str
) -> None:
    with pytest.raises(error, match=message):
        Pkcs11SigningKey(
            softhsm.library, token_label=softhsm.token, key_label=label, pin=softhsm.pin
        )


def test_unsuitable_key_is_an_invalid_private_key(softhsm: SoftHsm) -> None:
    with pytest.raises(InvalidPrivateKeyError):
        Pkcs11SigningKey(
            softhsm.library, token_label=softhsm.token, key_label="small", pin="246810"
        )


def test_twin_keys_are_told_apart_by_id(softhsm: SoftHsm) -> None:
    with Pkcs11SigningKey(
        softhsm.library,
        token_label=softhsm.token,
        key_label="twin",
        key_id=b"\x07",
        pin=softhsm.pin,
    ) as key:
        assert key.public_key().key_size == 2048


def test_mechanism_not_supported(
    softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SoftHSM2 offers CKM_SHA256_RSA_PKCS: answer C_GetMechanismList the way a
    # token without it would (RSA-PSS and plain digests only).
    import pkcs11

    from nuvera_client import hsm

    monkeypatch.setattr(
        hsm,
        "_mechanisms",
        lambda token: {pkcs11.Mechanism.SHA256_RSA_PKCS_PSS, pkcs11.Mechanism.SHA256},
    )
    with pytest.raises(Pkcs11MechanismError, match="CKM_SHA256_RSA_PKCS"):
        Pkcs11SigningKey(
            softhsm.library,
            token_label=softhsm.token,
            key_label="signing",
            pin=softhsm.pin,
        )


def test_argument_errors() -> None:
    with pytest.raises(Pkcs11TokenNotFoundError, match="exactly one"):
        Pkcs11SigningKey("/x.so", key_label="k", pin="1")
    with pytest.raises(Pkcs11KeyNotFoundError, match="key_label"):
        Pkcs11SigningKey("/x.so", token_label="t", pin="1")
    with pytest.raises(Pkcs11KeyNotFoundError, match="hex"):
        Pkcs11SigningKey("/x.so", token_label="t", key_id="zz", pin="1")


def test_repr_never_shows_the_pin(hsm_key: Pkcs11SigningKey, softhsm: SoftHsm) -> None:
    text = repr(hsm_key) + str(vars(hsm_key))
    assert softhsm.pin not in text
    assert repr(hsm_key) == (
        f"Pkcs11SigningKey(token_label={softhsm.token!r}, key=\"label 'signing'\")"
    )


def test_threads_share_the_session_pool(hsm_key: Pkcs11SigningKey) -> None:
    public = hsm_key.public_key()
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for n in range(15):
                data = f"{index}-{n}".encode()
                public.verify(
                    hsm_key.sign(data), data, padding.PKCS1v15(), hashes.SHA256()
                )
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert hsm_key.max_sessions == 4


@pytest.mark.anyio
async def test_async_signing_runs_off_the_event_loop(
    hsm_key: Pkcs11SigningKey,
) -> None:
    from nuvera_client._signing_pool import sign_off_loop

    loop_thread = threading.get_ident()
    seen: list[int] = []
    signer = RequestSigner(hsm_key)

    def sign() -> str:
        seen.append(threading.get_ident())
        return signer.sign("GET", "/v1/customers")

    tokens = await asyncio.gather(
        *(sign_off_loop(sign, local=signer.local) for _ in range(6))
    )
    assert len(set(tokens)) == 6
    assert loop_thread not in seen


def test_recovers_when_the_token_drops_the_login(softhsm: SoftHsm) -> None:
    # Another key object on the same token logs in and out: SoftHSM2 logs the
    # whole application out when the session that logged in closes, which
    # invalidates our handles. The key re-opens once and signs.
    with Pkcs11SigningKey(
        softhsm.library, token_label=softhsm.token, key_label="signing", pin=softhsm.pin
    ) as key:
        key.sign(b"before")
        other = Pkcs11SigningKey(
            softhsm.library,
            token_label=softhsm.token,
            key_label="signing-3072",
            pin=softhsm.pin,
        )
        other.close()
        data = b"after"
        key.public_key().verify(
            key.sign(data), data, padding.PKCS1v15(), hashes.SHA256()
        )


def test_closed_key_refuses_to_sign(softhsm: SoftHsm) -> None:
    key = Pkcs11SigningKey(
        softhsm.library, token_label=softhsm.token, key_label="signing", pin=softhsm.pin
    )
    key.close()
    with pytest.raises(Pkcs11Error, match="closed"):
        key.sign(b"x")


def test_pool_survives_logouts_while_threads_sign(softhsm: SoftHsm) -> None:
    # Threads keep signing through the pool while another key object on the
    # token logs the process out three times: no thread hangs or gets anything
    # but a signature or a Pkcs11Error, and signing goes on afterwards.
    with Pkcs11SigningKey(
        softhsm.library,
        token_label=softhsm.token,
        key_label="signing",
        pin=softhsm.pin,
        sessions=2,
    ) as key:
        public = key.public_key()
        signed: list[int] = []
        unexpected: list[BaseException] = []
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    data = b"x" * (len(signed) % 7)
                    public.verify(
                        key.sign(data), data, padding.PKCS1v15(), hashes.SHA256()
                    )
                    signed.append(1)
                except Pkcs11Error:
                    pass  # a second logout during the retry: allowed to fail
                except BaseException as exc:  # reported below
                    unexpected.append(exc)
                    return

        threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(3):
            Pkcs11SigningKey(
                softhsm.library,
                token_label=softhsm.token,
                key_label="signing-3072",
                pin=softhsm.pin,
            ).close()  # logs the process out (SoftHSM2)
        before = len(signed)
        deadline = time.monotonic() + 20
        while len(signed) < before + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads)
        assert unexpected == []
        assert len(signed) >= before + 20  # still signing after the logouts
