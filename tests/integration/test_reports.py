"""Finance reports on small histories whose figures were worked out by hand (the working
is in the comments), on SQLite and PostgreSQL.

The story (`three_customers`):
- acme: US, USD, ticket monthly, 2 seats (30.00 a month); card 2025-01-10 10:00, so its
  periods run from the 10th, 10:00. Its February invoice is corrected on 02-12 (INV-2).
  It cancels on 2025-04-20.
- beta: DE, EUR, all-inclusive annual, 1 seat (390.00 + 19 % VAT); card 2025-01-20. A
  second seat on 2025-03-01 is prorated (BILL-4): 390 x 325/365 = 347.26 + 65.98 VAT.
- gamma: FR, EUR, ticket monthly, 1 seat, VAT ID (reverse charge, 15.00); its card
  declines from 2025-02-01, so it is suspended on 02-08 (PAY-4); it is used on 03-20
  (so not deleted for inactivity, IDLE-1); a working card on
  2025-04-05 pays the open invoice and starts a new period (BILL-8).

Invoice numbers, in the order issued: 000001 acme 01-10, 000002 beta 01-20, 000003 gamma
02-01, 000004 acme 02-10, CN-000001 + 000005 acme 02-12, 000006 beta 03-01, 000007 acme
03-10, 000008 gamma 04-05, 000009 acme 04-10.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.charts import draw
from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from cli import app as cli_app
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    Cancel,
    CorrectInvoice,
    GrantPrepaidCredit,
    RecordActivity,
    SetVatId,
)
from domain.errors import DomainError, ErrorCode
from domain.money import Money
from projections.reports import Month, ReportFormat, chart, render_report
from settings import Settings
from simulation import DEFAULT_START, simulate
from tests.helpers import ARTEFACTS, at, open_account


@pytest.fixture
def three_customers(ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway) -> Ledger:
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger, plan="ticket", seats=2)
    at(ledger, clock, "2025-01-10T10:00:00Z")
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok_acme"))
    at(ledger, clock, "2025-01-20T09:00:00Z")
    beta = open_account(
        ledger, country="DE", currency="EUR", cycle="annual", seats=1, company="Beta GmbH"
    )
    ledger.execute(beta, AddPaymentMethod(kind="card", token="tok_beta"))
    at(ledger, clock, "2025-02-01T09:00:00Z")
    gamma = open_account(
        ledger, country="FR", currency="EUR", plan="ticket", seats=1, company="Gamma SA"
    )
    ledger.execute(gamma, SetVatId(vat_id="FR40303265045"))
    gateway.decline(gamma)
    ledger.execute(gamma, AddPaymentMethod(kind="card", token="tok_gamma"))
    at(ledger, clock, "2025-02-12T08:00:00Z")
    ledger.execute(acme, CorrectInvoice(company="Acme Ltd"))
    at(ledger, clock, "2025-03-01T12:00:00Z")
    ledger.execute(beta, AddSeats(count=1))
    at(ledger, clock, "2025-03-20T12:00:00Z")
    ledger.execute(gamma, RecordActivity())  # IDLE-1: a suspended account's people keep it alive
    at(ledger, clock, "2025-04-05T12:00:00Z")
    gateway.accept(gamma)
    ledger.execute(gamma, AddPaymentMethod(kind="card", token="tok_gamma_2"))
    at(ledger, clock, "2025-04-20T12:00:00Z")
    ledger.execute(acme, Cancel(via="button"))
    at(ledger, clock, "2025-05-02T00:00:00Z")
    return ledger


def rows(ledger: Ledger, name: str, month: str, currency: str | None = None) -> list[list[str]]:
    return ledger.report(name, month, currency).rows


def test_invoices_report_lists_documents_issued_in_the_month(three_customers: Ledger) -> None:
    feb = three_customers.report("invoices", "2025-02")
    assert [(r[0], r[1], r[3], r[6], r[7]) for r in feb.rows] == [
        ("2025-000003", "invoice", "EUR", "15.00", ""),
        ("2025-000004", "invoice", "USD", "30.00", ""),
        ("CN-2025-000001", "credit_note", "USD", "30.00", "2025-000004"),
        ("2025-000005", "invoice", "USD", "30.00", ""),
    ]
    assert figures(feb.summary) == {
        "EUR invoice": {"count": 1, "total": "15.00"},
        "USD credit_note": {"count": 1, "total": "30.00"},
        "USD invoice": {"count": 2, "total": "60.00"},
    }
    march = rows(three_customers, "invoices", "2025-03")
    assert [(r[0], r[4], r[5], r[6]) for r in march] == [
        ("2025-000006", "347.26", "65.98", "413.24"),  # BILL-4: 390 x 325/365, 19 % VAT
        ("2025-000007", "30.00", "0.00", "30.00"),
    ]


def test_vat_report_groups_by_country_rate_and_treatment(three_customers: Ledger) -> None:
    feb = three_customers.report("vat", "2025-02")
    # USD: 30 (000004) - 30 (its credit note) + 30 (000005) = 30 outside the EU.
    assert feb.rows == [
        ["EUR", "FR", "0", "reverse_charge", "15.00", "0.00"],
        ["USD", "US", "0", "outside_eu", "30.00", "0.00"],
    ]
    assert figures(feb.summary) == {"reverse_charge_net": {"EUR": "15.00"}}
    assert rows(three_customers, "vat", "2025-03") == [
        ["EUR", "DE", "19", "standard", "347.26", "65.98"],
        ["USD", "US", "0", "outside_eu", "30.00", "0.00"],
    ]


def test_aging_buckets_what_is_owed_by_days_since_issue(three_customers: Ledger) -> None:
    # gamma's 000003 (15.00, issued 02-01) is unpaid: 27 days old on 02-28, 58 on 03-31;
    # paid on 04-05. Everything else is paid (000005 by the payment carried from 000004).
    assert rows(three_customers, "aging", "2025-02") == [
        ["EUR", "15.00", "0.00", "0.00", "0.00", "15.00"]
    ]
    assert rows(three_customers, "aging", "2025-03") == [
        ["EUR", "0.00", "15.00", "0.00", "0.00", "15.00"]
    ]
    assert rows(three_customers, "aging", "2025-04") == []


def test_revenue_is_recognised_day_by_day_and_reconciles(three_customers: Ledger) -> None:
    report = three_customers.report("revenue", "2025-03")
    # USD: 000004/CN/000005 (02-10..03-10, 28 days): 30 - 30 x 19/28 (20.36) = 9.64 in
    # March; 000007 (03-10..04-10, 31 days): 30 x 22/31 = 21.29. To date: 30 + 30 + 21.29.
    # EUR all-inclusive: 000002 (01-20..2026-01-20, 365 days): 390 x 71/365 (75.86) -
    # 390 x 40/365 (42.74) = 33.12; 000006 (03-01..2026-01-20, 325 days): 347.26 x 31/325
    # = 33.12. EUR ticket: gamma's 000003 (02-01..03-01) was earned in February.
    assert report.rows == [
        ["EUR", "revenue:all-inclusive", "66.24", "108.98"],
        ["EUR", "revenue:ticket", "0.00", "15.00"],
        ["USD", "revenue:ticket", "30.93", "81.29"],
    ]
    assert figures(report.summary) == {
        "EUR": {
            "invoiced_net": "752.26",  # 390 + 15 + 347.26
            "credit_notes_net": "0.00",
            "recognised": "123.98",
            "deferred": "628.28",  # 390 + 347.26 - 108.98
            "prepaid_outstanding": "0.00",
            "refunded": "0.00",
            "reconciles": True,
        },
        "USD": {
            "invoiced_net": "120.00",
            "credit_notes_net": "30.00",
            "recognised": "81.29",
            "deferred": "8.71",  # 30 - 21.29
            "prepaid_outstanding": "0.00",
            "refunded": "0.00",
            "reconciles": True,
        },
    }


def test_trial_balance_at_month_end_sums_to_zero_per_currency(three_customers: Ledger) -> None:
    report = three_customers.report("trial_balance", "2025-03")
    # EUR: paid 464.10 + 413.24; gamma owes 15.00; VAT 74.10 + 65.98.
    assert report.rows == [
        ["EUR", "cash_clearing", "877.34", "0.00"],
        ["EUR", "deferred_revenue", "0.00", "628.28"],
        ["EUR", "receivable", "15.00", "0.00"],
        ["EUR", "revenue:all-inclusive", "0.00", "108.98"],
        ["EUR", "revenue:ticket", "0.00", "15.00"],
        ["EUR", "vat_payable:DE", "0.00", "140.08"],
        ["USD", "cash_clearing", "90.00", "0.00"],
        ["USD", "deferred_revenue", "0.00", "8.71"],
        ["USD", "receivable", "0.00", "0.00"],
        ["USD", "revenue:ticket", "0.00", "81.29"],
    ]
    assert report.summary["balanced"] is True
    assert figures(report.summary["totals"]) == {
        "EUR": {"debit": "892.34", "credit": "892.34"},
        "USD": {"debit": "90.00", "credit": "90.00"},
    }
    assert rows(three_customers, "trial_balance", "2025-03", "USD") == report.rows[6:]


def test_mrr_movements_compare_each_account_at_month_start_and_end(
    three_customers: Ledger,
) -> None:
    columns = ["currency", "opening", "new", "expansion", "contraction", "churn"]
    assert three_customers.report("mrr", "2025-03").columns[:6] == columns
    # March: beta's second seat raises its annual rate 390 -> 780: MRR 32.50 -> 65.00.
    # gamma came (02-01) and went (suspended 02-08) within February: no movement.
    assert rows(three_customers, "mrr", "2025-03") == [
        ["EUR", "32.50", "0.00", "32.50", "0.00", "0.00", "0.00", "65.00", "780.00"],
        ["USD", "30.00", "0.00", "0.00", "0.00", "0.00", "0.00", "30.00", "360.00"],
    ]
    # April: gamma is back (a reactivation: it had MRR before); acme cancels (churn).
    assert rows(three_customers, "mrr", "2025-04") == [
        ["EUR", "65.00", "0.00", "0.00", "0.00", "0.00", "15.00", "80.00", "960.00"],
        ["USD", "30.00", "0.00", "0.00", "0.00", "30.00", "0.00", "0.00", "0.00"],
    ]
    assert rows(three_customers, "mrr", "2025-01") == [
        ["EUR", "0.00", "32.50", "0.00", "0.00", "0.00", "0.00", "32.50", "390.00"],
        ["USD", "0.00", "30.00", "0.00", "0.00", "0.00", "0.00", "30.00", "360.00"],
    ]


SIMULATED_HISTORIES = 20


@pytest.mark.parametrize("seed", range(SIMULATED_HISTORIES))
def test_the_mrr_roll_forward_adds_up_to_the_cent_over_simulated_histories(seed: int) -> None:
    """Opening + new + expansion - contraction - churn + reactivation = closing, in every
    currency and month of a simulated history, as the report prints the figures: each
    account's MRR is a whole number of cents (an annual price / 12 rounded half up), so no
    figure is rounded on its own."""
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store="memory://"), clock=clock, gateway=SandboxGateway())
    try:
        simulate(ledger, clock, accounts=10, months=6, seed=seed)
        month, checked = Month.of(DEFAULT_START.date()), 0
        for _ in range(6):
            for row in ledger.report("mrr", str(month)).rows:
                opening, new, expansion, contraction, churn, reactivation, closing = (
                    Decimal(figure) for figure in row[1:8]
                )
                rolled = opening + new + expansion - contraction - churn + reactivation
                assert rolled == closing, (seed, str(month), row)
                checked += 1
            month = month.next
        assert checked >= 6  # every month had MRR in some currency
    finally:
        ledger.close()


@pytest.fixture
def delta(ledger: Ledger, clock: SimulatedClock) -> Ledger:
    """The public pool story: 4,680.00 USD for 10 seats, active 2025-03-15; 12 seats
    from 2025-09-15; cancelled 2025-11-01 (CREDIT-1..5)."""
    at(ledger, clock, "2025-02-14T12:00:00Z")
    account = open_account(ledger, seats=10)
    at(ledger, clock, "2025-02-15T00:00:00Z")
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_delta"))
    at(ledger, clock, "2025-03-01T00:00:00Z")
    ledger.execute(account, GrantPrepaidCredit(amount="4680.00 USD"))
    at(ledger, clock, "2025-09-15T00:00:00Z")
    ledger.execute(account, AddSeats(count=2))
    at(ledger, clock, "2025-11-01T00:00:00Z")
    ledger.execute(account, Cancel(via="button"))
    return ledger


def test_pools_report_shows_what_is_left_and_where_the_window_ends(delta: Ledger) -> None:
    def pools(month: str) -> list[list[str]]:
        return [row[1:] for row in rows(delta, "pools", month)]

    # Granted 03-01, active from 03-15: nothing burnt in February.
    assert pools("2025-02") == []  # not granted yet
    # March: 17 days at 4680/365 a day: 217.97 burnt.
    assert pools("2025-03") == [["USD", "4680.00", "2025-03-15", "4462.03", "2026-03-15"]]
    # September: 184 days at 10 seats (4680 x 181/365 left = 2320.77 on 09-15), then 16
    # days at 12 seats (x 1.2): 4680 x (181 - 19.2)/365 = 2074.59; end moved to 2026-02-13.
    assert pools("2025-09") == [["USD", "4680.00", "2025-03-15", "2074.59", "2026-02-13"]]
    assert pools("2025-11") == []  # cancelled


def test_refunds_report_and_the_cancellation_fee(delta: Ledger) -> None:
    nov = delta.report("refunds", "2025-11")
    # CREDIT-5: R = 1597.61 left on 11-01, refund R - 50 % fee = 798.81.
    assert [row[1:] for row in nov.rows] == [["2025-11-01T00:00:00Z", "USD", "798.81", "CREDIT-5"]]
    assert figures(nov.summary) == {"total": {"USD": "798.81"}}
    revenue = delta.report("revenue", "2025-11")
    assert revenue.rows == [
        # 390 (the first month) + 4680 - 1597.61 burnt
        ["USD", "revenue:all-inclusive", "0.00", "3472.39"],
        ["USD", "revenue:cancellation_fees", "798.80", "798.80"],
    ]
    assert figures(revenue.summary["USD"]) == {
        "invoiced_net": "5070.00",
        "credit_notes_net": "0.00",
        "recognised": "4271.19",
        "deferred": "0.00",
        "prepaid_outstanding": "0.00",
        "refunded": "798.81",
        "reconciles": True,
    }
    march = delta.report("revenue", "2025-03")
    # 390 x 14/28 of the first month (02-15..03-15) + 217.97 of the pool.
    assert march.rows == [["USD", "revenue:all-inclusive", "412.97", "607.97"]]
    assert delta.report("trial_balance", "2025-11").rows == [
        ["USD", "cash_clearing", "4271.19", "0.00"],
        ["USD", "deferred_revenue", "0.00", "0.00"],
        ["USD", "prepaid_credit", "0.00", "0.00"],
        ["USD", "receivable", "0.00", "0.00"],
        ["USD", "refunds_payable", "0.00", "0.00"],
        ["USD", "revenue:all-inclusive", "0.00", "3472.39"],
        ["USD", "revenue:cancellation_fees", "0.00", "798.80"],
    ]


def test_reports_render_as_csv_json_and_table(mem_ledger: Ledger, clock: SimulatedClock) -> None:
    at(mem_ledger, clock, "2025-01-10T09:00:00Z")
    account = open_account(mem_ledger, plan="ticket", seats=2)
    mem_ledger.execute(account, AddPaymentMethod(kind="card", token="tok"))
    report = mem_ledger.report("invoices", "2025-01")
    parsed = list(csv.reader(io.StringIO(render_report(report, ReportFormat.CSV))))
    assert parsed[0] == report.columns
    assert parsed[1][:2] == ["2025-000001", "invoice"]
    document = json.loads(render_report(report, ReportFormat.JSON))
    # money as the API writes it: the amount as a string, and its currency
    usd = {"amount": "30.00", "currency": "USD"}
    assert document["rows"][0]["total"] == usd
    assert document["rows"][0]["number"] == "2025-000001"
    assert document["summary"] == {"USD invoice": {"count": 1, "total": usd}}
    table = render_report(report, ReportFormat.TABLE)
    assert "2025-000001" in table
    # the summary as people read it, not a Python mapping
    assert table.endswith("USD invoice:\n  count: 1\n  total: 30.00 USD\n")
    assert "{" not in table


def figures(summary: Any) -> Any:
    """A summary's totals as their amounts (the currency is in the headings)."""
    if isinstance(summary, Money):
        return str(summary.amount)
    if isinstance(summary, dict):
        return {key: figures(value) for key, value in summary.items()}
    return summary


def test_png_draws_mrr_over_time_and_the_aging_buckets(
    three_customers: Ledger, tmp_path: Path
) -> None:
    """The pictures are saved under var/artefacts/ for a person to look at."""
    facts = three_customers.facts()
    for name in ("mrr", "aging"):
        report = three_customers.report(name, "2025-03")
        picture = chart(facts, Month.parse("2025-03"), report)
        assert picture.series, name  # something to draw, in every currency of the report
        target = ARTEFACTS / f"report-{name}.png"
        draw(picture, target)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert target.stat().st_size > 10_000
    with pytest.raises(DomainError) as refused:
        chart(facts, Month.parse("2025-03"), three_customers.report("vat", "2025-03"))
    assert refused.value.code is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("name", "month", "field"),
    [("nonsense", "2025-03", "report"), ("mrr", "2025-13", "month"), ("mrr", "March", "month")],
)
def test_a_bad_report_request_is_refused_clearly(
    mem_ledger: Ledger, name: str, month: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        mem_ledger.report(name, month)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == field


@pytest.mark.parametrize("currency", ["GBP", "usd", "EURO"])
def test_a_report_in_a_currency_the_ledger_never_bills_in_is_refused(
    mem_ledger: Ledger, currency: str
) -> None:
    """Not an empty report, which would read as nothing to report."""
    with pytest.raises(DomainError) as refused:
        mem_ledger.report("mrr", "2025-03", currency)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "currency")


def test_the_report_command_refuses_a_store_file_that_does_not_exist(tmp_path: Path) -> None:
    """A mistyped path must not become a new, empty store printing an empty table."""
    typo = tmp_path / "typo.db"
    result = CliRunner().invoke(
        cli_app, ["report", "mrr", "--month", "2025-03", "--store", f"sqlite:///{typo}"]
    )
    assert result.exit_code == 2
    assert "no such store file" in result.output
    assert not typo.exists()


def test_the_report_command_refuses_an_unknown_currency(sqlite_store: str) -> None:
    Ledger(Settings(store=sqlite_store)).close()  # the store exists, and is empty
    args = ["report", "mrr", "--month", "2025-03", "--currency", "GBP", "--store", sqlite_store]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2
    assert "INVALID_INPUT: currency: must be one of ['EUR', 'USD'], not 'GBP'" in result.output


def test_a_bad_setting_is_refused_by_name_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting that is not what it takes exits 2 naming the variable, not a traceback,
    and never echoes the value (a token's secret, say)."""
    monkeypatch.setenv("SEATLEDGER_REGION", "MARS")
    monkeypatch.setenv(
        "SEATLEDGER_API_TOKENS", '{"ops": {"secret": "s3cret-value", "scopes": ["root"]}}'
    )
    result = CliRunner().invoke(
        cli_app, ["report", "mrr", "--month", "2025-03", "--store", f"sqlite:///{tmp_path}/x.db"]
    )
    assert result.exit_code == 2
    assert "INVALID_SETTING: SEATLEDGER_REGION:" in result.output
    assert "INVALID_SETTING: SEATLEDGER_API_TOKENS:" in result.output
    assert "s3cret-value" not in result.output and "Traceback" not in result.output
