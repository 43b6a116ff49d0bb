"""Notebook support: reprs (escaped, no secret), typed records, DataFrames, progress."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from nuvera_client._pagination import AsyncPage, Page, PageData
from nuvera_client.errors import OptionalDependencyError, error_from_response
from nuvera_client.models import Customer, Payment, PaymentStatus

PAYMENT = {
    "id": "pay_1",
    "object": "payment",
    "customer_id": "cus_1",
    "beneficiary_id": "ben_1",
    "amount": "1250.10",
    "currency": "USD",
    "status": "completed",
    "reference": "<script>alert(1)</script>",
    "description": None,
    "failure_reason": None,
    "metadata": {"k": "v"},
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-02T03:04:06Z",
    "settlement_ref": "s-1",
}


def _payment(i: int, status: str = "completed") -> Payment:
    return Payment.from_dict(
        {**PAYMENT, "id": f"pay_{i}", "amount": f"{i}.10", "status": status}
    )


PAGES: dict[str | None, PageData[Payment]] = {
    None: PageData((_payment(1), _payment(2, "failed")), True, "c2"),
    "c2": PageData((_payment(3),), False, None),
}


class Printer:
    def __init__(self) -> None:
        self.out = ""

    def text(self, value: str) -> None:
        self.out += value


def test_enum_repr_reads_as_code() -> None:
    assert repr(PaymentStatus.COMPLETED) == "PaymentStatus.COMPLETED"
    assert repr(PaymentStatus("settling")) == "PaymentStatus('settling')"
    assert "PaymentStatus.COMPLETED" in repr(_payment(1))


def test_to_dict_is_json_safe_and_to_record_is_typed() -> None:
    payment = _payment(7)
    assert payment.to_dict()["amount"] == "7.10"
    assert payment.to_dict()["created_at"] == "2026-01-02T03:04:05Z"
    record = payment.to_record()
    assert record["amount"] == Decimal("7.10")
    assert record["created_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert record["status"] is PaymentStatus.COMPLETED
    assert record["settlement_ref"] == "s-1"  # unknown fields kept
    assert "extra" not in record


def test_model_html_is_escaped() -> None:
    html = _payment(1)._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<caption>Payment</caption>" in html
    printer = Printer()
    _payment(1)._repr_pretty_(printer, False)
    assert printer.out == repr(_payment(1))


def test_page_html_never_fetches_and_lists_items() -> None:
    calls: list[str | None] = []

    def fetch(cursor: str | None) -> PageData[Payment]:
        calls.append(cursor)
        return PAGES[cursor]

    page = Page(fetch)
    assert "not fetched" in page._repr_html_()
    assert calls == []
    page.first_page()
    html = page._repr_html_()
    assert "Page: 2 items, more pages follow" in html
    assert html.count("<tr>") == 3  # header + two rows
    assert "&lt;script&gt;" in html


def test_error_reprs_escape_and_hold_no_secret() -> None:
    body = (
        b'{"error": {"type": "permission_error", "code": "permission_denied",'
        b' "message": "lacks <b>X</b>", "request_id": "req_1",'
        b' "details": {"required_permission": "PAYMENTS_WRITE"}}}'
    )
    error = error_from_response(403, body)
    html = error._repr_html_()
    assert "&lt;b&gt;X&lt;/b&gt;" in html
    assert "PAYMENTS_WRITE" in html
    assert "req_1" in html
    printer = Printer()
    error._repr_pretty_(printer, False)
    assert printer.out.startswith("PermissionDeniedError: [req_1] 403")


def test_to_records_and_pandas_keep_types() -> None:
    pd = pytest.importorskip("pandas")
    page = Page(PAGES.__getitem__)
    records = page.to_records()
    assert [r["id"] for r in records] == ["pay_1", "pay_2", "pay_3"]
    assert Page(PAGES.__getitem__).to_records(max_items=1)[0]["id"] == "pay_1"
    frame = Page(PAGES.__getitem__).to_pandas()
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["amount"].tolist() == [
        Decimal("1.10"),
        Decimal("2.10"),
        Decimal("3.10"),
    ]
    assert all(isinstance(v, Decimal) for v in frame["amount"])
    assert frame["status"].tolist() == ["completed", "failed", "completed"]
    assert isinstance(frame, pd.DataFrame)


def test_progress_callback_sees_every_page() -> None:
    seen: list[tuple[int, int]] = []
    items = list(
        Page(PAGES.__getitem__).iter_all(progress=lambda n, p: seen.append((n, p)))
    )
    assert len(items) == 3
    assert seen == [(2, 1), (3, 2)]


def test_progress_true_uses_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    assert len(list(Page(PAGES.__getitem__).iter_all(progress=True))) == 3
    assert "3item" in capsys.readouterr().err.replace(" ", "")


def test_bad_progress_value_is_refused() -> None:
    with pytest.raises(TypeError, match="progress"):
        list(Page(PAGES.__getitem__).iter_all(progress="yes"))  # type: ignore[arg-type]


def _hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # None in sys.modules makes ``import name`` fail as if it were not installed.
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, name + ".auto", None)


def test_missing_pandas_is_a_clear_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "pandas")
    with pytest.raises(OptionalDependencyError, match=r"nuvera-client\[notebook\]"):
        Page(PAGES.__getitem__).to_pandas()


def test_missing_tqdm_is_a_clear_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "tqdm")
    with pytest.raises(OptionalDependencyError) as info:
        list(Page(PAGES.__getitem__).iter_all(progress=True))
    assert info.value.package == "tqdm"
    assert isinstance(info.value, ImportError)


@pytest.mark.anyio
async def test_async_page_records_and_progress() -> None:
    async def fetch(cursor: str | None) -> PageData[Payment]:
        return PAGES[cursor]

    seen: list[int] = []
    page = AsyncPage(fetch)
    items = [p async for p in page.iter_all(progress=lambda n, _: seen.append(n))]
    assert [p.id for p in items] == ["pay_1", "pay_2", "pay_3"]
    assert seen == [2, 3]
    records = await AsyncPage(fetch, "c2").to_records()
    assert records[0]["amount"] == Decimal("3.10")
    assert "not fetched" in AsyncPage(fetch)._repr_html_()


def test_nested_models_become_typed_dicts() -> None:
    customer = Customer.from_dict(
        {
            "id": "cus_1",
            "object": "customer",
            "type": "individual",
            "name": "Ada",
            "email": "a@example.com",
            "phone": None,
            "country": None,
            "external_id": None,
            "status": "active",
            "kyc_status": "not_started",
            "metadata": {},
            "created_at": "2026-01-02T03:04:05Z",
            "updated_at": "2026-01-02T03:04:05Z",
        }
    )
    record = customer.to_record()
    assert record["created_at"].tzinfo is not None
