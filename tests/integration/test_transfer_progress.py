"""`progress=` on transfers: `download_to()` bytes written, `upload()` bytes sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvera_client._client import AsyncNuveraClient, NuveraClient

CONTENT = b"%PDF" + b"x" * 300_000


def test_download_progress_callback(client: NuveraClient, tmp_path: Path) -> None:
    ada = client.customers.create(type="individual", name="Ada", email="a@example.com")
    doc = client.documents.upload(customer_id=ada.id, type="passport", file=CONTENT)
    seen: list[tuple[int, int]] = []
    target = client.documents.download_to(
        doc.id, tmp_path / "p.pdf", progress=lambda b, c: seen.append((b, c))
    )
    assert target.read_bytes() == CONTENT
    assert seen[-1] == (len(CONTENT), len(seen))
    assert [b for b, _ in seen] == sorted({b for b, _ in seen})  # strictly growing


def test_download_progress_bar(
    client: NuveraClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    ada = client.customers.create(type="individual", name="Bo", email="b@example.com")
    doc = client.documents.upload(customer_id=ada.id, type="passport", file=CONTENT)
    client.documents.download_to(doc.id, tmp_path / "bar.pdf", progress=True)
    err = capsys.readouterr().err
    assert "bar.pdf" in err
    assert "300k" in err.replace(" ", "")  # unit_scale: bytes as kB


@pytest.mark.anyio
async def test_async_download_progress(
    async_client: AsyncNuveraClient, tmp_path: Path
) -> None:
    ada = await async_client.customers.create(
        type="individual", name="Cy", email="c@example.com"
    )
    doc = await async_client.documents.upload(
        customer_id=ada.id, type="passport", file=CONTENT
    )
    seen: list[int] = []
    await async_client.documents.download_to(
        doc.id, tmp_path / "a.pdf", progress=lambda b, _: seen.append(b)
    )
    assert seen[-1] == len(CONTENT)


def test_upload_progress_counts_the_bytes_sent(
    client: NuveraClient, tmp_path: Path
) -> None:
    ada = client.customers.create(type="individual", name="Di", email="d@example.com")
    path = tmp_path / "scan.pdf"
    path.write_bytes(CONTENT)
    seen: list[tuple[int, int]] = []
    doc = client.documents.upload(
        customer_id=ada.id,
        type="passport",
        file=path,
        progress=lambda b, c: seen.append((b, c)),
    )
    assert doc.size == len(CONTENT)
    # One send (the hashing pass is not reported): the whole multipart body,
    # file part and framing, chunk by chunk.
    assert [c for _, c in seen] == list(range(1, len(seen) + 1))
    assert len(CONTENT) < seen[-1][0] < len(CONTENT) + 1_000
    assert client.documents.download(doc.id) == CONTENT


@pytest.mark.anyio
async def test_async_upload_progress(async_client: AsyncNuveraClient) -> None:
    ada = await async_client.customers.create(
        type="individual", name="Ed", email="e@example.com"
    )
    seen: list[int] = []
    doc = await async_client.documents.upload(
        customer_id=ada.id,
        type="passport",
        file=CONTENT,
        progress=lambda b, _: seen.append(b),
    )
    assert doc.size == len(CONTENT)
    assert seen == sorted(set(seen))
    assert seen[-1] > len(CONTENT)
