"""Mail delivery: recorded notifications reach a real SMTP server on loopback (aiosmtpd), in
the account's language, once each, with retries and backoff on failure."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from adapters.mail import RETRY_DELAYS, SEND_LEASE, SmtpMailer, render
from app import Ledger
from domain.commands import AddPaymentMethod, Cancel, ChooseLanguage
from domain.errors import DomainError
from domain.invoicing import Language, Notification, NotificationKind
from settings import Settings
from tests.helpers import at, open_account
from tests.ledgers import utc
from tests.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def mailer(smtp: SmtpServer) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", smtp.port, security="none")


def paid_account(ledger: Ledger, clock: SimulatedClock, language: str = "en") -> UUID:
    """A German account whose first invoice (139.23 EUR) is paid on 2019-01-01."""
    account = open_account(ledger, language=language, country="DE", currency="EUR")
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_mail"))
    at(ledger, clock, "2019-01-02T00:00:00Z")
    return account


def states(ledger: Ledger) -> list[str]:
    return [row["state"] for row in ledger.mail_outbox()]


def test_a_receipt_reaches_the_owner_once_in_their_language(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    paid_account(ledger, clock, language="pl")
    assert ledger.deliver_mail(mailer(smtp)) == {"sent": 1}
    [mail] = smtp.inbox.received()
    assert mail["To"] == "ada@acme.example"
    assert mail["Subject"] == "Potwierdzenie zapłaty faktury 2019-000001"
    assert mail["Content-Language"] == "pl"
    text = mail.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "139,23\xa0€" in body  # Babel: Polish decimal comma, euro after
    # a second run, and another process on the same store, send nothing more
    assert ledger.deliver_mail(mailer(smtp)) == {}
    other = Ledger(Settings(store=ledger.settings.store), clock=clock)
    try:
        assert other.deliver_mail(mailer(smtp)) == {}
    finally:
        other.close()
    assert len(smtp.inbox.received()) == 1
    assert states(ledger) == ["sent"]


def test_money_and_dates_follow_the_language(mem_ledger: Ledger, clock: SimulatedClock) -> None:
    account_id = paid_account(mem_ledger, clock)
    account = mem_ledger.load(account_id)
    receipt = account.notifications[0]
    expected = {
        Language.EN: "€139.23",
        Language.PL: "139,23\xa0€",
        Language.BG: "139,23\xa0€",
        Language.NL: "€\xa0139,23",
        Language.SL: "139,23\xa0€",
    }
    for language, amount in expected.items():
        account.language = language
        assert amount in render(account, receipt).body, language
    notice = Notification(
        id=receipt.id,
        kind=NotificationKind.PRICE_CHANGE,
        to=None,
        at=receipt.at,
        subject="all-inclusive:2019-03-15",
    )
    account.language = Language.NL
    assert "15 maart 2019" in render(account, notice).body
    account.language = Language.SL
    assert "15. marec 2019" in render(account, notice).body


def test_every_kind_has_a_text_in_every_language(mem_ledger: Ledger, clock: SimulatedClock) -> None:
    account = mem_ledger.load(paid_account(mem_ledger, clock))
    receipt = account.notifications[0]
    for language in Language:
        account.language = language
        seen = set()
        for kind in NotificationKind:
            subject = receipt.subject if kind is not NotificationKind.PRICE_CHANGE else None
            letter = render(
                account,
                receipt.model_copy(
                    update={"kind": kind, "subject": subject or "all-inclusive:2019-03-15"}
                ),
            )
            assert letter.subject and letter.body and "{" not in letter.body
            seen.add(letter.subject)
        assert len(seen) == len(NotificationKind), language


def test_the_language_is_chosen_and_checked(mem_ledger: Ledger, clock: SimulatedClock) -> None:
    account = open_account(mem_ledger)
    assert mem_ledger.account(account)["language"] == "en"
    mem_ledger.execute(account, ChooseLanguage(language="sl"))
    assert mem_ledger.account(account)["language"] == "sl"
    events = list(mem_ledger.events())
    with pytest.raises(DomainError) as refused:
        mem_ledger.execute(account, ChooseLanguage.parse({"language": "de"}))
    assert (refused.value.code.value, refused.value.field) == ("INVALID_INPUT", "language")
    with pytest.raises(DomainError):
        open_account(mem_ledger, language="fr")
    assert list(mem_ledger.events()) == events  # refusals record nothing


def test_a_temporary_refusal_is_retried_after_the_backoff(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    paid_account(ledger, clock)
    smtp.inbox.refuse_data = "451 4.3.0 try again later"
    assert ledger.deliver_mail(mailer(smtp)) == {"pending": 1}
    [row] = ledger.mail_outbox()
    assert (row["attempts"], row["last_error"]) == (1, "SMTPDataError 451")
    smtp.inbox.refuse_data = None
    clock.set(clock.now() + RETRY_DELAYS[0] - timedelta(seconds=1))
    assert ledger.deliver_mail(mailer(smtp)) == {}  # not before its time
    clock.set(clock.now() + timedelta(seconds=1))
    assert ledger.deliver_mail(mailer(smtp)) == {"sent": 1}
    assert len(smtp.inbox.received()) == 1


def test_an_unreachable_server_is_retried_until_the_attempts_run_out(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    paid_account(mem_ledger, clock)
    nowhere = SmtpMailer("127.0.0.1", 9, security="none")  # discard port: refused
    for delay in RETRY_DELAYS:
        assert mem_ledger.deliver_mail(nowhere) == {"pending": 1}
        clock.set(clock.now() + delay)
    assert mem_ledger.deliver_mail(nowhere) == {"failed": 1}
    assert mem_ledger.deliver_mail(nowhere) == {}
    [row] = mem_ledger.mail_outbox()
    assert row["attempts"] == len(RETRY_DELAYS) + 1
    assert row["last_error"] == "ConnectionRefusedError"


def test_a_permanent_refusal_is_not_retried(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    paid_account(ledger, clock)
    smtp.inbox.refuse_recipient = "550 5.1.1 mailbox unavailable"
    assert ledger.deliver_mail(mailer(smtp)) == {"failed": 1}
    clock.set(clock.now() + timedelta(days=2))
    smtp.inbox.refuse_recipient = None
    assert ledger.deliver_mail(mailer(smtp)) == {}
    assert smtp.inbox.received() == []


def test_a_send_cut_off_by_a_crash_is_never_repeated_on_its_own(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    """A process that claimed a row and died may or may not have handed the e-mail over:
    the row becomes uncertain and waits for an operator instead of risking a second copy."""
    paid_account(ledger, clock)
    ledger.mail_outbox()  # follows the log
    [claimed] = ledger.outbox.claim(clock.now())  # ... and the process dies here
    assert ledger.deliver_mail(mailer(smtp)) == {}  # still within the lease: untouched
    clock.set(clock.now() + SEND_LEASE + timedelta(seconds=1))
    assert ledger.deliver_mail(mailer(smtp)) == {}
    assert states(ledger) == ["uncertain"]
    assert smtp.inbox.received() == []
    assert ledger.release_mail(claimed.notification_id)
    assert ledger.deliver_mail(mailer(smtp)) == {"sent": 1}
    assert not ledger.release_mail(claimed.notification_id)  # sent rows stay sent


def test_an_erased_address_is_undeliverable(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    account = paid_account(ledger, clock)
    ledger.execute(account, Cancel(via="email"))
    at(ledger, clock, "2019-04-01T00:00:00Z")  # CANCEL-3: deleted, profile erased (GDPR-4)
    assert ledger.account(account)["status"] == "deleted"
    result = ledger.deliver_mail(mailer(smtp))
    assert result == {"undeliverable": len(ledger.notifications(account))}
    assert smtp.inbox.received() == []


def test_the_owner_hears_of_the_deletion_before_the_address_is_erased(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    """CANCEL-3 deletes the account and GDPR-4 erases its profile at the same instant; the
    scheduler hands the waiting e-mails over first."""
    account = paid_account(ledger, clock)
    ledger.execute(account, Cancel(via="email"))
    clock.set(utc("2019-04-01T00:00:00Z"))
    ledger.run_due(mailer=mailer(smtp))
    assert ledger.account(account)["status"] == "deleted"
    assert ledger.notifications(account)[-1]["to"] is None  # erased after
    subjects = [mail["Subject"] for mail in smtp.inbox.received()]
    assert subjects[-2:] == ["Your cancellation is confirmed", "Your account has been deleted"]
    assert ledger.deliver_mail(mailer(smtp)) == {}


def test_the_outbox_holds_no_personal_data(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    paid_account(ledger, clock)
    smtp.inbox.refuse_recipient = "550 5.1.1 <ada@acme.example>: unknown"
    ledger.deliver_mail(mailer(smtp))
    text = repr(ledger.mail_outbox())
    assert "ada@acme.example" not in text and "Ada" not in text


def test_racing_senders_send_each_e_mail_once(
    store: str, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    gateway = SandboxGateway()
    first = Ledger(Settings(store=store), clock=clock, gateway=gateway)
    for n in range(6):
        account = open_account(first, owner_email=f"owner{n}@acme.example")
        first.execute(account, AddPaymentMethod(kind="card", token=f"tok_{n}"))
    at(first, clock, "2019-03-02T00:00:00Z")  # 3 receipts each
    ledgers = [first] + [
        Ledger(Settings(store=store), clock=clock, gateway=gateway) for _ in range(3)
    ]
    start = threading.Barrier(len(ledgers))

    def deliver(ledger: Ledger) -> None:
        start.wait()
        ledger.deliver_mail(mailer(smtp))

    threads = [threading.Thread(target=deliver, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [mail["Message-ID"] for mail in smtp.inbox.received()]
    assert len(ids) == 18 and len(set(ids)) == 18
    assert set(states(first)) == {"sent"}
    for ledger in ledgers:
        ledger.close()


def test_accounts_opened_before_languages_existed_are_written_to_in_english(
    sqlite_store: str, clock: SimulatedClock
) -> None:
    """Opened v1 had no language: its stored form is upcast, never rewritten."""
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    account = open_account(ledger, language="bg")
    ledger.close()
    path = sqlite_store[len("sqlite:///") :]
    with sqlite3.connect(path) as conn:
        [(state,)] = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1",
            (account.hex,),
        ).fetchall()
        v1 = json.loads(state)
        assert (v1.pop("class_version"), v1.pop("language")) == (2, "bg")
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 1",
            (json.dumps(v1).encode(), account.hex),
        )
    reopened = Ledger(Settings(store=sqlite_store), clock=clock)
    try:
        assert reopened.account(account)["language"] == "en"
    finally:
        reopened.close()
