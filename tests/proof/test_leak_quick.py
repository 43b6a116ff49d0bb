"""Leak scan, quick: a client session with DEBUG logs, its errors and reprs.

Every secret the session uses (API key, private key, passphrase, whole tokens) is
searched in every log record, exception text and repr, literally and by shape.
``scripts/prove`` scans the whole suite and the demo the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nuvera_client import ApiKey, NuveraAuth, NuveraClient, RequestSigner, keys
from nuvera_client.errors import NuveraError
from proof.leaks import EXEMPTIONS, SITE, _exemption, scan_text
from proof.servers import running_sandbox

PASSPHRASE = "correct horse battery staple 17"


def test_no_secret_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    texts: list[str] = []
    with running_sandbox() as env, caplog.at_level(logging.DEBUG):
        pem = env.private_key_pem
        key = keys.load_private_key(pem)
        encrypted = keys.private_key_pem(key, PASSPHRASE)
        signer = RequestSigner(encrypted, passphrase=PASSPHRASE)
        token = signer.sign("GET", "/v1/customers")
        secrets = [env.app.api_key, PASSPHRASE, token, *pem.splitlines()[1:-1]]
        with NuveraClient(
            env.app.api_key, encrypted, passphrase=PASSPHRASE, base_url=env.base_url
        ) as client:
            client.customers.list(limit=1).first_page()
            texts += [repr(client), repr(signer), repr(env.app), str(env.app)]
            calls: tuple[Callable[[], object], ...] = (
                lambda: client.customers.retrieve("cus_doesnotexist"),
                lambda: client.customers.create(type="x", name="", email="bad"),
            )
            for call in calls:
                with pytest.raises(NuveraError) as info:
                    call()
                texts += [str(info.value), repr(info.value)]
        stranger = keys.private_key_pem(keys.generate_private_key(2048))
        with NuveraClient(env.app.api_key, stranger, base_url=env.base_url) as client:
            with pytest.raises(NuveraError) as info:
                client.customers.list(limit=1).first_page()
            texts += [str(info.value), repr(info.value)]
        for bad in (
            env.app.api_key[:-1],
            env.app.api_key + "x",
            env.app.api_key[:-1] + "!",
        ):
            with pytest.raises(NuveraError) as info:
                ApiKey.parse(bad)
            texts += [str(info.value), repr(info.value)]
            secrets.append(bad)
        with pytest.raises(NuveraError) as info:
            keys.load_private_key(encrypted, "wrong passphrase")
        texts += [str(info.value), repr(info.value)]
        auth = NuveraAuth(env.app.api_key, pem)
        signed = next(auth.sync_auth_flow(httpx.Request("GET", env.base_url + "/v1/x")))
        secrets.append(signed.headers["authorization"].removeprefix("Bearer "))
        texts += [repr(auth), repr(signed), repr(ApiKey.parse(env.app.api_key))]
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    assert any(record.name.startswith("nuvera_client") for record in caplog.records)
    hits = [
        hit
        for i, text in enumerate(texts)
        for hit in scan_text(f"text {i}", text, secrets)
    ]
    assert hits == []


def test_the_scan_finds_each_kind_of_secret() -> None:
    key = ApiKey.generate("test").reveal()
    pem = keys.private_key_pem(keys.generate_private_key(2048))
    token = RequestSigner(pem).sign("GET", "/v1/customers")
    text = f"log: {key} then {pem} then Bearer {token} then pin 12345678"
    kinds = {hit.kind for hit in scan_text("t", text, ["12345678"])}
    assert kinds == {"api key", "PEM private key", "RS256 JWS", "known secret"}
    assert all("[secret]" in hit.excerpt for hit in scan_text("t", text))
    assert key not in str(scan_text("t", text))


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("test_x0/state.sqlite3", None),
        ("test_x0/client.log", None),
        ("test_x0/out/report.json", None),
        ("test_cli0/key.pem", "inputs"),
        ("test_docs0/site/spec/vectors.json", SITE),
        ("test_docs0/site2/index.html", SITE),
        ("test_docs0/website/notes.txt", None),
        ("test_node_signer0/tampered.json", "vectors copy"),
        ("test_curl_reads0/api key.txt", "key file input"),
        ("test_curl_reads0/api-key.txt", None),
    ],
)
def test_leak_scan_exemptions_are_explicit(relative: str, reason: str | None) -> None:
    assert _exemption(Path(relative)) == reason
    assert reason is None or reason in EXEMPTIONS
