"""Charging an account's invoices: which attempts are due (PAY-2), the receipt of a
successful charge (PAY-3), and the retries of a declined one, until the account is
suspended (PAY-4)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.dates import DAY
from domain.invoicing import (
    Invoice,
    InvoiceStatus,
    NotificationKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from domain.model import Event, TEvent
from domain.numbering import Numbering
from domain.policy import Terms
from domain.schedule import Task, TaskKind
from domain.suspension import SuspensionReason

# PAY-4 (interpretation): retries 1, 3 and 7 days after the first decline.
RETRY_DELAYS_DAYS = (1, 3, 7)


class Payments:
    """The account's part that records the gateway's answers to its charges."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        payment_method: PaymentMethod | None
        PaymentSucceeded: ClassVar[type[Event]]
        PaymentDeclined: ClassVar[type[Event]]

        @property
        def is_closed(self) -> bool: ...
        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def notify(
            self, kind: NotificationKind, at: datetime, subject: str | None = None
        ) -> None: ...
        def invoice(self, number: str) -> Invoice: ...
        def open_invoices(self) -> list[Invoice]: ...
        def add_suspension(self, reason: SuspensionReason, at: datetime) -> None: ...
        def clear_suspension(
            self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
        ) -> None: ...

    def record_payment(
        self,
        *,
        invoice_number: str,
        approved: bool,
        reference: str,
        at: datetime,
        terms: Terms,
        numbering: Numbering,
    ) -> None:
        """PAY-3: a receipt after every successful charge. PAY-4 (interpretation): a declined
        charge is retried 1, 3 and 7 days after the first decline, each decline notifying the
        owner; when the last retry fails the account is suspended (payment_failed). The
        invoice stays open until paid; when every open invoice is paid, payment_failed is
        cleared."""
        invoice = self.invoice(invoice_number)
        assert invoice.status is InvoiceStatus.OPEN, "only open invoices are charged"
        payment = Payment(
            invoice=invoice.number,
            amount=invoice.total,
            status=PaymentStatus.SUCCEEDED if approved else PaymentStatus.DECLINED,
            at=at,
            attempt=invoice.declines + 1,
            reference=reference,
        )
        if approved:
            self.trigger(self.PaymentSucceeded, at, payment=payment)
            self.notify(NotificationKind.RECEIPT, at, subject=invoice.number)
            if not self.open_invoices():
                self.clear_suspension(SuspensionReason.PAYMENT_FAILED, at, terms, numbering)
            return
        first_decline = invoice.first_declined_at or at
        declines = invoice.declines + 1
        next_attempt = (
            first_decline + RETRY_DELAYS_DAYS[declines - 1] * DAY
            if declines <= len(RETRY_DELAYS_DAYS)
            else None
        )
        self.trigger(self.PaymentDeclined, at, payment=payment, next_attempt_at=next_attempt)
        self.notify(NotificationKind.PAYMENT_DECLINED, at, subject=invoice.number)
        if next_attempt is None:
            self.add_suspension(SuspensionReason.PAYMENT_FAILED, at)

    def due_charges(self, until: datetime) -> list[Invoice]:
        """PAY-2: open invoices whose next charge attempt is due, oldest first."""
        if self.payment_method is None or self.is_closed:
            return []
        return [
            i
            for i in self.open_invoices()
            if i.next_attempt_at is not None and i.next_attempt_at <= until and i.total > 0
        ]

    def payment_task(self) -> Task | None:
        """PAY-2/PAY-4: the earliest charge attempt due on an open invoice."""
        attempts = [
            i.next_attempt_at for i in self.open_invoices() if i.next_attempt_at is not None
        ]
        if not attempts or self.payment_method is None:
            return None
        first = min(attempts)
        return Task.of(TaskKind.PAYMENT, first, self.id, first.isoformat())
