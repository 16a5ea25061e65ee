"""Mail delivery: the owners' notifications (and a correction's documents) follow the log
into the outbox and leave through the mailer, each once; a failed attempt is retried later
with backoff (adapters/mail.py)."""

from __future__ import annotations

import smtplib
import threading
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters.mail import (
    CORRECTION_KIND,
    Claimed,
    Delivery,
    Letter,
    Mail,
    Mailer,
    Outbox,
    correction_id,
    correction_letter,
    describe,
    message,
    permanent,
    render,
)
from domain.account import Account
from domain.documents import Rendering
from domain.invoicing import NotificationKind
from ledger.issuing import NOTIFICATION_PAGE, DocumentIssuing
from ledger.reading import Reader
from ledger.unit import Transactor

MAILED_TOPICS = [get_topic(Account.OwnerNotified), get_topic(Account.InvoiceCorrected)]


class MailDelivery:
    def __init__(
        self,
        tx: Transactor,
        reader: Reader,
        outbox: Outbox,
        documents: DocumentIssuing,
        sender: str,
    ) -> None:
        self.tx = tx
        self.reader = reader
        self.outbox = outbox
        self.documents = documents
        self.sender = sender
        self._lock = threading.Lock()

    def deliver(self, mailer: Mailer) -> dict[str, int]:
        """Sends every notification due for delivery, each once: how many ended in each
        state."""
        counts: dict[str, int] = {}
        with self._lock:
            self._follow()
            now = self.tx.now()
            self.outbox.expire_claims(now)
            while claimed := self.outbox.claim(now):
                for row in claimed:
                    state, error = self._send(row, mailer)
                    state = self.outbox.settle(row, state, self.tx.now(), error)
                    counts[state.value] = counts.get(state.value, 0) + 1
        return counts

    def rows(self) -> list[dict[str, Any]]:
        """Every notification's delivery state (ids only, no addresses)."""
        with self._lock:
            self._follow()
        return self.outbox.rows()

    def release(self, notification_id: UUID) -> bool:
        """An operator confirms an uncertain or failed e-mail never arrived: send it again."""
        return self.outbox.release(notification_id, self.tx.now())

    def _follow(self) -> None:
        store = self.tx.store
        position = self.outbox.position()
        while page := store.recorder.select_notifications(
            start=position,
            limit=NOTIFICATION_PAGE,
            topics=MAILED_TOPICS,
            inclusive_of_start=False,
        ):
            found = []
            for stored in page:
                event = store.event(stored)
                if isinstance(event, Account.InvoiceCorrected):
                    mail = Mail.of_correction(
                        event.originator_id, event.credit_note.number, event.effective_at
                    )
                else:
                    assert isinstance(event, Account.OwnerNotified)
                    mail = Mail.of(event.originator_id, event.notification)
                found.append((stored.id, mail))
            position = page[-1].id
            self.outbox.record(found, position)

    def _send(self, row: Claimed, mailer: Mailer) -> tuple[Delivery, str | None]:
        account = self.reader.account(row.account_id)
        if row.kind == CORRECTION_KIND:
            letter, to = self._correction_mail(account, row.notification_id)
        else:
            letter, to = self._notification_mail(account, row.notification_id)
        if letter is None or to is None:
            return Delivery.UNDELIVERABLE, None
        mail = message(
            letter,
            to=to,
            sender=self.sender,
            notification_id=row.notification_id,
            at=self.tx.now(),
        )
        try:
            mailer.send(mail)
        except (smtplib.SMTPException, OSError) as error:
            return (Delivery.FAILED if permanent(error) else Delivery.PENDING), describe(error)
        return Delivery.SENT, None

    def _notification_mail(
        self, account: Account, notification_id: UUID
    ) -> tuple[Letter | None, str | None]:
        """PAY-3: a receipt carries its invoice as a PDF."""
        notification = next((n for n in account.notifications if n.id == notification_id), None)
        if notification is None or notification.to is None:
            return None, None
        letter = render(account, notification)
        if notification.kind is NotificationKind.RECEIPT and notification.subject:
            letter = self._attached(letter, notification.subject)
        return letter, notification.to

    def _correction_mail(self, account: Account, mail_id: UUID) -> tuple[Letter | None, str | None]:
        """INV-2: the credit note and the new invoice of a correction, to the address of
        the corrected billing details, else the owner's."""
        for credit_note in account.invoices:
            if credit_note.credits is None or correction_id(credit_note.number) != mail_id:
                continue
            new = next(i for i in account.invoices if i.reissue_of == credit_note.credits)
            to = (new.billed_to.email if new.billed_to else None) or (
                account.owner.email if account.owner else None
            )
            letter = correction_letter(account, credit_note.number, new.number, credit_note.credits)
            return self._attached(letter, credit_note.number, new.number), to
        return None, None

    def _attached(self, letter: Letter, *numbers: str) -> Letter:
        attachments = tuple(
            (f"{number}.pdf", self.documents.document(number, Rendering.PDF)) for number in numbers
        )
        return replace(letter, attachments=letter.attachments + attachments)
