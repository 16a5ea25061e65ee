"""The Ledger application: the rooms wired together, and every command and query.

Commands load aggregates, make one domain call and save every changed aggregate in one
transaction (ledger.unit). What runs behind the commands has a room of its own in
`ledger/`: payment collection, the due-work runner, mail delivery, document issuing and
the data subjects' requests; the query shapes are built in `ledger.views`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from adapters.charges import ChargeLog
from adapters.clock import Clock, SystemClock
from adapters.gateway import PaymentGateway, SandboxGateway
from adapters.mail import Mailer, Outbox
from adapters.positions import Positions
from adapters.store import EventStoreApp
from adapters.tables import Tables
from domain.account import Account
from domain.catalog import Catalog
from domain.commands import (
    AccountCommand,
    AnnouncePriceChange,
    Command,
    DisengageSubprocessor,
    EngageSubprocessor,
    GiveConsent,
    OpenAccount,
    OpenWithCode,
    RedeemCode,
    SellCode,
    SubjectRequest,
    WithdrawConsent,
)
from domain.documents import IssuedDocument, Rendering
from domain.errors import DomainError, ErrorCode
from domain.integrity import LogSeal
from domain.lifetime import Code
from domain.model import Event
from domain.policy import Terms
from domain.pricing import PriceBook
from domain.registry import SlugClaim, free_slug
from domain.residency import SubprocessorList, check_placement
from ledger import views
from ledger.data_subjects import DataSubjects
from ledger.due_work import DueWork
from ledger.issuing import DocumentIssuing
from ledger.listings import PAGE_DEFAULT, Listings
from ledger.mail_delivery import MailDelivery
from ledger.payments import PaymentCollection
from ledger.price_notices import PriceNotices
from ledger.reading import NOW, Knowledge, Reader, When, day, instant
from ledger.unit import Transactor, Unit
from ledger.views import Page
from projections.audit import Replay, Verification, explain, moved_heads, replay, verify
from projections.due import DueIndex
from projections.finance import FinanceProjection, facts, view_for
from projections.history import HistoryIndex
from projections.invoices import find_issued
from projections.read_index import ReadIndex, index_view_for
from projections.reports import Facts, Report, balanced, balances, report_of
from settings import Settings


class Ledger:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        gateway: PaymentGateway | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self.gateway: PaymentGateway = gateway or SandboxGateway()
        if catalog is None and self.settings.catalog_file is not None:
            catalog = Catalog.from_data(json.loads(self.settings.catalog_file.read_text()))
        self.catalog = catalog or Catalog.default()
        self.store = EventStoreApp(self.settings.store, self.clock)
        self.history = HistoryIndex(self.store)
        self.tx = Transactor(self.store, self.terms, self.clock, self.settings.region)
        self.reader = Reader(self.store, self.history)
        datastore = getattr(self.store.recorder, "datastore", None)  # None: in memory
        self.outbox = Outbox(datastore)
        self.documents = DocumentIssuing(
            self.tx, self.reader, Positions(Tables(datastore)), self.settings
        )
        self.collection = PaymentCollection(self.tx, self.gateway, ChargeLog(datastore))
        self.mail = MailDelivery(
            self.tx, self.reader, self.outbox, self.documents, self.settings.mail_from
        )
        self.due_work = DueWork(
            self.tx, self.reader, DueIndex(self.store), self.collection, self.mail
        )
        self.subjects = DataSubjects(self.tx, self.reader, self.store.keys, self.due_work)
        self.listings = Listings(
            self.store, self.reader, ReadIndex(index_view_for(self.settings.store)), self.now
        )
        self.price_notices = PriceNotices(self.tx, self.listings)
        self.finance = FinanceProjection(view_for(self.settings.store))
        self._finance_lock = threading.Lock()

    def close(self) -> None:
        self.finance.finance.close()
        self.listings.index.view.close()
        self.store.close()

    def terms(self, prices: PriceBook) -> Terms:
        return Terms(
            catalog=self.catalog,
            prices=prices,
            seller_country=self.settings.seller_country,
            business_calendar=self.settings.business_calendar,
            ltd_redeem_deadline=self.settings.ltd_redeem_deadline,
        )

    def now(self) -> datetime:
        return self.tx.now()

    # ------------------------------------------------------------ commands

    def execute(
        self,
        account_id: UUID,
        command: AccountCommand,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """A command on one account (domain.commands): the account loaded, the command's
        one call on it, the account saved; then whatever it made due is charged."""

        def work(unit: Unit) -> None:
            command.carry_out(unit.account(account_id), unit)

        _, _, changed = self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=account_id,
        )
        saved = next((a for a in changed if a.id == account_id), None)
        if isinstance(saved, Account):  # PAY-2: what the command made due is charged now
            self.collection.collect([account_id], self.now(), actor, {account_id: saved})

    def open_account(
        self,
        command: OpenAccount,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """ACC-1, ACC-3, TRIAL-1."""

        def work(unit: Unit) -> UUID:
            return self._open_with_slug(
                unit,
                command.company,
                lambda slug: Account.open(
                    account_id=uuid4(),
                    at=unit.at,
                    owner=command.owner.person(),
                    company=command.company,
                    country=command.country,
                    currency=command.currency,
                    plan=command.plan,
                    cycle=command.cycle,
                    seats=command.seats,
                    trial_days=command.trial_days,
                    region=command.region,
                    slug=slug,
                    terms=unit.terms,
                    actor=actor,
                    language=command.language,
                ),
            ).id

        return self._transact_for_account(work, actor, idempotency_key, command)

    def _transact_for_account(
        self,
        work: Callable[[Unit], UUID],
        actor: str | None,
        idempotency_key: str | None,
        command: Command,
    ) -> UUID:
        """A command that opens an account answers with its id, the first one on a repeat."""
        result, encoded, _ = self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            encode=lambda account_id: {"account_id": str(account_id)},
        )
        return result if result is not None else UUID(encoded["account_id"])

    def _open_with_slug(
        self, unit: Unit, company: str, opening: Callable[[str], Account]
    ) -> Account:
        """ACC-1: a new account takes the first free slug of its company name; the claim is
        saved with the account, so two racing for one slug conflict and one retries."""
        slug = free_slug(company, lambda s: SlugClaim.id_for(s) in self.store.repository)
        account = opening(slug)
        check_placement(account.region, unit.region)  # RES-1
        unit.add(account)
        unit.add(SlugClaim.claim(slug, account.id, unit.at))
        return account

    def announce_price_change(
        self,
        command: AnnouncePriceChange,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        """BILL-6: the owner of every affected account (open or trialing, on that plan,
        currency and cycle) is notified at announcement, a batch of accounts per
        transaction (ledger.price_notices); repeated under its key, it finishes the
        notices a cut-off announcement left. The change's number in the price book."""
        return self.price_notices.announce(command, actor=actor, idempotency_key=idempotency_key)

    def price_change(self, number: int) -> dict[str, Any] | None:
        return self.price_notices.change(number)

    def send_price_notices(self, *, actor: str | None = "scheduler") -> int:
        """BILL-6: the notices of announcements cut off part-way, sent on from where they
        stopped; the accounts gone through."""
        return self.price_notices.send(actor=actor)

    def sell_code(
        self,
        command: SellCode,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """LTD-1: a lifetime-deal code is sold once."""

        def work(unit: Unit) -> None:
            sold = unit.find(Code.id_for(command.code), Code)
            unit.add(Code.sell(command.code, command.currency, unit.at, sold=sold))

        self.tx.transact(work, actor=actor, idempotency_key=idempotency_key, command=command)

    def redeem_code(
        self,
        account_id: UUID,
        command: RedeemCode,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """LTD-2..4: an existing account redeems a code. A code redeemed before on another
        account suspends both accounts (code_reuse)."""

        def work(unit: Unit) -> UUID:
            lifetime = self._code(unit, command.code)
            account = unit.account(account_id)
            account.check_no_code()
            lifetime.check_redeemable(unit.at, unit.terms.ltd_redeem_deadline, account.currency)
            account.redeem_code(lifetime.code, unit.at, unit.terms)
            self._take_code(unit, lifetime, account)
            return account.id

        self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=account_id,
        )

    def open_with_code(
        self,
        command: OpenWithCode,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """LTD-2/3: a code opens a lifetime-deal account (LTD-4: a reused code suspends
        both accounts)."""

        def work(unit: Unit) -> UUID:
            lifetime = self._code(unit, command.code)
            lifetime.check_redeemable(unit.at, unit.terms.ltd_redeem_deadline, command.currency)
            account = self._open_with_slug(
                unit,
                command.company,
                lambda slug: Account.open_lifetime(
                    account_id=uuid4(),
                    at=unit.at,
                    code=lifetime.code,
                    owner=command.owner.person(),
                    company=command.company,
                    country=command.country,
                    currency=command.currency,
                    region=command.region,
                    slug=slug,
                    terms=unit.terms,
                    actor=actor,
                ),
            )
            self._take_code(unit, lifetime, account)
            return account.id

        return self._transact_for_account(work, actor, idempotency_key, command)

    def _take_code(self, unit: Unit, lifetime: Code, account: Account) -> None:
        first = lifetime.first_redeemer
        account.take_code(lifetime, unit.at, unit.account(first) if first else None)

    def _code(self, unit: Unit, code: str) -> Code:
        try:
            return unit.get(Code.id_for(code), Code)
        except AggregateNotFoundError:
            raise DomainError(
                ErrorCode.UNKNOWN_CODE, f"no lifetime-deal code {code!r} was sold", "code"
            ) from None

    # ------------------------------------------------------------ data subjects (GDPR)

    def give_consent(
        self,
        command: GiveConsent,
        subject_id: UUID | None = None,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        return self.subjects.give_consent(
            command, subject_id, actor=actor, idempotency_key=idempotency_key
        )

    def withdraw_consent(
        self,
        subject_id: UUID,
        command: WithdrawConsent,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.subjects.withdraw_consent(
            subject_id, command, actor=actor, idempotency_key=idempotency_key
        )

    def subject_request(
        self,
        subject_id: UUID,
        command: SubjectRequest,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return self.subjects.request(
            subject_id, command, actor=actor, idempotency_key=idempotency_key
        )

    def find_subject(self, email: str) -> UUID:
        return self.subjects.find(email)

    def subject(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        return self.subjects.subject(subject_id, as_of=as_of, known_at=known_at)

    def retention(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        return self.subjects.retention(subject_id, as_of=as_of, known_at=known_at)

    def falls_due(
        self, before: date | str, *, limit: int = PAGE_DEFAULT, after: str | None = None
    ) -> Page[dict[str, Any]]:
        """GDPR-2/3/5: the deadlines before a date, earliest first, a page at a time."""
        return self.listings.falls_due(before, limit=limit, after=after)

    def export_subject(self, subject_id: UUID) -> dict[str, Any]:
        return self.subjects.export(subject_id)

    # ------------------------------------------------------------ sub-processors

    def _subprocessor_list(self, unit: Unit) -> SubprocessorList:
        return unit.singleton(
            SubprocessorList.ID, SubprocessorList, lambda: SubprocessorList.seed(unit.at)
        )

    def engage_subprocessor(self, command: EngageSubprocessor, *, actor: str | None = None) -> None:
        """RES-1: the list changes only by recorded events (a vendor command)."""
        self.tx.transact(
            lambda unit: self._subprocessor_list(unit).engage(
                command.name, command.regions, command.from_day, unit.at
            ),
            actor=actor,
            command=command,
        )

    def disengage_subprocessor(
        self, command: DisengageSubprocessor, *, actor: str | None = None
    ) -> None:
        self.tx.transact(
            lambda unit: self._subprocessor_list(unit).disengage(
                command.name, command.until_day, unit.at
            ),
            actor=actor,
            command=command,
        )

    def subprocessors(
        self, account_id: UUID, on: date | str, *, as_of: When = None, known_at: When = None
    ) -> list[str]:
        """RES-1: who handles this account's data (in its region) on a date, sorted by name."""
        known = Knowledge.of(as_of, known_at)
        account = self.load(account_id, known)
        try:
            book = self.reader.aggregate(SubprocessorList.ID, known)
        except AggregateNotFoundError:
            book = SubprocessorList.seed(self.now())
        assert isinstance(book, SubprocessorList)
        return book.serving(account.region, day(on, "on"))

    # ------------------------------------------------------------ work behind the commands

    def run_due(
        self,
        until: datetime | None = None,
        *,
        actor: str | None = "scheduler",
        mailer: Mailer | None = None,
    ) -> int:
        return self.due_work.run(until, actor=actor, mailer=mailer)

    def next_due(self) -> datetime | None:
        return self.due_work.next_due()

    def failed_work(self) -> list[dict[str, Any]]:
        return self.due_work.failed()

    def retry_due_work(self, key: str, *, actor: str | None = "operator") -> dict[str, Any]:
        return self.due_work.retry(key, actor=actor)

    def deliver_mail(self, mailer: Mailer) -> dict[str, int]:
        return self.mail.deliver(mailer)

    def mail_outbox(self) -> list[dict[str, Any]]:
        return self.mail.rows()

    def release_mail(self, notification_id: UUID) -> bool:
        return self.mail.release(notification_id)

    def issue_documents(self) -> int:
        return self.documents.issue_new()

    # ------------------------------------------------------------ queries

    def account_ids(self) -> list[UUID]:
        """Every account, in the order opened (all of them: for the ledger's own work; a
        reader pages through `accounts`)."""
        with self.due_work.caught_up() as index:
            return index.accounts_in_opening_order()

    def accounts(
        self,
        *,
        limit: int = PAGE_DEFAULT,
        after: str | None = None,
        status: str | None = None,
        plan: str | None = None,
        currency: str | None = None,
        cycle: str | None = None,
    ) -> Page[dict[str, Any]]:
        """Accounts in the order opened, a page at a time: each one's id, status, plan,
        currency and cycle, filtered by any of the four."""
        return self.listings.accounts(
            limit=limit, after=after, status=status, plan=plan, currency=currency, cycle=cycle
        )

    def load(self, account_id: UUID, known: Knowledge = NOW) -> Account:
        return self.reader.account(account_id, known)

    def account(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        return views.account_view(self.load(account_id, Knowledge.of(as_of, known_at)))

    def invoices(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        found = self.load(account_id, Knowledge.of(as_of, known_at))
        return [views.invoice_view(account_id, i) for i in found.invoices]

    def payments(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        return views.payment_views(self.load(account_id, Knowledge.of(as_of, known_at)))

    def refunds(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        return views.refund_views(self.load(account_id, Knowledge.of(as_of, known_at)))

    def balance(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        """What the account owes and holds: now, or at `as_of` as known at `known_at`."""
        known = Knowledge.of(as_of, known_at)
        return views.balance_view(self.load(account_id, known).balance(known.instant(self.now())))

    def notifications(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        return views.notification_views(self.load(account_id, Knowledge.of(as_of, known_at)))

    def liability_cap(
        self,
        account_id: UUID,
        claim_date: date | str,
        *,
        as_of: When = None,
        known_at: When = None,
    ) -> dict[str, Any]:
        account = self.load(account_id, Knowledge.of(as_of, known_at))
        return views.liability_cap_view(account.liability_cap(day(claim_date, "on")))

    def credit_window(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any] | None:
        """CREDIT-3: active_from, remaining now (or at as_of), ends_on, and how each change
        moved the end."""
        known = Knowledge.of(as_of, known_at)
        return views.window_view(self.load(account_id, known), known.instant(self.now()))

    def credit_windows(
        self,
        *,
        limit: int = PAGE_DEFAULT,
        after: str | None = None,
        as_of: When = None,
        known_at: When = None,
    ) -> Page[dict[str, Any]]:
        """CREDIT-3 for finance: the open pools, in account opening order, a page at a
        time, each with its end's history; now or at `as_of` as known at `known_at`."""
        known = Knowledge.of(as_of, known_at)
        return self.listings.credit_windows(known, limit=limit, after=after)

    def invoice(self, number: str) -> dict[str, Any]:
        """One invoice or credit note, as it stands now (its status follows payments)."""
        found = find_issued(self.store, number)
        current = self.load(found.account_id).invoice(number)
        return views.invoice_view(found.account_id, current)

    # ------------------------------------------------------------ documents

    def document(self, number: str, rendering: Rendering) -> bytes:
        return self.documents.document(number, rendering)

    def check_document(self, number: str) -> dict[str, Any]:
        return self.documents.check(number)

    def recorded_document(self, number: str) -> IssuedDocument:
        return self.documents.recorded(number)

    def issued_documents(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[str, Callable[[Rendering], bytes]]]:
        return self.documents.between(self.account_ids(), start, end)

    # ------------------------------------------------------------ finance

    def catch_up_finance(self, on_page: Callable[[int], None] | None = None) -> int:
        """Brings the finance projection up to the end of the log; the position reached."""
        with self._finance_lock:
            return self.finance.catch_up(self.store, on_page=on_page)

    def facts(self, known_at: datetime | None = None) -> Facts:
        """The finance facts now or, for an auditor, as known at `known_at`: then a scratch
        projection is folded from the events recorded by then."""
        if known_at is None:
            self.catch_up_finance()
            return facts(self.finance.finance)
        scratch = FinanceProjection(view_for("memory://"))
        try:
            scratch.catch_up(self.store, known_at=known_at)
            return facts(scratch.finance)
        finally:
            scratch.finance.close()

    def report(
        self, name: str, month: str, currency: str | None = None, *, known_at: When = None
    ) -> Report:
        """A month-end report (projections.reports.REPORTS) for finance. Its month is its
        business time; `known_at` shows it as it could have been drawn up then."""
        return report_of(self.facts(instant(known_at, "known_at")), name, month, currency)

    def ledger(self, *, as_of: When = None, known_at: When = None) -> dict[str, Any]:
        """The trial balance: per currency, each ledger account's total, now or at `as_of`
        as known at `known_at`."""
        known = Knowledge.of(as_of, known_at)
        at = known.instant(self.now())
        # entries effective at `at` are in; revenue of the days before that day's
        totals = balances(self.facts(known.known_at), at.date(), at + timedelta.resolution)
        return views.trial_balance_view(balanced(totals), totals)

    # ------------------------------------------------------------ audit

    def events(self) -> Iterator[Event]:
        """Every event in the order recorded."""
        for notification in self.store.notifications():
            yield self.store.event(notification)

    def checkpoint(
        self, *, actor: str | None = None, every: timedelta | None = None
    ) -> dict[str, Any] | None:
        """Seals the log as it stands (domain.integrity): the heads moved since the last
        checkpoint and the Merkle root over all heads. None when nothing but the seal
        itself was recorded since, or when the last checkpoint is younger than `every`."""

        def work(unit: Unit) -> dict[str, Any] | None:
            seal = unit.singleton(LogSeal.ID, LogSeal, lambda: LogSeal.start(unit.at))
            if every is not None and seal.sealed_since(unit.at, every):
                return None
            position = self.store.recorder.max_notification_id() or 0
            changed = moved_heads(self.store, seal.position, position)
            if not changed:
                return None
            root = seal.checkpoint(position, changed, unit.at)
            return {"position": position, "root": root, "heads": len(seal.heads)}

        result, _, _ = self.tx.transact(work, actor=actor)
        return result

    def verify(self, on_page: Callable[[int], None] | None = None) -> Verification:
        """Recomputes every hash chain and checkpoint from the stored bytes."""
        return verify(self.store, on_page)

    def explain(self, number: str) -> dict[str, Any]:
        """The trail of rules and events behind one invoice or credit note."""
        return explain(self.store, str(number))

    def replay(self, until: When = None, on_page: Callable[[int], None] | None = None) -> Replay:
        """Rebuilds the finance projection and the read index from the log into a scratch
        store and compares them with the live ones (projections.audit.replay)."""
        moment = instant(until, "until")
        with self._finance_lock:
            return replay(self.store, self.finance, moment, on_page, self.listings.index)
