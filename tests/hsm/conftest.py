"""The session's SoftHSM2 token (see softhsm_setup).

Without SoftHSM2 these tests are not collected: ``scripts/test`` says so in one line.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from softhsm_setup import (
    AVAILABLE,
    LIBRARY,
    PIN,
    PIN_TOKEN,
    SKIP_REASON,
    TOKEN,
    SoftHsm,
    init_token,
    make_keys,
)

collect_ignore_glob = [] if AVAILABLE else ["test_*.py"]


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """Create the tokens and keys once per session; SOFTHSM2_CONF points at them."""
    if not AVAILABLE or LIBRARY is None:
        pytest.skip(SKIP_REASON)
    pkcs11 = pytest.importorskip("pkcs11")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\n"
    )
    for label in (TOKEN, PIN_TOKEN):
        init_token(conf, label)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        token = pkcs11.lib(LIBRARY).get_token(token_label=TOKEN)
        with token.open(rw=True, user_pin=PIN) as session:
            make_keys(session)
        pin_token = pkcs11.lib(LIBRARY).get_token(token_label=PIN_TOKEN)
        with pin_token.open(rw=True, user_pin=PIN) as session:
            session.generate_keypair(
                pkcs11.KeyType.RSA, 2048, label="signing", id=b"\x01", store=True
            )
        yield SoftHsm(LIBRARY, TOKEN, PIN_TOKEN, PIN, directory)
