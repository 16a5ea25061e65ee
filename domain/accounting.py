"""Double-entry bookkeeping of the ledger's financial events, and revenue recognition.

Every financial event posts balanced entries to a chart of accounts, per currency (MON-1:
nothing is ever converted). Revenue is earned over the service it pays for:

- an invoice credits **deferred revenue**, recognised day by day over its service period
  (a period charge over its period, BILL-2/LOGIN-1; an annual proration from the day of the
  change to the end of the period, BILL-4); a charge in arrears (LTD-5) is earned at once;
- a prepaid pool (CREDIT-1) credits the **prepaid credit liability**, which burns into
  revenue exactly as the pool's value burns (CREDIT-2/3); at its end the rest is dropped
  into revenue (CREDIT-4) or refunded less the cancellation fee (CREDIT-5);
- a credit note (INV-2) reverses its invoice's entries and its recognition schedule, so a
  correction changes no month's revenue;
- a successful charge moves the receivable into cash clearing (PAY-2); a declined one
  moves no money and posts nothing (the invoice stays open, PAY-4); a refund is paid out
  of cash clearing (CREDIT-5).

Recognition is cumulative: what is earned before a day is rounded once (MON-2), and a
month's revenue is the difference of two such totals, so months add up exactly to the
whole. A document issued after its service began catches up on its issue day.

The fold is pure: `Books` is one account's running state, `Books.apply(event)` returns
the entries the event produces. Nothing here reads a clock or a store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

from pydantic import BaseModel

from domain.account import Account
from domain.billing import MONTHS_PER_CYCLE
from domain.catalog import Cycle
from domain.dates import days_between
from domain.invoicing import Invoice, InvoiceStatus
from domain.model import Event, copied
from domain.money import round_half_up
from domain.prepaid import Pool
from domain.suspension import AccountStatus

# The chart of accounts. Debits are positive, credits negative.
RECEIVABLE = "receivable"
CASH = "cash_clearing"
DEFERRED = "deferred_revenue"
PREPAID = "prepaid_credit"
REFUNDS_PAYABLE = "refunds_payable"
CANCELLATION_FEES = "revenue:cancellation_fees"
REVENUE = "revenue:"  # + plan
VAT_PAYABLE = "vat_payable:"  # + country


def revenue_account(plan: str | None) -> str:
    return REVENUE + (plan or "other")


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: UUID
    at: datetime
    currency: str
    ledger_account: str
    amount: Decimal  # debit positive, credit negative
    rule: str  # the TERMS.md rule the entry comes from
    document: str | None = None
    event: int = 0  # the version of the account's event that posted it


@dataclass(frozen=True, slots=True)
class Schedule:
    """One document line's revenue, earned evenly over the UTC days [start, end)."""

    document: str
    line: int
    account_id: UUID
    currency: str
    revenue_account: str
    amount: Decimal  # negative on a credit note
    start: date
    end: date
    issued_on: date
    rule: str
    event: int = 0  # the version of the account's event that issued the line

    def recognised_before(self, day: date) -> Decimal:
        """Earned on the days before `day`, rounded once (MON-2); nothing before the
        document's issue day is over, and then all of its past days at once."""
        if day <= self.issued_on:
            return round_half_up(Decimal(0), self.currency)
        total_days = days_between(self.start, self.end)
        if total_days <= 0:
            return self.amount
        elapsed = max(0, min(days_between(self.start, day), total_days))
        return round_half_up(Fraction(self.amount) * elapsed / total_days, self.currency)


@dataclass(frozen=True, slots=True)
class Document:
    """An issued invoice or credit note, as finance reports list it."""

    number: str
    kind: str
    account_id: UUID
    issued_at: datetime
    currency: str
    net: Decimal
    vat: Decimal
    total: Decimal
    vat_country: str
    vat_rate: Decimal
    vat_treatment: str
    credits: str | None


@dataclass(frozen=True, slots=True)
class Settlement:
    """Something that reduces what is owed on a document: a payment, a credit note, or a
    payment carried from a corrected invoice to its reissue (INV-2; may be negative)."""

    document: str
    at: datetime
    amount: Decimal
    rule: str
    event: int = 0  # the version of the account's event that settled it


@dataclass(frozen=True, slots=True)
class RefundPaid:
    account_id: UUID
    at: datetime
    currency: str
    amount: Decimal
    rule: str


@dataclass(frozen=True, slots=True)
class MrrChanged:
    account_id: UUID
    at: datetime
    currency: str
    mrr: Decimal  # exact (not rounded): reports round their totals once


@dataclass
class Entries:
    postings: list[Posting]
    schedules: list[Schedule]
    documents: list[Document]
    settlements: list[Settlement]
    refunds: list[RefundPaid]
    mrr: list[MrrChanged]

    @classmethod
    def none(cls) -> Entries:
        return cls([], [], [], [], [], [])

    def balanced(self) -> bool:
        """Double entry: the postings of one event sum to zero in each currency."""
        sums: dict[str, Decimal] = {}
        for posting in self.postings:
            sums[posting.currency] = sums.get(posting.currency, Decimal(0)) + posting.amount
        return all(total == 0 for total in sums.values())

    def came_from(self, version: int) -> None:
        """Names the event every posting, schedule and settlement came from."""
        self.postings = [replace(p, event=version) for p in self.postings]
        self.schedules = [replace(s, event=version) for s in self.schedules]
        self.settlements = [replace(s, event=version) for s in self.settlements]


class PoolBook(BaseModel):
    """A prepaid pool as the books see it: its state and the plan its burn is earned as."""

    pool: Pool
    plan: str

    def burnt_before(self, day: date) -> Decimal:
        """CREDIT-2/3: the pool's value burnt on the days before `day`, rounded once; from
        the day it closes on, exactly what its closing did not refund or drop."""
        pool = self.pool
        zero = round_half_up(Decimal(0), pool.currency)
        if pool.active_from is None or day <= pool.active_from:
            return zero
        if pool.closed_at is not None:
            day = min(day, pool.closed_at.date())
        return pool.amount - round_half_up(pool.value_on(day), pool.currency)

    def remaining_before(self, day: date) -> Decimal:
        return self.pool.amount - self.burnt_before(day)

    def ends_on_as_of(self, day: date) -> date | None:
        """CREDIT-3: the end of the window as it stood at the start of `day`."""
        ends_on = self.pool.ends_on
        if self.pool.active_from is not None and self.pool.year_days is not None:
            ends_on = self.pool.active_from + timedelta(days=self.pool.year_days)
        for change in self.pool.changes:
            if change.day < day:
                ends_on = change.new_end
        return ends_on


class Books(BaseModel):
    """One account's running state for bookkeeping: a fold over its events."""

    account_id: UUID
    currency: str
    plan: str
    cycle: Cycle
    status: AccountStatus
    period_end: datetime | None = None
    recurring: Decimal = Decimal(0)  # the recurring charge per cycle in force
    charged_rate: Decimal = Decimal(0)
    lifetime: bool = False
    pools: list[PoolBook] = []
    mrr: Decimal = Decimal(0)
    last_spans: dict[str, tuple[date, date]] = {}  # the last invoice's line spans (INV-2)

    @classmethod
    def opened(cls, event: Account.Opened) -> Books:
        return cls(
            account_id=event.originator_id,
            currency=event.currency,
            plan=event.plan,
            cycle=event.cycle,
            status=event.status,
        )

    # -------------------------------------------------------------- the fold

    def apply(self, event: Event) -> Entries:
        entries = Entries.none()
        self._follow(event)
        if isinstance(event, Account.InvoiceIssued):
            self._issue(event.invoice, +1, entries)
        elif isinstance(event, Account.InvoiceCorrected):
            self._correct(event, entries)
        elif isinstance(event, Account.PaymentSucceeded):
            self._paid(event, entries)
        elif isinstance(event, Account.PoolClosed):
            self._pool_closed(event, entries)
        elif isinstance(event, Account.RefundIssued):
            self._refunded(event, entries)
        mrr = self.current_mrr()
        if mrr != self.mrr:
            self.mrr = mrr
            entries.mrr.append(MrrChanged(self.account_id, event.effective_at, self.currency, mrr))
        # A programmer error, not bad input: every rule that posts must post both legs.
        assert entries.balanced(), (type(event).__name__, entries.postings)
        entries.came_from(event.originator_version)
        return entries

    def _follow(self, event: Event) -> None:
        """The state that later entries and the MRR depend on."""
        if isinstance(event, Account.PeriodStarted):
            self.period_end = event.period.end
            self.charged_rate = event.rate
            if self.status is AccountStatus.TRIALING:
                self.status = AccountStatus.ACTIVE
        elif isinstance(event, Account.RateRaised):
            self.recurring += event.rate - self.charged_rate
            self.charged_rate = event.rate
        elif isinstance(event, Account.PlanChanged):
            self.plan = event.plan
            if event.free:
                self.recurring = Decimal(0)
            if event.trial_ends_at is not None:
                self.status = AccountStatus.TRIALING
            elif event.free and self.status is AccountStatus.TRIALING:
                self.status = AccountStatus.ACTIVE
        elif isinstance(event, Account.CodeRedeemed):
            self.plan = event.plan
            self.lifetime = True
            if self.status is AccountStatus.TRIALING:
                self.status = AccountStatus.ACTIVE
        elif isinstance(event, Account.Suspended):
            self.status = AccountStatus.SUSPENDED
        elif isinstance(event, Account.SuspensionReasonCleared) and event.resumes_as:
            self.status = event.resumes_as
        elif isinstance(event, Account.Cancelled):
            self.status = AccountStatus.CANCELLED
        elif isinstance(event, Account.Deleted):
            self.status = AccountStatus.DELETED
        elif isinstance(event, Account.PrepaidCreditGranted):
            self.pools.append(PoolBook(pool=copied(event.pool), plan=self.plan))
        elif isinstance(event, Account.PoolActivated | Account.PoolRateChanged):
            self._follow_pool(event)
        elif isinstance(event, Account.PoolClosed):
            self.pools[-1].pool.closed_at = event.effective_at

    def _follow_pool(self, event: Account.PoolActivated | Account.PoolRateChanged) -> None:
        pool = self.pools[-1].pool
        if isinstance(event, Account.PoolActivated):
            pool.active_from = event.active_from
            pool.initial_rate = event.initial_rate
            pool.year_days = event.year_days
            pool.segments = [(event.active_from, event.initial_rate)]
            pool.ends_on = event.ends_on
            if self.status is AccountStatus.TRIALING:
                self.status = AccountStatus.ACTIVE
        else:
            change = event.rate_change
            pool.segments.append((change.day, change.new_rate))
            pool.ends_on = change.new_end
            pool.changes.append(change)

    def current_mrr(self) -> Decimal:
        """Monthly recurring revenue in force (interpretation): nothing unless the account
        is active; a running pool counts its burn per month (A / 12 x rate / initial
        rate, CREDIT-2); a lifetime deal counts nothing (LTD-5 bills usage in arrears);
        otherwise the period charge in force, per month (an annual one / 12). Each account's
        MRR is rounded half up to the cent, so that every figure of the MRR report is a sum
        of cents and its movements add up to the closing MRR exactly."""
        if self.status is not AccountStatus.ACTIVE:
            return round_half_up(Decimal(0), self.currency)
        running = [p.pool for p in self.pools if p.pool.is_active]
        if running:
            pool = running[-1]
            assert pool.initial_rate
            burn = Fraction(pool.amount) * Fraction(pool.rate) / Fraction(pool.initial_rate) / 12
            return round_half_up(burn, self.currency)
        if self.lifetime:
            return round_half_up(Decimal(0), self.currency)
        return round_half_up(Fraction(self.recurring) / MONTHS_PER_CYCLE[self.cycle], self.currency)

    # ----------------------------------------------------------- documents

    def _issue(self, invoice: Invoice, sign: int, entries: Entries) -> None:
        """INV-1/INV-4: receivable against VAT payable by country and, per line, deferred
        revenue (its schedule) or the prepaid credit liability (CREDIT-1)."""
        entries.documents.append(_document(self.account_id, invoice))
        if invoice.period_start is not None and sign > 0 and invoice.reissue_of is None:
            self.recurring = sum(
                (ln.amount for ln in invoice.lines if ln.rule in ("BILL-2", "LOGIN-1")),
                Decimal(0),
            )
        at, cur, number = invoice.issued_at, invoice.currency, invoice.number
        post = entries.postings.append
        post(Posting(self.account_id, at, cur, RECEIVABLE, sign * invoice.total, "INV-1", number))
        if invoice.vat:
            account = VAT_PAYABLE + invoice.vat_country
            post(Posting(self.account_id, at, cur, account, -sign * invoice.vat, "INV-4", number))
        spans: dict[str, tuple[date, date]] = {}
        source = invoice.credits or invoice.reissue_of
        for index, line in enumerate(invoice.lines):
            if line.rule == "CREDIT-1":
                amount = -sign * line.amount
                post(Posting(self.account_id, at, cur, PREPAID, amount, "CREDIT-1", number))
                continue
            key = str(index)
            span = (self.last_spans.get(key) if source else None) or self._span(invoice, line.rule)
            spans[key] = span
            post(
                Posting(self.account_id, at, cur, DEFERRED, -sign * line.amount, line.rule, number)
            )
            entries.schedules.append(
                Schedule(
                    document=number,
                    line=index,
                    account_id=self.account_id,
                    currency=cur,
                    revenue_account=revenue_account(invoice.plan),
                    amount=sign * line.amount,
                    start=span[0],
                    end=span[1],
                    issued_on=at.date(),
                    rule=line.rule,
                )
            )
        if sign > 0:
            self.last_spans = spans

    def _span(self, invoice: Invoice, rule: str) -> tuple[date, date]:
        """The service a line pays for: its period (BILL-2, LOGIN-1); from the change to the
        end of the running period (BILL-4); otherwise, as in arrears (LTD-5), its issue day
        alone, so it is earned once that day is over."""
        issued = invoice.issued_at.date()
        if invoice.period_start is not None and invoice.period_end is not None:
            return invoice.period_start.date(), invoice.period_end.date()
        if rule == "BILL-4" and self.period_end is not None:
            return issued, max(self.period_end.date(), issued + timedelta(days=1))
        return issued, issued + timedelta(days=1)

    def _correct(self, event: Account.InvoiceCorrected, entries: Entries) -> None:
        """INV-2: the credit note reverses the invoice in full; what was paid on it is
        applied to the reissued invoice (no money moves)."""
        credit_note, reissued = event.credit_note, event.reissued
        original = credit_note.credits
        assert original is not None
        at = event.effective_at
        self._issue(credit_note, -1, entries)
        self._issue(reissued, +1, entries)
        entries.settlements.append(Settlement(original, at, credit_note.total, "INV-2"))
        if reissued.status is InvoiceStatus.PAID:
            entries.settlements.append(Settlement(original, at, -reissued.total, "INV-2"))
            entries.settlements.append(Settlement(reissued.number, at, reissued.total, "INV-2"))

    # ------------------------------------------------------------- money

    def _paid(self, event: Account.PaymentSucceeded, entries: Entries) -> None:
        """PAY-2: a successful charge moves the receivable into cash clearing."""
        payment = event.payment
        at, cur = event.effective_at, self.currency
        entries.postings += [
            Posting(self.account_id, at, cur, CASH, payment.amount, "PAY-2", payment.invoice),
            Posting(
                self.account_id, at, cur, RECEIVABLE, -payment.amount, "PAY-2", payment.invoice
            ),
        ]
        entries.settlements.append(Settlement(payment.invoice, at, payment.amount, "PAY-2"))

    def _pool_closed(self, event: Account.PoolClosed, entries: Entries) -> None:
        """CREDIT-4: what is left through the day rounding is dropped into revenue.
        CREDIT-5: on cancellation the rest is refunded less the cancellation fee."""
        book = self.pools[-1]
        at, cur = event.effective_at, self.currency
        invoice = book.pool.invoice
        candidates = [
            (REFUNDS_PAYABLE, -event.refund, "CREDIT-5"),
            (CANCELLATION_FEES, -event.fee, "CREDIT-5"),
            (revenue_account(book.plan), -event.dropped, "CREDIT-4"),
        ]
        lines = [(account, amount, rule) for account, amount, rule in candidates if amount]
        left = -sum((amount for _, amount, _ in lines), Decimal(0))
        if left:
            rule = "CREDIT-5" if event.refund or event.fee else "CREDIT-4"
            lines.append((PREPAID, left, rule))
        entries.postings += [
            Posting(self.account_id, at, cur, account, amount, rule, invoice)
            for account, amount, rule in lines
        ]

    def _refunded(self, event: Account.RefundIssued, entries: Entries) -> None:
        refund = event.refund
        at, cur = event.effective_at, self.currency
        entries.postings += [
            Posting(self.account_id, at, cur, REFUNDS_PAYABLE, refund.amount, refund.rule),
            Posting(self.account_id, at, cur, CASH, -refund.amount, refund.rule),
        ]
        entries.refunds.append(RefundPaid(self.account_id, at, cur, refund.amount, refund.rule))


def _document(account_id: UUID, invoice: Invoice) -> Document:
    return Document(
        number=invoice.number,
        kind=invoice.kind.value,
        account_id=account_id,
        issued_at=invoice.issued_at,
        currency=invoice.currency,
        net=invoice.net,
        vat=invoice.vat,
        total=invoice.total,
        vat_country=invoice.vat_country,
        vat_rate=invoice.vat_rate,
        vat_treatment=invoice.vat_treatment.value,
        credits=invoice.credits,
    )


def recognition(
    schedules: list[Schedule], pools: list[PoolBook], before: date
) -> list[tuple[str, str, Decimal, Decimal]]:
    """Per (currency, revenue account): what deferred revenue and prepaid credit have
    turned into revenue on the days before `before` -> (currency, account, from deferred,
    from prepaid)."""
    deferred: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    prepaid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for schedule in schedules:
        deferred[schedule.currency, schedule.revenue_account] += schedule.recognised_before(before)
    for book in pools:
        prepaid[book.pool.currency, revenue_account(book.plan)] += book.burnt_before(before)
    return [
        (currency, account, deferred[currency, account], prepaid[currency, account])
        for currency, account in sorted(deferred.keys() | prepaid.keys())
    ]
