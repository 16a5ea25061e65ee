"""What the ledger's queries answer: each shape built in one place from the aggregate it
describes, for the API, the CLI and the subject's export alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from adapters.failures import Failure
from domain.account import Account
from domain.catalog import Cycle
from domain.dates import iso
from domain.invoicing import Invoice
from domain.money import Money
from domain.pricing import PriceChange, PriceNotice
from domain.schedule import SetAside
from domain.subjects import Subject
from domain.suspension import AccountStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list read by key: its items, and the cursor that reads on from the
    last of them (None: there is no more)."""

    items: list[T]
    next_cursor: str | None


def instant(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MoneyView(View):
    """Money as the API and the reports write it (Money.as_json)."""

    amount: str
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyView:
        return cls.model_validate(money.as_json())


class AccountView(View):
    id: UUID
    status: AccountStatus
    plan: str
    cycle: Cycle
    seats: int
    suspension_reasons: list[str]
    trial_ends_at: str | None
    period_start: str | None
    period_end: str | None
    region: str
    slug: str
    currency: str
    country: str
    language: str
    cancellation_effective_at: str | None


class AccountSummaryView(View):
    """An account in a list: what it is filtered by (ledger.listings)."""

    id: UUID
    status: AccountStatus
    plan: str
    currency: str
    cycle: Cycle


def account_summary(
    account_id: str, status: str, plan: str, currency: str, cycle: str
) -> dict[str, Any]:
    return AccountSummaryView.model_validate(
        {"id": account_id, "status": status, "plan": plan, "currency": currency, "cycle": cycle}
    ).model_dump(mode="json")


def account_view(a: Account) -> dict[str, Any]:
    period = a.period if a.status is not AccountStatus.TRIALING else None
    return AccountView(
        id=a.id,
        status=a.status,
        plan=a.plan,
        cycle=a.cycle,
        seats=a.seats,
        suspension_reasons=sorted(r.value for r in a.suspension_reasons),
        trial_ends_at=instant(a.trial_ends_at),
        period_start=instant(period.start if period else None),
        period_end=instant(period.end if period else None),
        region=a.region,
        slug=a.slug,
        currency=a.currency,
        country=a.country,
        language=a.language.value,
        cancellation_effective_at=instant(a.cancellation_effective_at),
    ).model_dump(mode="json")


class InvoiceLineView(View):
    description: str
    amount: MoneyView
    rule: str


class BilledToView(View):
    name: str
    company: str | None


class InvoiceView(View):
    number: str
    account: UUID
    kind: str
    issued_at: str
    lines: list[InvoiceLineView]
    net: MoneyView
    vat: MoneyView
    vat_rate: str
    vat_treatment: str
    total: MoneyView
    status: str
    credits: str | None
    reissue_of: str | None
    billed_to: BilledToView | None


def invoice_view(account_id: UUID, i: Invoice) -> dict[str, Any]:
    def money(amount: Decimal) -> MoneyView:
        return MoneyView.of(i.money(amount))

    return InvoiceView(
        number=i.number,
        account=account_id,
        kind=i.kind.value,
        issued_at=iso(i.issued_at),
        lines=[
            InvoiceLineView(description=line.description, amount=money(line.amount), rule=line.rule)
            for line in i.lines
        ],
        net=money(i.net),
        vat=money(i.vat),
        vat_rate=f"{i.vat_rate}%",
        vat_treatment=i.vat_treatment.value,
        total=money(i.total),
        status=i.status.value,
        credits=i.credits,
        reissue_of=i.reissue_of,
        billed_to=(
            BilledToView(name=i.billed_to.name, company=i.billed_to.company)
            if i.billed_to
            else None
        ),
    ).model_dump(mode="json")


class PaymentView(View):
    invoice: str
    amount: MoneyView
    status: str
    at: str
    attempt: int


def payment_views(a: Account) -> list[dict[str, Any]]:
    return [
        PaymentView(
            invoice=p.invoice,
            amount=MoneyView.of(a.money(p.amount)),
            status=p.status.value,
            at=iso(p.at),
            attempt=p.attempt,
        ).model_dump(mode="json")
        for p in a.payments
    ]


class RefundView(View):
    amount: MoneyView
    at: str
    rule: str


def refund_views(a: Account) -> list[dict[str, Any]]:
    return [
        RefundView(amount=MoneyView.of(a.money(r.amount)), at=iso(r.at), rule=r.rule).model_dump(
            mode="json"
        )
        for r in a.refunds
    ]


class NotificationView(View):
    id: UUID
    kind: str
    to: str | None  # None where the reader may not see owners' addresses
    at: str
    subject: str | None  # what it is about: an invoice number, a price change, ...


def notification_views(a: Account) -> list[dict[str, Any]]:
    return [
        NotificationView(
            id=n.id, kind=n.kind.value, to=n.to, at=iso(n.at), subject=n.subject
        ).model_dump(mode="json")
        for n in a.notifications
    ]


class BalanceView(View):
    receivable: MoneyView
    prepaid_credit: MoneyView
    paid: MoneyView
    refunded: MoneyView


def balance_view(found: dict[str, Money]) -> dict[str, Any]:
    return BalanceView.model_validate(
        {name: MoneyView.of(amount) for name, amount in found.items()}
    ).model_dump(mode="json")


class LiabilityCapView(View):
    cap: MoneyView


def liability_cap_view(cap: Money) -> dict[str, Any]:
    return LiabilityCapView(cap=MoneyView.of(cap)).model_dump(mode="json")


class WindowChangeView(View):
    day: date
    old_rate: MoneyView
    new_rate: MoneyView
    remaining: MoneyView
    old_end: date
    new_end: date


class CreditWindowView(View):
    """CREDIT-3: an open prepaid pool's window."""

    account: UUID
    slug: str
    active_from: date
    remaining: MoneyView
    ends_on: date
    changes: list[WindowChangeView]


def window_view(account: Account, at: datetime) -> dict[str, Any] | None:
    """CREDIT-3: active_from, remaining at `at`, ends_on, and how each change moved the end."""
    window = account.credit_window(at)
    if window is None:
        return None
    money = account.money
    return CreditWindowView(
        account=account.id,
        slug=account.slug,
        active_from=window.active_from,
        remaining=MoneyView.of(Money.of(window.remaining, account.currency)),
        ends_on=window.ends_on,
        changes=[
            WindowChangeView(
                day=c.day,
                old_rate=MoneyView.of(money(c.old_rate)),
                new_rate=MoneyView.of(money(c.new_rate)),
                remaining=MoneyView.of(money(c.remaining)),
                old_end=c.old_end,
                new_end=c.new_end,
            )
            for c in window.changes
        ],
    ).model_dump(mode="json")


class ReportView(View):
    """A month-end report for programs (projections.reports.report_document)."""

    report: str
    title: str
    columns: list[str]
    rows: list[dict[str, MoneyView | str]]
    summary: dict[str, Any]


class PriceChangeView(View):
    """BILL-6: an announced price change, and how far its notices to owners went."""

    number: int
    plan: str
    currency: str
    cycle: Cycle
    price: MoneyView
    effective_on: date
    announced_at: str
    # affected or not, each judged by its own state; None: announced before notices went
    # in batches, when every owner was told in the announcement's own transaction
    accounts_gone_through: int | None
    notices_finished: bool


def price_change_view(
    number: int, change: PriceChange, notice: PriceNotice | None
) -> dict[str, Any]:
    return PriceChangeView(
        number=number,
        plan=change.plan,
        currency=change.currency,
        cycle=change.cycle,
        price=MoneyView.of(Money(change.price, change.currency)),
        effective_on=change.effective_on,
        announced_at=iso(change.announced_at),
        accounts_gone_through=notice.notified if notice is not None else None,
        notices_finished=notice.finished if notice is not None else True,
    ).model_dump(mode="json")


def trial_balance_view(is_balanced: bool, totals: dict[str, dict[str, Decimal]]) -> dict[str, Any]:
    """`balanced`, and per currency each ledger account's total (SCENARIOS.md `ledger`)."""
    view: dict[str, Any] = {"balanced": is_balanced}
    for currency, accounts in totals.items():
        view[currency] = {
            name: Money.of(amount, currency).as_json() for name, amount in accounts.items()
        }
    return view


class SubjectRequestView(View):
    number: int
    right: str
    received_at: str
    due_on: str
    answered_at: str | None
    answer: str | None


class SubjectView(View):
    """GDPR: a data subject, its consents in force, its requests and whether it was erased."""

    id: UUID
    name: str | None  # None once erased
    email: str | None
    consents: list[str]
    erased: bool
    erased_at: str | None
    erasure_pending: bool
    restricted: bool
    objections: list[str]
    account: UUID | None
    requests: list[SubjectRequestView]


class RetentionView(View):
    """GDPR-2/5: a category of the subject's data, when it falls due for erasure and why."""

    category: str
    due_on: str | None
    basis: str


class DeadlineView(View):
    """GDPR-2/3/5: a retention or request deadline, and whether its work was done."""

    subject: UUID
    category: str
    due_on: str
    basis: str
    done: bool


class SetAsideView(View):
    """Due work that raised and was set aside (or an aggregate this code cannot read)."""

    key: str
    aggregate: UUID
    kind: str
    due_at: str | None
    state: str
    attempts: int
    error: str
    where: str
    failed_at: str | None


class RetriedView(View):
    """A set-aside task retried and carried out."""

    key: str
    aggregate: UUID
    state: str


class OutboxView(View):
    """A notification's delivery state: ids and states, no addresses."""

    notification: UUID
    account: UUID
    kind: str
    state: str
    attempts: int
    next_attempt_at: str | None
    sent_at: str | None
    last_error: str | None


def subject_view(found: Subject, *, erasure_pending: bool) -> dict[str, Any]:
    return SubjectView(
        id=found.id,
        name=found.name,
        email=found.email,
        consents=[p.value for p in found.in_force()],
        erased=found.erased,
        erased_at=instant(found.erased_at),
        erasure_pending=erasure_pending,
        restricted=found.restricted,
        objections=[p.value for p in found.objections],
        account=found.account_id,
        requests=[
            SubjectRequestView(
                number=r.number,
                right=r.right.value,
                received_at=iso(r.received_at),
                due_on=str(r.due_on),
                answered_at=instant(r.answered_at),
                answer=r.answer,
            )
            for r in found.requests
        ],
    ).model_dump(mode="json")


def held_view(aggregate_id: UUID, held: SetAside) -> dict[str, Any]:
    return {
        "key": held.key,
        "aggregate": str(aggregate_id),
        "kind": held.kind.value,
        "due_at": iso(held.due_at),
        "state": "set_aside",
        "attempts": held.attempts,
        "error": held.error,
        "where": held.where,
        "failed_at": iso(held.at),
    }


def unreadable_view(aggregate_id: UUID, failure: Failure) -> dict[str, Any]:
    return {
        "key": f"unreadable:{aggregate_id}",
        "aggregate": str(aggregate_id),
        "kind": "unreadable",
        "due_at": None,
        "state": "set_aside",
        "attempts": 1,
        "error": failure.error,
        "where": failure.where,
        "failed_at": None,
    }
