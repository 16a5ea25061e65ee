"""What an account owes and holds: its balance (receivable, prepaid credit, paid,
refunded), and the cap of the vendor's liability to it (LIAB-1)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from domain.dates import add_months
from domain.invoicing import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from domain.money import Money, round_half_up
from domain.numbering import DocumentKind
from domain.prepaid import Pool

# LIAB-1: the floor of the liability cap, in the account's currency.
LIABILITY_FLOOR = Decimal(100)


class Balances:
    """The account's part that sums what it was invoiced, paid and refunded."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        currency: str
        invoices: list[Invoice]
        payments: list[Payment]
        refunds: list[Refund]

        @property
        def open_pool(self) -> Pool | None: ...
        def money(self, amount: Decimal | int) -> Money: ...

    def balance(self, at: datetime) -> dict[str, Money]:
        """Receivable = invoiced - credited - paid; paid and refunded as recorded; the prepaid
        credit left in an open pool (CREDIT-3)."""
        zero = Money.zero(self.currency)
        invoiced = sum(
            (self.money(i.total) for i in self.invoices if i.kind is DocumentKind.INVOICE), zero
        )
        credited = sum(
            (self.money(i.total) for i in self.invoices if i.kind is DocumentKind.CREDIT_NOTE), zero
        )
        paid = sum(
            (self.money(p.amount) for p in self.payments if p.status is PaymentStatus.SUCCEEDED),
            zero,
        )
        refunded = sum((self.money(r.amount) for r in self.refunds), zero)
        return {
            "receivable": invoiced - credited - paid,
            "prepaid_credit": Money.of(self.open_pool.remaining_on(at.date()), self.currency)
            if self.open_pool is not None
            else zero,
            "paid": paid,
            "refunded": refunded,
        }

    def liability_cap(self, claim_date: date) -> Money:
        """LIAB-1 (interpretation of "or"): the greater of the fees for the one month before
        the claim date and 100 in the account's currency. The month's fee is the charge of the
        period in force on the day before the claim date; for annual billing 1/12 of it,
        rounded half up."""
        day = claim_date - timedelta(days=1)
        in_force = [
            i
            for i in self.invoices
            if i.kind is DocumentKind.INVOICE
            and i.status is not InvoiceStatus.CREDITED
            and i.period_start is not None
            and i.period_end is not None
            and i.period_start.date() <= day < i.period_end.date()
        ]
        fee = Decimal(0)
        if in_force:
            charge = in_force[-1]
            assert charge.period_start is not None and charge.period_end is not None
            annual = add_months(charge.period_start, 12) == charge.period_end
            fee = round_half_up(Fraction(charge.net) / (12 if annual else 1), self.currency)
        return self.money(max(fee, LIABILITY_FLOOR))
