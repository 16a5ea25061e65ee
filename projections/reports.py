"""Month-end reports, computed from the finance projection's rows.

Every figure is per currency (MON-1) and "as of the end of the month": entries effective
before the first instant of the next month, revenue earned on the month's days and before.
Amounts are exact decimals in the currency's minor unit.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.charts import Chart, Shape
from domain.accounting import (
    CANCELLATION_FEES,
    DEFERRED,
    PREPAID,
    REVENUE,
    Books,
    Document,
    MrrChanged,
    Posting,
    RefundPaid,
    Schedule,
    Settlement,
    recognition,
)
from domain.errors import invalid
from domain.money import MINOR_UNITS, Money, round_half_up

TEXT_COLUMNS = {"currency", "account", "number", "kind", "issued_at", "credits", "country"}
# The columns that are not amounts in the row's currency: the rest are money
NOT_MONEY = TEXT_COLUMNS | {"rate", "treatment", "at", "rule", "active_from", "ends_on"}
AGING_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+"))


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            year, month = (int(part) for part in str(text).split("-"))
            date(year, month, 1)
        except ValueError:
            raise invalid("month", f"must be YYYY-MM, not {text!r}") from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def end(self) -> date:
        """The first day after the month: the cut-off of everything 'as of month end'."""
        return self.next.first

    @property
    def start(self) -> datetime:
        """The month's first instant."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def cutoff(self) -> datetime:
        """The first instant after the month."""
        return self.next.start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class Facts:
    """Everything the reports read, loaded once."""

    postings: list[Posting]
    schedules: list[Schedule]
    documents: list[Document]
    settlements: list[Settlement]
    refunds: list[RefundPaid]
    mrr: list[MrrChanged]
    books: list[Books]


@dataclass
class Report:
    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # totals as Money, nested by heading

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def money(amount: Decimal, currency: str) -> str:
    return str(round_half_up(amount, currency))


def balanced(totals: dict[str, dict[str, Decimal]]) -> bool:
    """Per currency, the ledger accounts' totals sum to zero."""
    return all(sum(accounts.values(), Decimal(0)) == 0 for accounts in totals.values())


# ------------------------------------------------------------------ balances


def balances(facts: Facts, before: date, cutoff: datetime) -> dict[str, dict[str, Decimal]]:
    """Per currency, each ledger account's total: entries effective before `cutoff`, and
    revenue earned from deferred revenue and prepaid credit on the days before `before`."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for posting in facts.postings:
        if posting.at < cutoff:
            totals[posting.currency][posting.ledger_account] += posting.amount
    pools = [book for b in facts.books for book in b.pools if book.pool.granted_at < cutoff]
    schedules = [s for s in facts.schedules if s.issued_on < before]
    for currency, account, deferred, prepaid in recognition(schedules, pools, before):
        for source, amount in ((DEFERRED, deferred), (PREPAID, prepaid)):
            if amount:
                totals[currency][source] += amount
                totals[currency][account] -= amount
    return {
        cur: {name: amount for name, amount in sorted(accounts.items())}
        for cur, accounts in sorted(totals.items())
    }


def trial_balance(facts: Facts, month: Month) -> Report:
    report = Report(
        "trial_balance",
        f"Trial balance at the end of {month}",
        ["currency", "account", "debit", "credit"],
    )
    totals = balances(facts, month.end, month.cutoff)
    for currency, accounts in totals.items():
        for account, amount in accounts.items():
            debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
            report.rows.append([currency, account, money(debit, currency), money(credit, currency)])
    report.summary = {
        "balanced": balanced(totals),
        "totals": {
            cur: {
                "debit": Money.of(sum((a for a in acc.values() if a > 0), Decimal(0)), cur),
                "credit": Money.of(-sum((a for a in acc.values() if a < 0), Decimal(0)), cur),
            }
            for cur, acc in totals.items()
        },
    }
    return report


# ------------------------------------------------------------------ revenue


def revenue(facts: Facts, month: Month) -> Report:
    """Recognised in the month (by revenue account) and, at its end, still deferred; with
    the reconciliation: invoiced net - credit notes = recognised to date + deferred +
    prepaid credit outstanding + refunded (CREDIT-5)."""
    report = Report(
        "revenue",
        f"Recognised and deferred revenue, {month}",
        ["currency", "account", "recognised_in_month", "recognised_to_date"],
    )
    at_end = balances(facts, month.end, month.cutoff)
    at_start = balances(facts, month.first, month.start)
    reconciliation: dict[str, dict[str, Any]] = {}
    for currency, accounts in at_end.items():
        before = at_start.get(currency, {})
        earned = {
            a: -v for a, v in accounts.items() if a.startswith(REVENUE) or a == CANCELLATION_FEES
        }
        for account, to_date in earned.items():
            in_month = to_date + before.get(account, Decimal(0))
            report.rows.append(
                [currency, account, money(in_month, currency), money(to_date, currency)]
            )
        documents = [
            d for d in facts.documents if d.currency == currency and d.issued_at < month.cutoff
        ]
        invoiced = sum((d.net for d in documents if d.kind == "invoice"), Decimal(0))
        credited = sum((d.net for d in documents if d.kind == "credit_note"), Decimal(0))
        refunded = sum(
            (r.amount for r in facts.refunds if r.currency == currency and r.at < month.cutoff),
            Decimal(0),
        )
        recognised = sum(earned.values(), Decimal(0))
        deferred = -accounts.get(DEFERRED, Decimal(0))
        prepaid = -accounts.get(PREPAID, Decimal(0))
        reconciliation[currency] = {
            "invoiced_net": Money.of(invoiced, currency),
            "credit_notes_net": Money.of(credited, currency),
            "recognised": Money.of(recognised, currency),
            "deferred": Money.of(deferred, currency),
            "prepaid_outstanding": Money.of(prepaid, currency),
            "refunded": Money.of(refunded, currency),
            "reconciles": invoiced - credited == recognised + deferred + prepaid + refunded,
        }
    report.summary = reconciliation
    return report


# ------------------------------------------------------------------ MRR


MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


def mrr_at(changes: list[MrrChanged], cutoff: datetime) -> dict[Any, tuple[str, Decimal]]:
    """Each account's MRR in force just before `cutoff`."""
    state: dict[Any, tuple[str, Decimal]] = {}
    for change in changes:
        if change.at < cutoff:
            state[change.account_id] = (change.currency, change.mrr)
    return state


def mrr_movements(facts: Facts, month: Month) -> dict[str, dict[str, Decimal]]:
    """Per currency: MRR at the start, each movement, MRR at the end. An account going
    from 0 to something is new the first time, a reactivation after that."""
    opening, closing = mrr_at(facts.mrr, month.start), mrr_at(facts.mrr, month.cutoff)
    had_before = {c.account_id for c in facts.mrr if c.at < month.start and c.mrr > 0}
    figures: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(("opening", *MOVEMENTS, "closing"), Decimal(0))
    )
    for account_id in opening.keys() | closing.keys():
        currency = (closing.get(account_id) or opening[account_id])[0]
        was = opening.get(account_id, (currency, Decimal(0)))[1]
        now = closing.get(account_id, (currency, Decimal(0)))[1]
        row = figures[currency]
        row["opening"] += was
        row["closing"] += now
        if was == 0 and now > 0:
            row["reactivation" if account_id in had_before else "new"] += now
        elif was > 0 and now == 0:
            row["churn"] += was
        elif now > was:
            row["expansion"] += now - was
        elif now < was:
            row["contraction"] += was - now
    return dict(sorted(figures.items()))


def mrr(facts: Facts, month: Month) -> Report:
    report = Report(
        "mrr",
        f"MRR and ARR with movements, {month}",
        ["currency", "opening", *MOVEMENTS, "closing", "arr"],
    )
    for currency, row in mrr_movements(facts, month).items():
        figures = [money(row[k], currency) for k in ("opening", *MOVEMENTS, "closing")]
        report.rows.append([currency, *figures, money(row["closing"] * 12, currency)])
    return report


def mrr_series(facts: Facts, last: Month) -> dict[str, list[tuple[str, Decimal]]]:
    """MRR at every month end from the first change up to `last`, per currency."""
    if not facts.mrr:
        return {}
    month = Month.of(min(c.at for c in facts.mrr).date())
    series: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    currencies = sorted({c.currency for c in facts.mrr})
    while (month.year, month.month) <= (last.year, last.month):
        totals = dict.fromkeys(currencies, Decimal(0))
        for currency, value in mrr_at(facts.mrr, month.cutoff).values():
            totals[currency] += value
        for currency, value in totals.items():
            series[currency].append((str(month), value))
        month = month.next
    return dict(series)


def chart(facts: Facts, month: Month, report: Report) -> Chart:
    """The picture of a report: `mrr` as MRR at each month end up to `month`, per
    currency; `aging` as what is owed at the end of `month`, per bucket and currency."""
    if report.name == "mrr":
        series = mrr_series(facts, month)
        labels = next(([label for label, _ in points] for points in series.values()), [])
        return Chart(
            Shape.LINES,
            f"MRR at each month end, up to {month}",
            "MRR",
            tuple(labels),
            {currency: tuple(v for _, v in points) for currency, points in series.items()},
        )
    if report.name == "aging":
        return Chart(
            Shape.BARS,
            f"Receivables aging at the end of {month} (days since issue)",
            "owed",
            tuple(label for _, _, label in AGING_BUCKETS),
            {row[0]: tuple(Decimal(v) for v in row[1:-1]) for row in report.rows},
        )
    raise invalid("format", "png draws the mrr and aging reports")


# ------------------------------------------------------------------ documents


def _in_month(at: datetime, month: Month) -> bool:
    return (at.year, at.month) == (month.year, month.month)


def invoices(facts: Facts, month: Month) -> Report:
    report = Report(
        "invoices",
        f"Invoices and credit notes issued, {month}",
        ["number", "kind", "issued_at", "currency", "net", "vat", "total", "credits"],
    )
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for d in facts.documents:  # in the order issued (TIME-3)
        if _in_month(d.issued_at, month):
            report.rows.append(
                [
                    d.number,
                    d.kind,
                    d.issued_at.isoformat().replace("+00:00", "Z"),
                    d.currency,
                    money(d.net, d.currency),
                    money(d.vat, d.currency),
                    money(d.total, d.currency),
                    d.credits or "",
                ]
            )
            totals[f"{d.currency} {d.kind}"]["count"] += 1
            totals[f"{d.currency} {d.kind}"]["total"] += d.total
    report.summary = {
        key: {"count": int(v["count"]), "total": Money.of(v["total"], key.split(" ")[0])}
        for key, v in sorted(totals.items())
    }
    return report


def vat(facts: Facts, month: Month) -> Report:
    """VAT by country, rate and treatment; credit notes subtract (INV-4)."""
    report = Report(
        "vat",
        f"VAT by country and rate, {month}",
        ["currency", "country", "rate", "treatment", "net", "vat"],
    )
    groups: dict[tuple[str, str, Decimal, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    for d in facts.documents:
        if _in_month(d.issued_at, month):
            sign = -1 if d.kind == "credit_note" else 1
            group = groups[(d.currency, d.vat_country, d.vat_rate, d.vat_treatment)]
            group[0] += sign * d.net
            group[1] += sign * d.vat
    reverse: dict[str, Decimal] = defaultdict(Decimal)
    for (currency, country, rate, treatment), (net, tax) in sorted(groups.items()):
        report.rows.append(
            [currency, country, str(rate), treatment, money(net, currency), money(tax, currency)]
        )
        if treatment == "reverse_charge":
            reverse[currency] += net
    report.summary = {"reverse_charge_net": {c: Money.of(v, c) for c, v in sorted(reverse.items())}}
    return report


def refunds(facts: Facts, month: Month) -> Report:
    report = Report("refunds", f"Refunds, {month}", ["account", "at", "currency", "amount", "rule"])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in facts.refunds:
        if _in_month(r.at, month):
            report.rows.append(
                [
                    str(r.account_id),
                    r.at.isoformat().replace("+00:00", "Z"),
                    r.currency,
                    money(r.amount, r.currency),
                    r.rule,
                ]
            )
            totals[r.currency] += r.amount
    report.summary = {"total": {c: Money.of(v, c) for c, v in sorted(totals.items())}}
    return report


def open_amounts(facts: Facts, cutoff: datetime) -> list[tuple[Document, Decimal]]:
    """Invoices issued before `cutoff` with what is still owed on them then."""
    settled: dict[str, Decimal] = defaultdict(Decimal)
    for s in facts.settlements:
        if s.at < cutoff:
            settled[s.document] += s.amount
    found = []
    for d in facts.documents:
        if d.kind == "invoice" and d.issued_at < cutoff:
            owed = d.total - settled[d.number]
            if owed != 0:
                found.append((d, owed))
    return found


def aging(facts: Facts, month: Month) -> Report:
    """Receivables at month end by days since issue: 0-30, 31-60, 61-90, 90+."""
    report = Report(
        "aging",
        f"Receivables aging at the end of {month}",
        ["currency", *(label for _, _, label in AGING_BUCKETS), "total"],
    )
    last_day = month.end.toordinal() - 1
    buckets: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {label: Decimal(0) for _, _, label in AGING_BUCKETS}
    )
    for document, owed in open_amounts(facts, month.cutoff):
        age = last_day - document.issued_at.date().toordinal()
        for low, high, label in AGING_BUCKETS:
            if age >= low and (high is None or age <= high):
                buckets[document.currency][label] += owed
    for currency, row in sorted(buckets.items()):
        total = sum(row.values(), Decimal(0))
        report.rows.append(
            [currency, *(money(v, currency) for v in row.values()), money(total, currency)]
        )
    return report


def pools(facts: Facts, month: Month) -> Report:
    """Prepaid pools granted and not closed by month end, with what is left of each and
    where its window ends (CREDIT-3) as it stood then."""
    report = Report(
        "pools",
        f"Prepaid pools outstanding at the end of {month}",
        ["account", "currency", "amount", "active_from", "remaining", "ends_on"],
    )
    for books in facts.books:
        for book in books.pools:
            pool = book.pool
            if pool.granted_at >= month.cutoff:
                continue
            if pool.closed_at is not None and pool.closed_at < month.cutoff:
                continue
            active = pool.active_from if pool.active_from and pool.active_from < month.end else None
            ends_on = book.ends_on_as_of(month.end) if active else None
            report.rows.append(
                [
                    str(books.account_id),
                    pool.currency,
                    money(pool.amount, pool.currency),
                    str(active or ""),
                    money(book.remaining_before(month.end), pool.currency),
                    str(ends_on or ""),
                ]
            )
    return report


REPORTS: dict[str, Callable[[Facts, Month], Report]] = {
    "trial_balance": trial_balance,
    "mrr": mrr,
    "revenue": revenue,
    "invoices": invoices,
    "vat": vat,
    "refunds": refunds,
    "aging": aging,
    "pools": pools,
}


def report_of(facts: Facts, name: str, month: str, currency: str | None = None) -> Report:
    """A month-end report by its name, of one currency or all: the report's name, the
    month and the currency checked first, so a typo is refused rather than answered with
    an empty report, as if there were nothing to report."""
    if name not in REPORTS:
        raise invalid("report", f"must be one of {sorted(REPORTS)}, not {name!r}")
    if currency is not None and currency not in MINOR_UNITS:
        raise invalid("currency", f"must be one of {sorted(MINOR_UNITS)}, not {currency!r}")
    return only_currency(REPORTS[name](facts, Month.parse(month)), currency)


def combined(parts: Sequence[Facts]) -> Facts:
    """The facts of several stores as one (RES-1: a store per region), for reports over
    every region: each account's facts are in one store, so they are put side by side;
    documents in the order issued across the stores (TIME-3), each region's numbers
    distinct by their prefix (INV-1)."""
    return Facts(
        postings=[p for part in parts for p in part.postings],
        schedules=[s for part in parts for s in part.schedules],
        documents=sorted((d for part in parts for d in part.documents), key=lambda d: d.issued_at),
        settlements=[s for part in parts for s in part.settlements],
        refunds=sorted((r for part in parts for r in part.refunds), key=lambda r: r.at),
        mrr=[c for part in parts for c in part.mrr],
        books=[b for part in parts for b in part.books],
    )


def only_currency(report: Report, currency: str | None) -> Report:
    if currency is None:
        return report
    if "currency" not in report.columns:
        return report
    at = report.columns.index("currency")
    report.rows = [row for row in report.rows if row[at] == currency]
    return report


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    PNG = "png"


def report_document(report: Report) -> dict[str, Any]:
    """A report for programs: each row a mapping, its amounts as money (`{amount,
    currency}`, in the row's currency) and its other columns as text."""
    assert "currency" in report.columns, report.name

    def row(record: dict[str, str]) -> dict[str, Any]:
        currency = record["currency"]
        return {
            column: value if column in NOT_MONEY else Money(Decimal(value), currency).as_json()
            for column, value in record.items()
        }

    return {
        "report": report.name,
        "title": report.title,
        "columns": report.columns,
        "rows": [row(r) for r in report.records()],
        "summary": _as_json(report.summary),
    }


def _as_json(value: Any) -> Any:
    if isinstance(value, Money):
        return value.as_json()
    if isinstance(value, dict):
        return {key: _as_json(v) for key, v in value.items()}
    return value


def render_report(report: Report, fmt: ReportFormat) -> str:
    """A report as text: a table for people, CSV for spreadsheets, JSON for programs."""
    if fmt is ReportFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(report.columns)
        writer.writerows(report.rows)
        return out.getvalue()
    if fmt is ReportFormat.JSON:
        return json.dumps(report_document(report), indent=2, sort_keys=True) + "\n"
    assert fmt is ReportFormat.TABLE, f"{fmt} is not a text format"
    table = Table(title=report.title)
    for column in report.columns:
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
    for row in report.rows:
        table.add_row(*row)
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(table)
    for key, value in report.summary.items():
        for line in _summary_lines(key, value):
            console.print(line, highlight=False, markup=False)
    return console.export_text()


def _summary_lines(key: str, value: Any, depth: int = 0) -> list[str]:
    """A summary entry as people read it: nested totals indented under their heading
    (per currency, per account), not as a Python mapping."""
    pad = "  " * depth
    if isinstance(value, dict):
        nested = [line for k, v in value.items() for line in _summary_lines(str(k), v, depth + 1)]
        return [f"{pad}{key}:", *nested]
    if isinstance(value, bool):
        return [f"{pad}{key}: {'yes' if value else 'no'}"]
    if isinstance(value, list):
        return [f"{pad}{key}: {', '.join(map(str, value)) or '-'}"]
    return [f"{pad}{key}: {value}"]
