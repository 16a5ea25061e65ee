"""Double-entry postings folded from financial events: per currency they sum to zero."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from domain.account import Account
from domain.invoicing import Invoice, PaymentStatus
from domain.model import Event

RECEIVABLE = "receivable"
CASH = "cash"
REFUNDS_PAYABLE = "refunds_payable"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    currency: str
    amount: Decimal  # debit positive, credit negative


PREPAID_LIABILITY = "prepaid_credit"
CANCELLATION_FEES = "revenue:cancellation_fees"


def _invoice(invoice: Invoice, sign: int) -> list[Posting]:
    """Receivable against revenue by plan (a prepaid pool: against the pool's liability,
    CREDIT-1) and VAT payable by country."""
    cur = invoice.currency
    postings = [
        Posting(RECEIVABLE, cur, sign * invoice.total),
        Posting(f"vat_payable:{invoice.vat_country}", cur, -sign * invoice.vat),
    ]
    for line in invoice.lines:
        account = (
            PREPAID_LIABILITY if line.rule == "CREDIT-1" else f"revenue:{invoice.plan or 'other'}"
        )
        postings.append(Posting(account, cur, -sign * line.amount))
    return [p for p in postings if p.amount != 0]


def postings_for(event: Event, currency_of: dict[object, str]) -> list[Posting]:
    if isinstance(event, Account.Opened):
        currency_of[event.originator_id] = event.currency
    if isinstance(event, Account.InvoiceIssued):
        return _invoice(event.invoice, +1)
    if isinstance(event, Account.InvoiceCorrected):
        return _invoice(event.credit_note, -1) + _invoice(event.reissued, +1)
    if isinstance(event, Account.PaymentSucceeded):
        cur = currency_of[event.originator_id]
        assert event.payment.status is PaymentStatus.SUCCEEDED
        return [
            Posting(CASH, cur, event.payment.amount),
            Posting(RECEIVABLE, cur, -event.payment.amount),
        ]
    if isinstance(event, Account.PoolClosed) and (event.refund or event.fee):
        cur = currency_of[event.originator_id]
        postings = [
            Posting(PREPAID_LIABILITY, cur, event.refund + event.fee),
            Posting(REFUNDS_PAYABLE, cur, -event.refund),
            Posting(CANCELLATION_FEES, cur, -event.fee),
        ]
        return [p for p in postings if p.amount != 0]
    return []


def trial_balance(events: Iterable[Event]) -> dict[str, dict[str, Decimal]]:
    """Per currency, the total of each ledger account."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    currency_of: dict[object, str] = {}
    for event in events:
        for posting in postings_for(event, currency_of):
            totals[posting.currency][posting.account] += posting.amount
    return {cur: dict(sorted(accounts.items())) for cur, accounts in sorted(totals.items())}
