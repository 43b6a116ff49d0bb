"""Objects holding an API key, a PEM or a passphrase never show nor pickle them.

Each is shown the ways a user would meet it: ``repr``/``str``, ``pprint``, an
IPython-style pretty printer (``_repr_pretty_`` with a recording printer, since
IPython is not a dependency), an f-string, ``pickle`` (refused: a pickle is the
secret on disk), and ``copy`` (the immutable ones copy to themselves).
"""

from __future__ import annotations

import copy
import pickle
import pprint
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client import ApiKey, Credentials, NuveraAuth, RequestSigner
from nuvera_client._cli._settings import Settings
from nuvera_client._config import ClientConfig
from nuvera_client.credentials import (
    CallableCredentials,
    ChainCredentials,
    EnvironmentCredentials,
    FileCredentials,
    default_chain,
)
from nuvera_client.keys import private_key_pem

PASSPHRASE = "s3cret-passphrase-for-redaction"


class RecordingPrinter:
    """The part of ``IPython.lib.pretty.PrettyPrinter`` that ``_repr_pretty_`` uses."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, text: str) -> None:
        self.parts.append(text)


@pytest.fixture
def secrets_(rsa_key: rsa.RSAPrivateKey) -> tuple[str, str]:
    return ApiKey.generate("test").reveal(), private_key_pem(rsa_key, PASSPHRASE)


def _pem_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and "-----" not in line]


def _shown(obj: object) -> str:
    printer = RecordingPrinter()
    obj._repr_pretty_(printer, False)  # type: ignore[attr-defined]
    assert printer.parts, "the pretty printer got nothing"
    return "\n".join(
        [repr(obj), str(obj), f"{obj!r} {obj}", pprint.pformat(obj), *printer.parts]
    )


def _assert_hidden(text: str, api_key: str, pem: str) -> None:
    assert api_key not in text
    assert api_key[9:41] not in text  # the random part
    assert PASSPHRASE not in text
    for line in _pem_lines(pem):
        assert line not in text


def _holders(api_key: str, pem: str, tmp_path: Path) -> list[object]:
    creds = Credentials(api_key, pem, PASSPHRASE)
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    return [
        creds,
        Credentials(ApiKey.parse(api_key), pem.encode(), PASSPHRASE.encode()),
        ClientConfig.resolve(api_key=api_key, private_key=pem, passphrase=PASSPHRASE),
        EnvironmentCredentials(
            env={"NUVERA_API_KEY": api_key, "NUVERA_PRIVATE_KEY": pem},
            passphrase=PASSPHRASE,
        ),
        FileCredentials(key_file, key_file, passphrase=PASSPHRASE),
        CallableCredentials(lambda: creds),
        default_chain(api_key, pem, PASSPHRASE, env={}),
        Settings(
            profile_name="default",
            profile={},
            api_key_text=api_key,
            private_key=pem.encode(),
            passphrase=PASSPHRASE,
        ),
    ]


def test_no_secret_in_repr_str_pprint_or_pretty_printer(
    secrets_: tuple[str, str], tmp_path: Path
) -> None:
    api_key, pem = secrets_
    holders = _holders(api_key, pem, tmp_path)
    chain = holders[6]
    assert isinstance(chain, ChainCredentials)
    chain.get()  # a chain that has fetched holds the credentials too
    for holder in holders:
        _assert_hidden(_shown(holder), api_key, pem)
    # Inside containers, pprint falls back on each element's repr.
    _assert_hidden(pprint.pformat({"c": holders[:3]}), api_key, pem)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickling_is_refused_with_a_clear_message(
    secrets_: tuple[str, str], tmp_path: Path, protocol: int
) -> None:
    api_key, pem = secrets_
    for holder in _holders(api_key, pem, tmp_path):
        with pytest.raises(TypeError, match="holds secrets and is not picklable") as e:
            pickle.dumps(holder, protocol=protocol)
        _assert_hidden(str(e.value), api_key, pem)


def test_immutable_holders_copy_to_themselves(
    secrets_: tuple[str, str], tmp_path: Path
) -> None:
    api_key, pem = secrets_
    creds, _, config, *_ = _holders(api_key, pem, tmp_path)
    for holder in (creds, config):
        assert copy.copy(holder) is holder
        assert copy.deepcopy(holder) is holder
        assert copy.deepcopy({"x": [holder]})["x"][0] is holder


def test_mutable_holders_refuse_copying_like_pickling(
    secrets_: tuple[str, str], tmp_path: Path
) -> None:
    api_key, pem = secrets_
    provider = _holders(api_key, pem, tmp_path)[3]
    copier: Callable[[Any], Any]
    for copier in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="not picklable"):
            copier(provider)


def test_signer_and_auth_do_not_pickle_either(secrets_: tuple[str, str]) -> None:
    api_key, pem = secrets_
    signer = RequestSigner(pem, passphrase=PASSPHRASE)
    auth = NuveraAuth(api_key, signer=signer)
    for holder in (signer, auth, ApiKey.parse(api_key)):
        with pytest.raises(TypeError):
            pickle.dumps(holder)
        _assert_hidden(repr(holder), api_key, pem)
    key = ApiKey.parse(api_key)
    _assert_hidden(_shown(key), api_key, pem)
    assert copy.copy(key) is key
    assert copy.deepcopy(key) is key
