"""``documents.upload(progress=...)``: bytes of each send, not of the hash pass."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from scripted import API_KEY, BASE, DOCUMENT

from nuvera_client._client import AsyncNuveraClient, NuveraClient
from nuvera_client.errors import OptionalDependencyError

DATA = bytes(range(256)) * 1_000  # 256 kB: several chunks


def _claims(request: httpx.Request) -> dict[str, Any]:
    import base64

    token = request.headers["authorization"].split(" ", 1)[1]
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


class Recorder:
    """A MockTransport handler: answers in turn, records each body it read."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.bodies: list[bytes] = []
        self.hashes: list[str] = []
        self.seen: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        self.hashes.append(_claims(request)["body_hash"])
        status = self.statuses.pop(0)
        if status >= 500:
            return httpx.Response(
                status, json={"error": {"code": "unavailable", "message": "x"}}
            )
        return httpx.Response(status, json=DOCUMENT)

    def callback(self, sent: int, chunks: int) -> None:
        self.seen.append((sent, chunks))


def _client(
    key: rsa.RSAPrivateKey, recorder: Recorder
) -> tuple[NuveraClient, list[float]]:
    client = NuveraClient(
        API_KEY,
        key,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
    )
    sleeps: list[float] = []
    client._sleep = sleeps.append
    return client, sleeps


def _runs(seen: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Split the reports into attempts: each attempt counts chunks from 1."""
    runs: list[list[tuple[int, int]]] = []
    for sent, chunks in seen:
        if chunks == 1:
            runs.append([])
        runs[-1].append((sent, chunks))
    return runs


def test_upload_reports_every_byte_sent_once(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    path = tmp_path / "passport.pdf"
    path.write_bytes(DATA)
    recorder = Recorder(201)
    client, _ = _client(rsa_key, recorder)
    client.documents.upload(
        customer_id="cus_1", type="passport", file=path, progress=recorder.callback
    )
    (body,) = recorder.bodies
    # The hash pass reported nothing: one run, and it ends at the body's length.
    (run,) = _runs(recorder.seen)
    assert run[-1] == (len(body), len(run))
    assert [sent for sent, _ in run] == sorted({sent for sent, _ in run})
    assert len(run) > 2  # chunked, not one report at the end
    assert recorder.hashes == [hashlib.sha256(body).hexdigest()]
    assert DATA in body
    client._http.close()


def test_a_retried_upload_counts_again_from_zero(rsa_key: rsa.RSAPrivateKey) -> None:
    recorder = Recorder(503, 201)
    client, sleeps = _client(rsa_key, recorder)
    client.documents.upload(
        customer_id="cus_1",
        type="passport",
        file=io.BytesIO(DATA),
        progress=recorder.callback,
    )
    first, second = recorder.bodies
    assert first == second
    assert len(sleeps) == 1
    runs = _runs(recorder.seen)
    assert [run[-1][0] for run in runs] == [len(first), len(second)]
    client._http.close()


def test_no_progress_without_the_argument(rsa_key: rsa.RSAPrivateKey) -> None:
    recorder = Recorder(201)
    client, _ = _client(rsa_key, recorder)
    client.documents.upload(customer_id="cus_1", type="passport", file=DATA)
    assert recorder.seen == []
    assert len(recorder.bodies) == 1
    client._http.close()


def test_upload_progress_bar_names_the_file(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    path = tmp_path / "scan.png"
    path.write_bytes(DATA)
    client, _ = _client(rsa_key, Recorder(201))
    client.documents.upload(customer_id="c", type="other", file=path, progress=True)
    err = capsys.readouterr().err
    assert "scan.png" in err
    assert "100%" in err  # the bar knew the body's length
    client._http.close()


def test_bad_progress_value_is_refused_before_sending(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    recorder = Recorder(201)
    client, _ = _client(rsa_key, recorder)
    with pytest.raises(TypeError, match="progress"):
        client.documents.upload(
            customer_id="c",
            type="other",
            file=DATA,
            progress="yes",  # type: ignore[arg-type]
        )
    assert recorder.bodies == []
    client._http.close()


def test_progress_true_without_tqdm_names_the_extra(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    recorder = Recorder(201)
    client, _ = _client(rsa_key, recorder)
    with pytest.raises(OptionalDependencyError, match="notebook"):
        client.documents.upload(customer_id="c", type="other", file=DATA, progress=True)
    assert recorder.bodies == []
    client._http.close()


@pytest.mark.anyio
async def test_async_upload_reports_the_send(rsa_key: rsa.RSAPrivateKey) -> None:
    recorder = Recorder(500, 201)
    client = AsyncNuveraClient(
        API_KEY,
        rsa_key,
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
    )

    async def no_sleep(delay: float) -> None:
        pass

    client._sleep = no_sleep
    report: Callable[[int, int], None] = recorder.callback
    await client.documents.upload(
        customer_id="c", type="other", file=DATA, progress=report
    )
    runs = _runs(recorder.seen)
    assert [run[-1][0] for run in runs] == [len(b) for b in recorder.bodies]
    assert len(runs) == 2
    await client.aclose()
