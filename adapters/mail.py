"""Mail delivery: an outbox beside the event store, the owner's e-mails rendered in the
account's language, and an SMTP sender.

Notifications are facts recorded on the account (`Account.OwnerNotified`). The outbox follows
the event log and keeps one delivery row per notification, with the log position it has
read, in the same transaction; it holds no address or text, only ids and delivery state.
A row is claimed (`sending`) in its own committed transaction before the SMTP call, and
marked `sent` after it. A process that dies in between leaves the row claimed: after
`SEND_LEASE` it becomes `uncertain` and is never sent again automatically, so no owner
receives an e-mail twice; an operator who knows it did not arrive releases it.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from babel.dates import format_date
from babel.numbers import format_currency

from adapters.mail_templates import CORRECTION, SIGNATURE, TEMPLATES
from adapters.positions import Positions
from adapters.tables import Tables, stamp, values
from domain.account import Account
from domain.invoicing import Language, Notification, NotificationKind
from domain.model import stable_id
from domain.schedule import TaskKind

TABLE = "mail_outbox"
TRACKING_TABLE = "mail_outbox_tracking"
FOLLOWER = "mail_outbox"
SEND_LEASE = timedelta(minutes=10)  # a claim older than this belonged to a process that died
RETRY_DELAYS = (  # after the 1st, 2nd, ... failed attempt; then the row has failed
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
CLAIM_BATCH = 100  # rows claimed per round
SMTP_TIMEOUT_S = 30


class Delivery(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or every retry used
    UNCERTAIN = "uncertain"  # claimed by a process that died: may or may not have gone out
    UNDELIVERABLE = "undeliverable"  # no recipient: the address was erased (GDPR-4)


# INV-2: a correction's documents go out as a mail of their own, beside the notifications
CORRECTION_KIND = "invoice_corrected"


@dataclass(frozen=True, slots=True)
class Claimed:
    notification_id: UUID
    account_id: UUID
    attempts: int
    kind: str


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    body: str
    language: Language
    # (file name, PDF): PAY-3's receipt carries its invoice; INV-2's correction the credit
    # note and the new invoice
    attachments: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class Mail:
    """A row the outbox follows the log for: a notification, or a correction's documents."""

    id: UUID
    account_id: UUID
    kind: str
    at: datetime

    @classmethod
    def of(cls, account_id: UUID, notification: Notification) -> Mail:
        return cls(notification.id, account_id, notification.kind.value, notification.at)

    @classmethod
    def of_correction(cls, account_id: UUID, credit_note: str, at: datetime) -> Mail:
        return cls(correction_id(credit_note), account_id, CORRECTION_KIND, at)


def correction_id(credit_note: str) -> UUID:
    """The outbox row of a correction's mail: one per credit note, however often read."""
    return stable_id("correction-mail", credit_note)


# ---------------------------------------------------------------------------- rendering


def render(account: Account, notification: Notification) -> Letter:
    """The e-mail for a notification, in the account's language, with money and dates
    formatted by Babel for that language."""
    language = account.language
    locale = language.value

    def day(at: datetime | None) -> str:
        return format_date(at.date(), format="long", locale=locale) if at else "—"

    facts: dict[str, str] = {
        "company": account.company,
        "invoice": notification.subject or "",
        "total": "",
        "plan": account.plan,
        "effective_on": "",
        "seats": str(account.seats),
        "deletion_on": "—",
        "cancellation_on": day(account.cancellation_effective_at),
    }
    kind = notification.kind
    if kind in (NotificationKind.RECEIPT, NotificationKind.PAYMENT_DECLINED):
        invoice = account.invoice(notification.subject or "")
        facts["total"] = format_currency(invoice.total, account.currency, locale=locale)
    elif kind is NotificationKind.PRICE_CHANGE:
        plan, _, effective_on = (notification.subject or "").partition(":")
        facts["plan"] = plan
        facts["effective_on"] = format_date(
            datetime.fromisoformat(effective_on).date(), format="long", locale=locale
        )
    elif kind is NotificationKind.INACTIVITY_WARNING:
        task = account.inactivity_task()
        if task is not None and task.kind is TaskKind.INACTIVITY_DELETION:
            facts["deletion_on"] = day(task.due_at)
    return _letter(TEMPLATES[language][kind], facts, language)


def correction_letter(account: Account, credit_note: str, invoice: str, replaced: str) -> Letter:
    """INV-2: the credit note and the new invoice of a correction, in the account's
    language (the attachments are the caller's: it renders them from the log)."""
    language = account.language
    facts = {
        "company": account.company,
        "credit_note": credit_note,
        "invoice": invoice,
        "replaced": replaced,
    }
    return _letter(CORRECTION[language], facts, language)


def _letter(template: tuple[str, str], facts: dict[str, str], language: Language) -> Letter:
    subject, body = template
    text = f"{body.format(**facts)}\n\n{SIGNATURE[language]}\n"
    return Letter(subject=subject.format(**facts), body=text, language=language)


def message(
    letter: Letter, *, to: str, sender: str, notification_id: UUID, at: datetime
) -> EmailMessage:
    """The Message-ID derives from the notification, so a receiving system that sees the
    same notification twice can tell."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = letter.subject
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = f"<{notification_id}@{sender.rpartition('@')[2] or 'seatledger'}>"
    mail.set_content(letter.body)
    for filename, data in letter.attachments:
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    # last: set_content and add_attachment move the Content-* headers into the parts
    mail["Content-Language"] = letter.language.value
    return mail


# ---------------------------------------------------------------------------- sending


class Mailer(Protocol):
    def send(self, mail: EmailMessage) -> None:
        """Hands the message to the mail system; raises when it was not accepted."""


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    security: str = "starttls"  # none | starttls | tls
    username: str | None = None
    password: str | None = None

    def send(self, mail: EmailMessage) -> None:
        connection: smtplib.SMTP
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_S)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
        with connection:
            if self.security == "starttls":
                connection.starttls()
            if self.username:
                connection.login(self.username, self.password or "")
            connection.send_message(mail)


def permanent(error: Exception) -> bool:
    """A 5xx answer for every recipient, the sender or the message will not change on retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def describe(error: Exception) -> str:
    """What went wrong, without the server's text (it may quote the address)."""
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}" + (f" {code}" if code else "")


# ---------------------------------------------------------------------------- the outbox


class Outbox:
    """Delivery state of every notification, in the event store's own database."""

    def __init__(self, datastore: object) -> None:
        self._tables = Tables(datastore)
        self._transaction = self._tables.transaction
        self._table = self._tables.name(TABLE)
        self._positions = Positions(self._tables, TRACKING_TABLE)
        with self._tables.creating(), self._transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (notification_id TEXT PRIMARY KEY, "
                "account_id TEXT NOT NULL, kind TEXT NOT NULL, position BIGINT NOT NULL, "
                "state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                "next_attempt_at TEXT NOT NULL, claimed_at TEXT, sent_at TEXT, last_error TEXT)"
            )
            c.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {self._table} (state, next_attempt_at)"
            )

    def _sql(self, text: str) -> str:
        return self._tables.sql(text)

    def position(self) -> int:
        return self._positions.position(FOLLOWER)

    def record(self, found: list[tuple[int, Mail]], position: int) -> None:
        """New mail read from the log up to `position`, in one transaction with the
        position itself: a crash re-reads them, and a row is never made twice."""
        with self._transaction() as c:
            for at_position, mail in found:
                c.execute(
                    self._sql(
                        f"INSERT INTO {self._table} (notification_id, account_id, kind, position, "
                        "state, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    (
                        str(mail.id),
                        str(mail.account_id),
                        mail.kind,
                        at_position,
                        Delivery.PENDING.value,
                        stamp(mail.at),
                    ),
                )
            self._positions.advance_in(c, FOLLOWER, position)

    def claim(self, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
        """Takes pending rows that are due, oldest first; a row is claimed once only, even by
        racing processes (the state is checked again by the UPDATE itself)."""
        with self._transaction() as c:
            c.execute(
                self._sql(
                    f"UPDATE {self._table} SET state = %s, attempts = attempts + 1, "
                    "claimed_at = %s WHERE state = %s AND notification_id IN (SELECT "
                    f"notification_id FROM {self._table} WHERE state = %s AND next_attempt_at "
                    "<= %s ORDER BY position LIMIT %s) "
                    "RETURNING notification_id, account_id, attempts, position, kind"
                ),
                (
                    Delivery.SENDING.value,
                    stamp(now),
                    Delivery.PENDING.value,
                    Delivery.PENDING.value,
                    stamp(now),
                    limit,
                ),
            )
            rows = sorted((values(row) for row in c.fetchall()), key=lambda row: int(row[3]))
        return [Claimed(UUID(str(r[0])), UUID(str(r[1])), int(r[2]), str(r[4])) for r in rows]

    def settle(
        self, claimed: Claimed, state: Delivery, now: datetime, error: str | None = None
    ) -> Delivery:
        """The outcome of one claimed row: sent, failed, undeliverable, or back to pending
        with its next attempt after the backoff."""
        next_attempt = now
        if state is Delivery.PENDING:
            if claimed.attempts > len(RETRY_DELAYS):
                state = Delivery.FAILED
            else:
                next_attempt = now + RETRY_DELAYS[claimed.attempts - 1]
        with self._transaction() as c:
            c.execute(
                self._sql(
                    f"UPDATE {self._table} SET state = %s, next_attempt_at = %s, sent_at = %s, "
                    "last_error = %s WHERE notification_id = %s AND state = %s"
                ),
                (
                    state.value,
                    stamp(next_attempt),
                    stamp(now) if state is Delivery.SENT else None,
                    error,
                    str(claimed.notification_id),
                    Delivery.SENDING.value,
                ),
            )
        return state

    def expire_claims(self, now: datetime) -> int:
        """Claims older than the lease belonged to a process that died mid-send."""
        with self._transaction() as c:
            c.execute(
                self._sql(
                    f"UPDATE {self._table} SET state = %s WHERE state = %s AND claimed_at < %s "
                    "RETURNING notification_id"
                ),
                (Delivery.UNCERTAIN.value, Delivery.SENDING.value, stamp(now - SEND_LEASE)),
            )
            return len(c.fetchall())

    def release(self, notification_id: UUID, now: datetime) -> bool:
        """An operator's decision that an uncertain or failed e-mail did not arrive."""
        with self._transaction() as c:
            c.execute(
                self._sql(
                    f"UPDATE {self._table} SET state = %s, next_attempt_at = %s, attempts = 0 "
                    "WHERE notification_id = %s AND state IN (%s, %s) RETURNING notification_id"
                ),
                (
                    Delivery.PENDING.value,
                    stamp(now),
                    str(notification_id),
                    Delivery.UNCERTAIN.value,
                    Delivery.FAILED.value,
                ),
            )
            return bool(c.fetchall())

    def rows(self) -> list[dict[str, Any]]:
        """Every delivery row, in log order (ids and states only: no personal data)."""
        with self._transaction() as c:
            c.execute(
                f"SELECT notification_id, account_id, kind, state, attempts, next_attempt_at, "
                f"sent_at, last_error FROM {self._table} ORDER BY position"
            )
            found = [values(row) for row in c.fetchall()]
        names = (
            "notification",
            "account",
            "kind",
            "state",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
        )
        return [dict(zip(names, row, strict=True)) for row in found]
