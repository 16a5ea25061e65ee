"""What the ledger's queries answer: each shape built in one place from the aggregate it
describes, for the API, the CLI and the subject's export alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from adapters.failures import Failure
from domain.account import Account, AccountStatus
from domain.dates import iso
from domain.invoicing import Invoice
from domain.money import Money
from domain.schedule import SetAside
from domain.subjects import Subject

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list read by key: its items, and the cursor that reads on from the
    last of them (None: there is no more)."""

    items: list[T]
    next_cursor: str | None


def instant(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def account_summary(
    account_id: str, status: str, plan: str, currency: str, cycle: str
) -> dict[str, Any]:
    """An account in a list: what it is filtered by (ledger.listings)."""
    return {"id": account_id, "status": status, "plan": plan, "currency": currency, "cycle": cycle}


def account_view(a: Account) -> dict[str, Any]:
    period = a.period if a.status is not AccountStatus.TRIALING else None
    return {
        "id": str(a.id),
        "status": a.status.value,
        "plan": a.plan,
        "cycle": a.cycle.value,
        "seats": a.seats,
        "suspension_reasons": sorted(r.value for r in a.suspension_reasons),
        "trial_ends_at": instant(a.trial_ends_at),
        "period_start": instant(period.start if period else None),
        "period_end": instant(period.end if period else None),
        "region": a.region,
        "slug": a.slug,
        "currency": a.currency,
        "country": a.country,
        "language": a.language.value,
        "cancellation_effective_at": instant(a.cancellation_effective_at),
    }


def invoice_view(i: Invoice) -> dict[str, Any]:
    def money(amount: Decimal) -> str:
        return str(i.money(amount))

    return {
        "number": i.number,
        "kind": i.kind.value,
        "issued_at": iso(i.issued_at),
        "lines": [
            {"description": line.description, "amount": money(line.amount), "rule": line.rule}
            for line in i.lines
        ],
        "net": money(i.net),
        "vat": money(i.vat),
        "vat_rate": f"{i.vat_rate}%",
        "vat_treatment": i.vat_treatment.value,
        "total": money(i.total),
        "status": i.status.value,
        "credits": i.credits,
        "reissue_of": i.reissue_of,
        "billed_to": (
            {"name": i.billed_to.name, "company": i.billed_to.company} if i.billed_to else None
        ),
    }


def payment_views(a: Account) -> list[dict[str, Any]]:
    return [
        {
            "invoice": p.invoice,
            "amount": str(a.money(p.amount)),
            "status": p.status.value,
            "at": iso(p.at),
            "attempt": p.attempt,
        }
        for p in a.payments
    ]


def refund_views(a: Account) -> list[dict[str, Any]]:
    return [{"amount": str(a.money(r.amount)), "at": iso(r.at), "rule": r.rule} for r in a.refunds]


def notification_views(a: Account) -> list[dict[str, Any]]:
    return [
        {"kind": n.kind.value, "to": n.to, "at": iso(n.at), "subject": n.subject, "id": str(n.id)}
        for n in a.notifications
    ]


def window_view(account: Account, at: datetime) -> dict[str, Any] | None:
    """CREDIT-3: active_from, remaining at `at`, ends_on, and how each change moved the end."""
    window = account.credit_window(at)
    if window is None:
        return None
    return {
        "active_from": str(window.active_from),
        "remaining": str(Money.of(window.remaining, account.currency)),
        "ends_on": str(window.ends_on),
        "changes": [
            {
                "day": str(c.day),
                "old_rate": str(account.money(c.old_rate)),
                "new_rate": str(account.money(c.new_rate)),
                "remaining": str(account.money(c.remaining)),
                "old_end": str(c.old_end),
                "new_end": str(c.new_end),
            }
            for c in window.changes
        ],
    }


def subject_view(found: Subject, *, erasure_pending: bool) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "name": found.name,
        "email": found.email,
        "consents": [p.value for p in found.in_force()],
        "erased": found.erased,
        "erased_at": instant(found.erased_at),
        "erasure_pending": erasure_pending,
        "restricted": found.restricted,
        "objections": [p.value for p in found.objections],
        "account": str(found.account_id) if found.account_id else None,
        "requests": [
            {
                "number": r.number,
                "right": r.right.value,
                "received_at": iso(r.received_at),
                "due_on": str(r.due_on),
                "answered_at": instant(r.answered_at),
                "answer": r.answer,
            }
            for r in found.requests
        ],
    }


def held_view(aggregate_id: UUID, held: SetAside) -> dict[str, Any]:
    return {
        "key": held.key,
        "aggregate": str(aggregate_id),
        "kind": held.kind.name.lower(),
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
