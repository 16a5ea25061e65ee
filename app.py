"""The Ledger application: every command and query, one object.

Commands: load aggregates, call one domain method, save every changed aggregate in one
transaction. A write that loses a race (the store's optimistic concurrency) is retried from
a fresh load. Money moves only after the invoice that asks for it is durably recorded.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import logging
import random
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, PersistenceError
from eventsourcing.utils import get_topic

from adapters import documents
from adapters.charges import ChargeLog
from adapters.clock import Clock, SystemClock
from adapters.failures import Failure
from adapters.gateway import ChargeResult, PaymentGateway, SandboxGateway
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
from adapters.positions import Positions
from adapters.store import EventStoreApp
from adapters.tables import Tables
from domain.account import Account, AccountStatus, issued_by
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
    RequestAccess,
    RequestErasure,
    RequestRectification,
    SellCode,
    SubjectRequest,
    WithdrawConsent,
)
from domain.dates import check_utc, iso
from domain.documents import IssuedDocument, Rendering, check_renderable, renderable
from domain.errors import DomainError, ErrorCode, invalid
from domain.integrity import LogSeal
from domain.invoicing import Invoice, NotificationKind
from domain.lifetime import Code
from domain.model import Aggregate, Event
from domain.money import MINOR_UNITS, Money
from domain.numbering import DocumentKind, InvoiceSeries, Numbering
from domain.personal import Scope
from domain.policy import Terms
from domain.pricing import PriceBook
from domain.registry import CommandRecord, SlugClaim, slug_candidates, slugify
from domain.residency import SubprocessorList
from domain.schedule import SetAside, Task, TaskKind
from domain.subjects import Right, Subject
from domain.values import check_day, check_instant
from projections.audit import Replay, Verification, explain, moved_heads, replay, verify
from projections.due import DueIndex
from projections.finance import FinanceProjection, facts, view_for
from projections.history import HistoryIndex
from projections.invoices import Issued, find_issued, issued_between
from projections.reports import (
    REPORTS,
    Facts,
    Month,
    Report,
    balanced,
    balances,
    only_currency,
)
from settings import Settings

MAX_COMMAND_ATTEMPTS = 20  # optimistic-concurrency retries before giving up
RETRY_BACKOFF_BASE_S = 0.002  # first retry waits up to 2 ms, doubling each time
RETRY_BACKOFF_CAP_S = 0.1
MAX_SLUG_SUFFIX = 1000  # ACC-1: acme, acme-2, ... acme-1001
DUE_BATCH_MAX = 100_000  # tasks one run_due call carries out at most
DUE_RUN_BATCH = 500  # tasks of one kind and instant carried out in one transaction
NOTIFICATION_PAGE = 500  # log entries the mail outbox reads at a time
log = logging.getLogger(__name__)
NOTIFIED_TOPIC = get_topic(Account.OwnerNotified)
CORRECTED_TOPIC = get_topic(Account.InvoiceCorrected)
ISSUED_TOPIC = get_topic(Account.InvoiceIssued)
DOCUMENTS_FOLLOWER = "documents"

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


When = datetime | str | None  # an instant as given to a query: ISO 8601 with an offset


@dataclass(frozen=True)
class Knowledge:
    """TIME-2, read both ways: what the ledger believed at `known_at` (recording time) about
    business time `as_of`. Both None: the ledger as it is now."""

    as_of: datetime | None = None
    known_at: datetime | None = None

    @classmethod
    def of(cls, as_of: When = None, known_at: When = None) -> Knowledge:
        return cls(_when(as_of, "as_of"), _when(known_at, "known_at"))

    @property
    def current(self) -> bool:
        return self.as_of is None and self.known_at is None

    def instant(self, now: datetime) -> datetime:
        """The business instant a query is about: as_of, else known_at, else now."""
        return self.as_of or self.known_at or now


NOW = Knowledge()


@dataclass
class Unit:
    """One transaction's worth of work: the aggregates it loaded and will save."""

    ledger: Ledger
    at: datetime
    actor: str | None
    # The first attempt starts from the cache; the write checks that what it read is still
    # current. A retry, after a clash, asks the store.
    fresh: bool = False
    loaded: dict[UUID, Aggregate] = field(default_factory=dict)
    viewed: dict[UUID, int] = field(default_factory=dict)  # read in place, at this version
    terms: Terms = field(init=False)
    numbering: Numbering = field(init=False)

    def __post_init__(self) -> None:
        self.terms = self.ledger.terms(self._prices())
        self.numbering = Numbering(self._series)

    def _prices(self) -> PriceBook:
        """The price book the terms read: the cache's own object, not a copy (nearly every
        command reads it, few change it; a change goes through `price_book`, on a copy).
        Its version is checked at the write like any other read."""
        held = None if self.fresh else self.ledger.store.in_cache(PriceBook.ID)
        if not isinstance(held, PriceBook):
            return self.price_book()
        self.viewed[held.id] = held.version
        return held

    def get(self, aggregate_id: UUID, kind: type[A]) -> A:
        if aggregate_id in self.loaded:
            found = self.loaded[aggregate_id]
        else:
            store = self.ledger.store
            found = store.aggregate(aggregate_id) if self.fresh else store.cached(aggregate_id)
            found.act_as(self.actor)
            self.loaded[aggregate_id] = found
        assert isinstance(found, kind)
        return found

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """Loads these aggregates at once, as `get` would one by one (a batch of due work:
        one query for those the cache lacks)."""
        wanted = [i for i in aggregate_ids if i not in self.loaded]
        for found in self.ledger.store.commanded(wanted, fresh=self.fresh).values():
            found.act_as(self.actor)
            self.loaded[found.id] = found

    def account(self, account_id: UUID) -> Account:
        try:
            return self.get(account_id, Account)
        except (AggregateNotFoundError, AssertionError):
            raise DomainError(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}", "account"
            ) from None

    def price_book(self) -> PriceBook:
        try:
            return self.get(PriceBook.ID, PriceBook)
        except AggregateNotFoundError:
            book = PriceBook.open(self.at)
            self.add(book)
            return book

    def add(self, aggregate: Aggregate) -> None:
        aggregate.act_as(self.actor)
        self.loaded[aggregate.id] = aggregate

    def _series(self, kind: DocumentKind, year: int, at: datetime) -> InvoiceSeries:
        series_id = InvoiceSeries.id_for(kind, year)
        try:
            return self.get(series_id, InvoiceSeries)
        except AggregateNotFoundError:
            series = InvoiceSeries.start(kind, year, at)
            self.add(series)
            return series

    def changed(self) -> list[Aggregate]:
        return [a for a in self.loaded.values() if a.has_pending]

    def reads(self) -> dict[UUID, int]:
        """What the work only read, at the version it read: the write checks it."""
        loaded = {i: a.version for i, a in self.loaded.items() if not a.has_pending}
        return {i: v for i, v in self.viewed.items() if i not in self.loaded} | loaded


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
        self.due = DueIndex(self.store)
        self.history = HistoryIndex(self.store)
        self._due_lock = threading.Lock()
        datastore = getattr(self.store.recorder, "datastore", None)  # None: in memory
        self.outbox = Outbox(datastore)
        self.positions = Positions(Tables(datastore))
        self._documents_lock = threading.Lock()
        self.charges = ChargeLog(datastore)
        self.finance = FinanceProjection(view_for(self.settings.store))
        self._finance_lock = threading.Lock()
        self._mail_lock = threading.Lock()

    def close(self) -> None:
        self.finance.finance.close()
        self.store.close()

    # ------------------------------------------------------------ plumbing

    def terms(self, prices: PriceBook) -> Terms:
        return Terms(
            catalog=self.catalog,
            prices=prices,
            seller_country=self.settings.seller_country,
            business_calendar=self.settings.business_calendar,
            ltd_redeem_deadline=self.settings.ltd_redeem_deadline,
        )

    def now(self) -> datetime:
        return check_utc(self.clock.now())

    def _transact(
        self,
        work: Callable[[Unit], T],
        *,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
        command: Command | None = None,
        target: UUID | None = None,
        encode: Callable[[T], dict[str, Any]] = lambda _: {},
    ) -> tuple[T | None, dict[str, Any], list[Aggregate]]:
        """Runs `work` and saves what it changed in one transaction, retrying from a fresh
        load when another writer got there first. With an idempotency key, a repeat of the
        same command by the same actor returns the first result and records nothing; the
        key is the actor's own (another token's use of it is another key)."""
        fingerprint = command.fingerprint(target) if command is not None else ""
        key = idempotency_key
        record_id = CommandRecord.id_for(actor, key) if key is not None else None
        for attempt in range(MAX_COMMAND_ATTEMPTS):
            unit = Unit(self, at or self.now(), actor, fresh=attempt > 0)
            if record_id is not None:
                previous = self._command_record(record_id)
                if previous is not None:
                    if previous.fingerprint != fingerprint:
                        raise DomainError(
                            ErrorCode.IDEMPOTENCY_KEY_REUSED,
                            "this idempotency key was used with a different request",
                            "idempotency_key",
                        )
                    return None, previous.result, []
            result = work(unit)
            encoded = encode(result)
            changed = unit.changed()
            if key is not None:
                changed.append(CommandRecord.record(actor, key, fingerprint, encoded, unit.at))
            try:
                if changed:
                    self.store.save_checked(*changed, reads=unit.reads())
            except IntegrityError:
                _back_off(attempt)
                continue
            return result, encoded, changed
        raise RuntimeError("too many concurrent writers; the command was not recorded")

    # ------------------------------------------------------------ documents

    def issue_documents(self) -> int:
        """Every invoice and credit note issued since the last run leaves as a document:
        the SHA-256 of each of its renderings is recorded (Account.DocumentIssued), so that
        `audit verify` covers them. Rendering takes tens of milliseconds a document, so it
        runs here, after the invoices are saved, and never inside the transaction that
        numbers them (INV-1); a renderer that fails stops no billing. Safe to repeat and to
        race: a document already recorded is not recorded again. How many were issued."""
        issued = 0
        with self._documents_lock:
            position = self.positions.position(DOCUMENTS_FOLLOWER)
            while page := self.store.recorder.select_notifications(
                start=position,
                limit=NOTIFICATION_PAGE,
                topics=[ISSUED_TOPIC, CORRECTED_TOPIC],
                inclusive_of_start=False,
            ):
                found: dict[UUID, list[Invoice]] = {}
                for stored in page:
                    event = self.store.event(stored)
                    found.setdefault(event.originator_id, []).extend(issued_by(event))
                for account_id, invoices in found.items():
                    issued += self._document(account_id, invoices)
                position = page[-1].id
                self.positions.advance(DOCUMENTS_FOLLOWER, position)
        return issued

    def _document(self, account_id: UUID, invoices: list[Invoice]) -> int:
        """One account's new documents; one that cannot be rendered is logged and left to
        be issued when it is first asked for, and the other accounts' go on."""
        account = self.load(account_id)
        wanted = [i for i in invoices if renderable(i) and i.number not in account.documents]
        try:
            rendered = self._issue(account, wanted)
        except Exception:  # a renderer's fault must not stop the other accounts' documents
            log.exception("documents of account %s not rendered", account_id)
            return 0
        if rendered:
            self._record_documents(account_id, rendered)
        return len(rendered)

    def _issue(self, account: Account, invoices: list[Invoice]) -> list[IssuedDocument]:
        """The documents of an account's invoices as they are issued now: with today's
        seller and the account's language."""
        seller = self.settings.seller()
        return [
            documents.issue(
                invoice, seller=seller, language=account.language, buyer_reference=account.slug
            )
            for invoice in invoices
        ]

    def _record_documents(self, account_id: UUID, issued: list[IssuedDocument]) -> None:
        """Each document once: a concurrent issuer of the same one got there first."""

        def work(unit: Unit) -> None:
            account = unit.account(account_id)
            for document in issued:
                if document.number not in account.documents:
                    account.record_document(document, unit.at)

        self._transact(work)

    def _command_record(self, record_id: UUID) -> CommandRecord | None:
        try:
            record = self.store.aggregate(record_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(record, CommandRecord)
        return record

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

        _, _, changed = self._transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=account_id,
        )
        saved = next((a for a in changed if a.id == account_id), None)
        if isinstance(saved, Account):
            self.collect_payments(account_id, self.now(), actor=actor, saved=saved)

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
        result, encoded, _ = self._transact(
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
        slug = self._free_slug(slugify(company))
        account = opening(slug)
        unit.add(account)
        unit.add(SlugClaim.claim(slug, account.id, unit.at))
        return account

    def _free_slug(self, base: str) -> str:
        for candidate in slug_candidates(base, MAX_SLUG_SUFFIX):
            if SlugClaim.id_for(candidate) not in self.store.repository:
                return candidate
        raise invalid("company", "no free slug left for this company name")

    def announce_price_change(
        self,
        command: AnnouncePriceChange,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """BILL-6: the owner of every affected account (open or trialing, on that plan,
        currency and cycle) is notified at announcement, in the same transaction."""

        def work(unit: Unit) -> None:
            change = unit.price_book().announce(
                unit.terms.catalog,
                plan=command.plan,
                currency=command.currency,
                cycle=command.cycle,
                price=command.price.amount,
                effective_on=command.effective_on,
                at=unit.at,
            )
            for account_id in self.account_ids():
                unit.account(account_id).notify_price_change(change, unit.at)

        self._transact(work, actor=actor, idempotency_key=idempotency_key, command=command)

    def sell_code(
        self,
        command: SellCode,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """LTD-1: a lifetime-deal code is sold once."""

        def work(unit: Unit) -> None:
            if Code.id_for(command.code) in self.store.repository:
                raise invalid("code", "this code was sold already")
            unit.add(Code.sell(command.code, command.currency, unit.at))

        self._transact(work, actor=actor, idempotency_key=idempotency_key, command=command)

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

        self._transact(
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
        """GDPR-1: consent per purpose, optionally linked to a customer account; the
        subject's id. By `subject_id` of a subject the ledger holds; without it, by the
        subject its e-mail address names, or a new one (whose id the ledger makes). Not
        account activity (IDLE-1)."""
        newcomer = subject_id is None
        claim: tuple[UUID, bool] | None = None
        if subject_id is None:
            if command.email is None:
                Subject.check_newcomer(command.name, command.email)
            assert command.email is not None
            # the subject the address names, or a new one (of two racing, one wins)
            claim = self.store.keys.claim_subject(command.email, uuid4(), self.now())
            subject_id = claim[0]
        subject = subject_id

        def work(unit: Unit) -> None:
            if command.account is not None:
                unit.account(command.account)
            found = self._subject_if_any(unit, subject)
            if found is None and not newcomer:
                raise DomainError(
                    ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject}", "subject"
                )
            if found is None:
                unit.add(
                    Subject.first_consent(
                        subject_id=subject,
                        purposes=command.purposes,
                        name=command.name,
                        email=command.email,
                        account_id=command.account,
                        source=command.source,
                        at=unit.at,
                        actor=actor,
                    )
                )
                return
            found.give_consent(
                purposes=command.purposes,
                name=command.name,
                email=command.email,
                account_id=command.account,
                source=command.source,
                at=unit.at,
            )

        self._addressed(
            subject,
            command.email,
            lambda: self._transact(
                work,
                actor=actor,
                idempotency_key=idempotency_key,
                command=command,
                target=subject,
            ),
            claim=claim,
        )
        return subject

    def _subject_if_any(self, unit: Unit, subject_id: UUID) -> Subject | None:
        try:
            return unit.get(subject_id, Subject)
        except AggregateNotFoundError:
            return None
        except AssertionError:  # the id of another kind of aggregate
            raise DomainError(
                ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject"
            ) from None

    def _addressed(
        self,
        subject_id: UUID,
        email: str | None,
        record: Callable[[], Any],
        *,
        claim: tuple[UUID, bool] | None = None,
    ) -> None:
        """Records a command that gives a subject an address, which from then on names the
        subject (the look-up of `find_subject`). The address is claimed first (`claim`:
        it was already, by the caller, for an id the look-up gave, which may be new), so
        two racing to create one subject make one. A refused command withdraws a claim it
        made (unless the subject has recorded more meanwhile: another command may have
        taken the claim up), and claims again once recorded, should such a withdrawal
        have come in between. The address the subject had before no longer names it."""
        if email is None:
            record()
            return
        keys = self.store.keys
        before, version = self._address_and_version(subject_id, required=claim is None)
        holder, made = claim or keys.claim_subject(email, subject_id, self.now())
        if holder != subject_id:
            raise invalid("email", "this address is another data subject's")
        try:
            record()
        except BaseException:
            if made:
                keys.withdraw_claim(email, subject_id, version)
            raise
        keys.claim_subject(email, subject_id, self.now())
        if before is not None and before.casefold() != email.casefold():
            keys.release_address(before, subject_id, self.now())

    def _address_and_version(self, subject_id: UUID, *, required: bool) -> tuple[str | None, int]:
        """The subject's address and version now; None and 0 for one not recorded yet,
        UNKNOWN_SUBJECT when it must be (an address goes only to a subject the ledger
        holds, or to the new one a look-up gave)."""
        if required:
            found = self._load_subject(subject_id)
            return found.email, found.version
        try:
            held = self.store.aggregate(subject_id)
        except AggregateNotFoundError:
            return None, 0
        assert isinstance(held, Subject)
        return held.email, held.version

    def find_subject(self, email: str) -> UUID:
        """The subject an e-mail address names, while its data is held (not after erasure:
        the look-up goes with it)."""
        found = self.store.keys.find_subject(email)
        if found is None or found not in self.store.repository:
            raise DomainError(
                ErrorCode.UNKNOWN_SUBJECT, "no data subject has this address", "email"
            )
        return found

    def withdraw_consent(
        self,
        subject_id: UUID,
        command: WithdrawConsent,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self._transact(
            lambda unit: self._subject(unit, subject_id).withdraw_consent(
                command.purposes, unit.at
            ),
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )

    def _subject(self, unit: Unit, subject_id: UUID) -> Subject:
        found = self._subject_if_any(unit, subject_id)
        if found is None:
            raise DomainError(ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject")
        return found

    def _load_subject(self, subject_id: UUID, known: Knowledge = NOW) -> Subject:
        try:
            found = self._aggregate(subject_id, known)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Subject):
            raise DomainError(ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject")
        return found

    def _linked_account(self, subject: Subject, known: Knowledge = NOW) -> Account | None:
        return self.load(subject.account_id, known) if subject.account_id else None

    def subject(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        known = Knowledge.of(as_of, known_at)
        found = self._load_subject(subject_id, known)
        return {
            "id": str(found.id),
            "name": found.name,
            "email": found.email,
            "consents": [p.value for p in found.in_force()],
            "erased": found.erased,
            "erased_at": _instant(found.erased_at),
            "erasure_pending": found.erased and known.current and self._purge_pending(found),
            "restricted": found.restricted,
            "objections": [p.value for p in found.objections],
            "account": str(found.account_id) if found.account_id else None,
            "requests": [
                {
                    "number": r.number,
                    "right": r.right.value,
                    "received_at": iso(r.received_at),
                    "due_on": str(r.due_on),
                    "answered_at": _instant(r.answered_at),
                    "answer": r.answer,
                }
                for r in found.requests
            ],
        }

    def _purge_pending(self, subject: Subject) -> bool:
        """GDPR-4: whether keys destroyed and addresses forgotten for the subject (and its
        account's profile) may still be on a database page: another session could still
        see them, and the scheduler's next run finishes the purge (adapters.keys)."""
        holders = [subject.id] + ([subject.account_id] if subject.account_id else [])
        return not all(self.store.keys.purged(holder) for holder in holders)

    def retention(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        """GDPR-2/5: per category, the date the data falls due for erasure and why."""
        known = Knowledge.of(as_of, known_at)
        found = self._load_subject(subject_id, known)
        return [
            {
                "category": item.category,
                "due_on": str(item.due_on) if item.due_on else None,
                "basis": item.basis,
            }
            for item in found.retention(self._linked_account(found, known))
        ]

    def falls_due(self, before: date | str) -> list[dict[str, Any]]:
        """GDPR-2/3/5 for the scheduler and the data-protection officer: every retention
        deadline and every request deadline before a date, earliest first, with whether
        the work was done."""
        before = _day(before, "before")
        with self._due_lock:
            self.due.catch_up()
            subject_ids = self.due.subjects_in_order()
        found: list[dict[str, Any]] = []
        for subject_id in subject_ids:
            subject = self.store.aggregate(subject_id)
            assert isinstance(subject, Subject)
            account = self._linked_account(subject)
            for item in subject.retention(account):
                if item.due_on is not None and item.due_on < before:
                    found.append(
                        {
                            "subject": str(subject.id),
                            "category": item.category,
                            "due_on": str(item.due_on),
                            "basis": item.basis,
                            "done": subject.carried_out(item, account),
                        }
                    )
            found.extend(
                {
                    "subject": str(subject.id),
                    "category": f"request:{r.right.value}",
                    "due_on": str(r.due_on),
                    "basis": "request",
                    "done": r.answered_at is not None,
                }
                for r in subject.requests
                if r.due_on < before
            )
        return sorted(found, key=lambda item: item["due_on"])

    # -------------------------------------------------- subject requests (GDPR-3/4)

    def subject_request(
        self,
        subject_id: UUID,
        command: SubjectRequest,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """GDPR-3: records the request with its deadline, carries it out and records the
        answer, in one transaction; answers with the export for access, portability and
        information, else with the subject as it now is."""
        if isinstance(command, RequestErasure):
            self._erase_on_request(subject_id, command, actor, idempotency_key)
            return self.subject(subject_id)
        email = command.email if isinstance(command, RequestRectification) else None
        self._addressed(
            subject_id,
            email,
            lambda: self._answer(subject_id, command, command.answer, actor, idempotency_key),
        )
        if isinstance(command, RequestAccess):
            return self.export_subject(subject_id)
        return self.subject(subject_id)

    def _answer(
        self,
        subject_id: UUID,
        command: SubjectRequest,
        carry_out: Callable[[Subject, datetime], str],
        actor: str | None,
        idempotency_key: str | None,
    ) -> None:
        def work(unit: Unit) -> None:
            subject = self._subject(unit, subject_id)
            number = subject.receive_request(Right(command.right), unit.at)
            subject.answer_request(number, carry_out(subject, unit.at), unit.at)

        self._transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )

    def _erase_on_request(
        self,
        subject_id: UUID,
        command: RequestErasure,
        actor: str | None,
        idempotency_key: str | None,
    ) -> None:
        """GDPR-4: erasure is carried out when requested: the subject's key and, for the
        person of a linked account, the account's profile key are destroyed first, with
        the look-up from the subject's address; then the facts are recorded. Billing
        records under GDPR-5 keep their key until their period ends; the scheduler
        destroys it then."""
        found = self._load_subject(subject_id)
        account = self._linked_account(found)
        at = self.now()
        repeated = (
            idempotency_key is not None
            and self._command_record(CommandRecord.id_for(actor, idempotency_key)) is not None
        )
        scopes = account.scopes_erasable_on_request(at) if account and not repeated else []
        if not repeated:  # a repeat must not destroy keys made since the first request
            self._destroy_keys(found.id, [Scope.SUBJECT], at)
            self.store.keys.forget_subject(found.id, at)
        if account is not None:
            self._destroy_keys(account.id, scopes, at)

        def carry_out(fresh: Subject, when: datetime) -> str:
            fresh.erase_on_request(when)
            return "erased"

        def work(unit: Unit) -> None:
            subject = self._subject(unit, subject_id)
            number = subject.receive_request(Right.ERASURE, unit.at)
            answer = carry_out(subject, unit.at)
            if account is not None:
                linked = unit.account(account.id)
                linked.erase_personal_data(scopes, "requested", unit.at)
                end = linked.statutory_end()
                if Scope.BILLING not in scopes and end is not None:
                    answer = f"erased; billing records kept until {end} (GDPR-5)"
            subject.answer_request(number, answer, unit.at)

        self._transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )
        self.store.keys.purge(at)

    def export_subject(self, subject_id: UUID) -> dict[str, Any]:
        """GDPR-3: everything the ledger holds on the subject, machine-readable: the subject,
        its retention, and every recorded fact about it and its linked account."""
        found = self._load_subject(subject_id)
        account = self._linked_account(found)
        export: dict[str, Any] = {
            "subject": self.subject(subject_id),
            "retention": self.retention(subject_id),
            "events": self._history(found.id),
        }
        if account is not None:
            export["account"] = {
                **self.account(account.id),
                "owner": account.owner.model_dump(mode="json") if account.owner else None,
                "company": account.company,
                "country": account.country,
                "invoices": self.invoices(account.id),
                "payments": self.payments(account.id),
                "refunds": self.refunds(account.id),
                "notifications": self.notifications(account.id),
                "events": self._history(account.id),
            }
        return export

    def _history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return [
            {"type": type(e).__qualname__, **e.model_dump(mode="json")}
            for e in self.store.events.get(aggregate_id)
            if isinstance(e, Event)
        ]

    # ------------------------------------------------------------ sub-processors

    def _subprocessor_list(self, unit: Unit) -> SubprocessorList:
        try:
            return unit.get(SubprocessorList.ID, SubprocessorList)
        except AggregateNotFoundError:
            book = SubprocessorList.seed(unit.at)
            unit.add(book)
            return book

    def engage_subprocessor(self, command: EngageSubprocessor, *, actor: str | None = None) -> None:
        """RES-1: the list changes only by recorded events (a vendor command)."""
        self._transact(
            lambda unit: self._subprocessor_list(unit).engage(
                command.name, command.regions, command.from_day, unit.at
            ),
            actor=actor,
            command=command,
        )

    def disengage_subprocessor(
        self, command: DisengageSubprocessor, *, actor: str | None = None
    ) -> None:
        self._transact(
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
            book = self._aggregate(SubprocessorList.ID, known)
        except AggregateNotFoundError:
            book = SubprocessorList.seed(self.now())
        assert isinstance(book, SubprocessorList)
        return book.serving(account.region, _day(on, "on"))

    # ------------------------------------------------------------ payments

    def collect_payments(
        self,
        account_id: UUID,
        at: datetime,
        *,
        actor: str | None = None,
        saved: Account | None = None,
    ) -> None:
        """PAY-2 for one account. `saved`: the account as a command just saved it, so that
        the common case, nothing due, costs no second load."""
        self._collect([account_id], at, actor, {account_id: saved} if saved else {})

    def _collect(
        self,
        account_ids: list[UUID],
        at: datetime,
        actor: str | None,
        saved: dict[UUID, Account],
        *,
        tasks: dict[UUID, Task] | None = None,
    ) -> None:
        """PAY-2: charges every open invoice of these accounts whose attempt is due, through
        the gateway, once per attempt (the gateway key is the invoice number and attempt),
        then records the outcomes in one transaction; again while any is still due. For due
        work (`tasks`: the batch's, by account), what the domain raises for an account
        names its task (its payment, once loaded): the others are charged and recorded
        first, then TaskFailed names the accounts to set aside."""
        due_work = tasks is not None
        pending = account_ids
        failed: list[FailedTask] = []
        for _ in range(MAX_COMMAND_ATTEMPTS):
            charges: list[tuple[Account, Invoice]] = []
            for account_id in pending:
                try:
                    with _task_of(account_id, tasks.get(account_id) if tasks else None):
                        account = saved.get(account_id) or self.store.aggregate(account_id)
                    assert isinstance(account, Account)
                    with _task_of(account_id, account.payment_task() if due_work else None):
                        due = account.due_charges(at)
                except TaskFailed as unloadable:
                    failed += unloadable.tasks
                    continue
                if due:
                    charges.append((account, due[0]))
            if not charges:
                break
            outcomes = self._charge(charges)
            changed, refused = self._record_outcomes(outcomes, at, actor, due_work)
            failed += refused
            saved = {a.id: a for a in changed if isinstance(a, Account)}
            gone = {f.aggregate_id for f in refused}
            pending = [account.id for account, _ in charges if account.id not in gone]
        if failed:
            raise TaskFailed(failed)

    def _record_outcomes(
        self, outcomes: list[Outcome], at: datetime, actor: str | None, due_work: bool
    ) -> tuple[list[Aggregate], list[FailedTask]]:
        """Records what the gateway said, in one transaction; an account whose recording
        raises is left out (its charge is asked again under the same key when its task is
        retried) and the others are recorded without it."""
        failed: list[FailedTask] = []
        for _ in range(len(outcomes)):
            try:
                _, _, changed = self._transact(
                    functools.partial(_record, outcomes, due_work), at=at, actor=actor
                )
                return changed, failed
            except TaskFailed as refused:
                failed += refused.tasks
                gone = {f.aggregate_id for f in refused.tasks}
                outcomes = [o for o in outcomes if o.account_id not in gone]
            if not outcomes:
                break
        return [], failed

    def _charge(self, charges: list[tuple[Account, Invoice]]) -> list[Outcome]:
        """One attempt at the gateway per invoice, under the attempt's key, and what it
        said. An attempt asked before (its record failed, or a crash cut it off) takes the
        answer kept then (adapters.charges): the gateway is asked once per attempt, and
        its answers are kept before any is recorded."""
        keys = [f"charge:{i.number}:{i.declines + 1}" for _, i in charges]
        kept = self.charges.answers(keys)
        answered: dict[str, ChargeResult] = {}
        outcomes = []
        for key, (account, invoice) in zip(keys, charges, strict=True):
            assert account.payment_method is not None
            result = kept.get(key) or self.gateway.charge(
                account_id=account.id,
                token=account.payment_method.token,
                amount=invoice.total,
                currency=invoice.currency,
                key=key,
            )
            if key not in kept:
                answered[key] = result
            outcomes.append(Outcome(account.id, invoice.number, invoice.declines + 1, result))
        self.charges.keep(answered, self.now())
        return outcomes

    # ------------------------------------------------------------ due work

    def run_due(
        self,
        until: datetime | None = None,
        *,
        actor: str | None = "scheduler",
        mailer: Mailer | None = None,
    ) -> int:
        """Runs every piece of scheduled work due up to `until`, each at its own due instant,
        in TIME-3's order. Idempotent: work already done is not found due again. A task
        that raises is set aside for an operator (a fact on its aggregate, WorkSetAside)
        and everything else goes on. With a mailer, the e-mails waiting are handed over
        before any personal data is erased, so an owner still hears that the account was
        deleted. Then what erasures left pending in the storage is purged, when it can be
        (adapters.keys)."""
        until = check_utc(until or self.now())
        done = 0
        with self._due_lock, _heap_frozen():
            seen: set[str] = set()
            while done < DUE_BATCH_MAX:
                self.due.catch_up()
                batch = self.due.pop_due_batch(until, min(DUE_RUN_BATCH, DUE_BATCH_MAX - done))
                if not batch:
                    break
                for _, task in batch:
                    assert task.key not in seen, f"task {task.key} came due twice in one run"
                    seen.add(task.key)
                try:
                    done += self._run_isolated(batch, actor, mailer)
                except BaseException:
                    self.due.requeue(batch)  # a failed run leaves its work due for the next
                    raise
                gc.freeze()  # what this batch left alive joins what the run found
        self.store.keys.purge(self.now())
        return done

    def _run_isolated(
        self, batch: list[tuple[UUID, Task]], actor: str | None, mailer: Mailer | None
    ) -> int:
        """Carries out a batch; tasks the domain raised on are set aside and the batch runs
        again without them, from the start (what the failed attempt recorded is found
        done), so one bad account never stops the others. Bounded: each round sets at
        least one task aside. How many tasks were carried out."""
        pending = batch
        for _ in range(len(batch)):
            try:
                self._run_batch(pending, actor, mailer)
                return len(pending)
            except TaskFailed as failed:
                self._set_aside(failed.tasks, actor)
                gone = {task.aggregate_id for task in failed.tasks}
                pending = [item for item in pending if item[0] not in gone]
            if not pending:
                break
        return 0

    def _run_batch(
        self, batch: list[tuple[UUID, Task]], actor: str | None, mailer: Mailer | None
    ) -> None:
        aggregate_id, task = batch[0]
        if task.kind is TaskKind.ERASURE:
            if mailer is not None:
                self.deliver_mail(mailer)
            self._carry_out_erasure(aggregate_id, task, actor)
        else:
            self._run_tasks(batch, actor)

    def _run_tasks(self, batch: list[tuple[UUID, Task]], actor: str | None) -> None:
        """Work of one kind due at one instant, for many accounts in TIME-3's order: one
        transaction for the work (numbers taken in that order), then the charges it made
        due, recorded in one more (money moves only after its invoice is recorded)."""
        at = batch[0][1].due_at
        ids = [account_id for account_id, _ in batch]
        saved: dict[UUID, Account] = {}
        # The batch's keys in one query, not one per personal field it opens or seals.
        with self.store.keys.prefetched(ids):
            if batch[0][1].kind is not TaskKind.PAYMENT:

                def work(unit: Unit) -> None:
                    _preload(unit, ids)
                    for account_id, task in batch:
                        with _task_of(account_id, task):
                            account = unit.account(account_id)
                            account.run_task(task, unit.terms, unit.numbering)

                _, _, changed = self._transact(work, at=at, actor=actor)
                saved = {a.id: a for a in changed if isinstance(a, Account)}
            self._collect(ids, at, actor, saved, tasks=dict(batch))

    def _carry_out_erasure(self, aggregate_id: UUID, task: Task, actor: str | None) -> None:
        """GDPR-2/5: destroys the keys whose retention ended, then records it. The keys go
        first: after a crash in between the data is already unreadable, and the task, still
        due, records the fact on the next run. The run purges the storage once, at its
        end."""
        with _task_of(aggregate_id, task):
            found = self.store.aggregate(aggregate_id)
        if isinstance(found, Subject):
            with _task_of(aggregate_id, task):
                still_due = found.next_task(self._linked_account(found)) == task
            if not still_due:
                return
            self._destroy_keys(found.id, [Scope.SUBJECT], task.due_at)
            self.store.keys.forget_subject(found.id, task.due_at)

            def erase_subject(unit: Unit) -> None:
                subject = unit.get(aggregate_id, Subject)
                with _task_of(aggregate_id, task):
                    subject.erase_on_lapse(unit.at)

            self._transact(erase_subject, at=task.due_at, actor=actor)
        else:
            assert isinstance(found, Account)
            with _task_of(aggregate_id, task):
                scopes = found.scopes_due(task.due_at)
            self._destroy_keys(found.id, scopes, task.due_at)

            def erase_account(unit: Unit) -> None:
                account = unit.account(aggregate_id)
                with _task_of(aggregate_id, task):
                    account.erase_personal_data(scopes, "retention_ended", unit.at)

            self._transact(erase_account, at=task.due_at, actor=actor)

    def _set_aside(self, failed: list[FailedTask], actor: str | None) -> None:
        """Records on each aggregate that its task raised and waits for an operator
        (Account.WorkSetAside): nothing is due of it, in any process, until released.
        One that cannot even be loaded (its events cannot be read) is kept apart by this
        process's index instead, and shown as unreadable."""
        for item in failed:

            def work(unit: Unit, item: FailedTask = item) -> None:
                holder = unit.get(item.aggregate_id, Aggregate)
                assert isinstance(holder, Account | Subject)
                holder.set_aside_work(item.task, item.failure.error, item.failure.where, unit.at)

            try:
                self._transact(work, actor=actor)
            except PersistenceError:
                raise
            except Exception:
                self.due.forget(item.aggregate_id)

    def failed_work(self) -> list[dict[str, Any]]:
        """Due work set aside because it raised, with its error's type and where it was
        raised, oldest failure first (for operators: API `admin`, CLI); then the
        aggregates whose events this code cannot read, which no work reaches until it
        can (after a fix and a restart: kind `unreadable`, not retried by key)."""
        with self._due_lock:
            self.due.catch_up()
            held = dict(self.due.held)
            unreadable = dict(self.due.unreadable)
        rows = [_held_view(i, h) for i, h in sorted(held.items(), key=lambda i: i[1].at)]
        return rows + [_unreadable_view(i, f) for i, f in unreadable.items()]

    def retry_due_work(self, key: str, *, actor: str | None = "operator") -> dict[str, Any]:
        """Releases a task that was set aside, now that its cause is fixed, and carries it
        out: at its own due instant, with the numbers it takes from its series then
        (README). Done once however often it is retried: a task done already is not
        found due again, and a released one is no longer set aside. The task as it stands
        after: done, or set aside again."""
        with self._due_lock:
            self.due.catch_up()
            holder = next((i for i, h in self.due.held.items() if h.key == key), None)
            if holder is None:
                raise invalid("key", "no due work set aside under this key")

            def release(unit: Unit) -> Task:
                found = unit.get(holder, Aggregate)
                assert isinstance(found, Account | Subject)
                return found.release_work(key, unit.at)

            task, _, _ = self._transact(release, actor=actor)
            assert task is not None
            try:
                self._run_batch([(holder, task)], actor, None)
            except TaskFailed as failed:
                self._set_aside(failed.tasks, actor)
            self.due.catch_up()
            again = self.due.held.get(holder)
        self.store.keys.purge(self.now())
        if again is not None and again.key == key:
            return _held_view(holder, again)
        return {"key": key, "aggregate": str(holder), "state": "done"}

    def _destroy_keys(self, holder: UUID, scopes: list[Scope], at: datetime) -> None:
        for scope in scopes:
            self.store.keys.shred(holder, scope, at)

    # ------------------------------------------------------------ mail

    def deliver_mail(self, mailer: Mailer) -> dict[str, int]:
        """Sends every notification due for delivery, each once: how many ended in each
        state. A failed attempt is retried later with backoff (adapters/mail.py)."""
        counts: dict[str, int] = {}
        with self._mail_lock:
            self._follow_notifications()
            now = self.now()
            self.outbox.expire_claims(now)
            while claimed := self.outbox.claim(now):
                for row in claimed:
                    state, error = self._send(row, mailer)
                    state = self.outbox.settle(row, state, self.now(), error)
                    counts[state.value] = counts.get(state.value, 0) + 1
        return counts

    def _follow_notifications(self) -> None:
        position = self.outbox.position()
        while True:
            page = self.store.recorder.select_notifications(
                start=position,
                limit=NOTIFICATION_PAGE,
                topics=[NOTIFIED_TOPIC, CORRECTED_TOPIC],
                inclusive_of_start=False,
            )
            if not page:
                return
            found = []
            for stored in page:
                event = self.store.event(stored)
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
        account = self.load(row.account_id)
        if row.kind == CORRECTION_KIND:
            letter, to = self._correction_mail(account, row.notification_id)
        else:
            letter, to = self._notification_mail(account, row.notification_id)
        if letter is None or to is None:
            return Delivery.UNDELIVERABLE, None
        mail = message(
            letter,
            to=to,
            sender=self.settings.mail_from,
            notification_id=row.notification_id,
            at=self.now(),
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
            (f"{number}.pdf", self.document(number, Rendering.PDF)) for number in numbers
        )
        return replace(letter, attachments=letter.attachments + attachments)

    def mail_outbox(self) -> list[dict[str, Any]]:
        """Every notification's delivery state (ids only, no addresses)."""
        with self._mail_lock:
            self._follow_notifications()
        return self.outbox.rows()

    def release_mail(self, notification_id: UUID) -> bool:
        """An operator confirms an uncertain or failed e-mail never arrived: send it again."""
        return self.outbox.release(notification_id, self.now())

    def next_due(self) -> datetime | None:
        with self._due_lock:
            self.due.catch_up()
            return self.due.peek()

    # ------------------------------------------------------------ queries

    def account_ids(self) -> list[UUID]:
        """Every account, in the order opened."""
        with self._due_lock:
            self.due.catch_up()
            return self.due.accounts_in_opening_order()

    def _aggregate(self, aggregate_id: UUID, known: Knowledge = NOW) -> Aggregate:
        """The aggregate now, or as it was known (domain.model.as_known)."""
        if known.current:
            return self.store.aggregate(aggregate_id)
        found = self.history.as_known(aggregate_id, as_of=known.as_of, known_at=known.known_at)
        if found is None:
            raise AggregateNotFoundError(aggregate_id)
        return found

    def load(self, account_id: UUID, known: Knowledge = NOW) -> Account:
        try:
            account = self._aggregate(account_id, known)
        except AggregateNotFoundError:
            raise DomainError(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}", "account"
            ) from None
        if not isinstance(account, Account):
            raise DomainError(ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}", "account")
        return account

    def account(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        a = self.load(account_id, Knowledge.of(as_of, known_at))
        period = a.period if a.status is not AccountStatus.TRIALING else None
        return {
            "id": str(a.id),
            "status": a.status.value,
            "plan": a.plan,
            "cycle": a.cycle.value,
            "seats": a.seats,
            "suspension_reasons": sorted(r.value for r in a.suspension_reasons),
            "trial_ends_at": _instant(a.trial_ends_at),
            "period_start": _instant(period.start if period else None),
            "period_end": _instant(period.end if period else None),
            "region": a.region,
            "slug": a.slug,
            "currency": a.currency,
            "country": a.country,
            "language": a.language.value,
            "cancellation_effective_at": _instant(a.cancellation_effective_at),
        }

    def invoices(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        known = Knowledge.of(as_of, known_at)
        return [_invoice_view(i) for i in self.load(account_id, known).invoices]

    def payments(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        a = self.load(account_id, Knowledge.of(as_of, known_at))
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

    def refunds(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        a = self.load(account_id, Knowledge.of(as_of, known_at))
        return [
            {"amount": str(a.money(r.amount)), "at": iso(r.at), "rule": r.rule} for r in a.refunds
        ]

    def balance(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, str]:
        """What the account owes and holds: now, or at `as_of` as known at `known_at`."""
        known = Knowledge.of(as_of, known_at)
        found = self.load(account_id, known).balance(known.instant(self.now()))
        return {k: str(v) for k, v in found.items()}

    def notifications(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        return [
            {
                "kind": n.kind.value,
                "to": n.to,
                "at": iso(n.at),
                "subject": n.subject,
                "id": str(n.id),
            }
            for n in self.load(account_id, Knowledge.of(as_of, known_at)).notifications
        ]

    def liability_cap(
        self,
        account_id: UUID,
        claim_date: date | str,
        *,
        as_of: When = None,
        known_at: When = None,
    ) -> str:
        account = self.load(account_id, Knowledge.of(as_of, known_at))
        return str(account.liability_cap(_day(claim_date, "on")))

    def credit_window(
        self, account_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any] | None:
        """CREDIT-3: active_from, remaining now (or at as_of), ends_on, and how each change
        moved the end."""
        known = Knowledge.of(as_of, known_at)
        return _window_view(self.load(account_id, known), known.instant(self.now()))

    def credit_windows(self, *, as_of: When = None, known_at: When = None) -> list[dict[str, Any]]:
        """CREDIT-3 for finance: every open pool, in account opening order, with its end's
        history."""
        known = Knowledge.of(as_of, known_at)
        windows = []
        for account_id in self.account_ids():
            try:
                account = self.load(account_id, known)
            except DomainError:
                continue  # not yet opened, or not yet known
            window = _window_view(account, known.instant(self.now()))
            if window is not None:
                windows.append({"account": str(account_id), "slug": account.slug, **window})
        return windows

    def events(self) -> Iterator[Event]:
        """Every event in the order recorded."""
        for notification in self.store.notifications():
            yield self.store.event(notification)

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
        if name not in REPORTS:
            raise invalid("report", f"must be one of {sorted(REPORTS)}, not {name!r}")
        if currency is not None and currency not in MINOR_UNITS:
            # a currency the ledger never bills in would print an empty report, as if
            # there were nothing to report
            raise invalid("currency", f"must be one of {sorted(MINOR_UNITS)}, not {currency!r}")
        found = self.facts(_when(known_at, "known_at"))
        return only_currency(REPORTS[name](found, Month.parse(month)), currency)

    # ------------------------------------------------------------ audit

    def checkpoint(
        self, *, actor: str | None = None, every: timedelta | None = None
    ) -> dict[str, Any] | None:
        """Seals the log as it stands (domain.integrity): the heads moved since the last
        checkpoint and the Merkle root over all heads. None when nothing but the seal
        itself was recorded since, or when the last checkpoint is younger than `every`."""

        def work(unit: Unit) -> dict[str, Any] | None:
            try:
                seal = unit.get(LogSeal.ID, LogSeal)
            except AggregateNotFoundError:
                seal = LogSeal.start(unit.at)
                unit.add(seal)
            if every is not None and seal.sealed_since(unit.at, every):
                return None
            position = self.store.recorder.max_notification_id() or 0
            changed = moved_heads(self.store, seal.position, position)
            if not changed:
                return None
            root = seal.checkpoint(position, changed, unit.at)
            return {"position": position, "root": root, "heads": len(seal.heads)}

        result, _, _ = self._transact(work, actor=actor)
        return result

    def invoice(self, number: str) -> dict[str, Any]:
        """One invoice or credit note, as it stands now (its status follows payments)."""
        found = find_issued(self.store, number)
        current = self.load(found.account_id).invoice(number)
        return {"account": str(found.account_id)} | _invoice_view(current)

    def document(self, number: str, rendering: Rendering) -> bytes:
        """An issued invoice or credit note as a document, rendered again from the log:
        the same bytes as when it was issued (`check_document` proves it). An invoice
        issued before documents were gets its document now, recorded once."""
        return self._rendering(find_issued(self.store, number), rendering)

    def check_document(self, number: str) -> dict[str, Any]:
        """Renders an issued document again and compares each rendering's SHA-256 with the
        one recorded when it was issued."""
        found = self._recorded(number)
        assert found.document is not None
        recorded = found.document
        now = documents.digests(documents.rendered(check_renderable(found.invoice), recorded))
        return {
            "number": number,
            "version": recorded.version,
            "matches": all(now[k] == v for k, v in recorded.sha256.items()),
            "renderings": {
                k.value: {"recorded": v, "rendered": now[k], "matches": now[k] == v}
                for k, v in recorded.sha256.items()
            },
            "libraries": {"recorded": recorded.libraries, "now": documents.libraries()},
        }

    def recorded_document(self, number: str) -> IssuedDocument:
        """What was recorded when a document was issued: its renderings' SHA-256 and what
        they were rendered from."""
        found = self._recorded(number).document
        assert found is not None
        return found

    def _recorded(self, number: str) -> Issued:
        found = find_issued(self.store, number)
        if found.document is None:
            raise DomainError(
                ErrorCode.UNKNOWN_DOCUMENT,
                f"{number} has no document recorded yet: the scheduler's documents run "
                "records it, or its first fetch",
                "number",
            )
        return found

    def issued_documents(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[str, Callable[[Rendering], bytes]]]:
        """Every invoice and credit note issued in [start, end), each with its renderer."""
        found = issued_between(self.store, self.account_ids(), start, end)
        return [(i.invoice.number, functools.partial(self._rendering, i)) for i in found]

    def _rendering(self, found: Issued, rendering: Rendering) -> bytes:
        found = self._documented(found)  # refuses a document of erased details
        assert found.document is not None
        return documents.rendered(found.invoice, found.document, rendering)[rendering]

    def _documented(self, found: Issued) -> Issued:
        """`found`, with its document issued now if it has none yet: asked for before
        `issue_documents` came to it, or issued before documents were. It is rendered with
        the seller and the account's language of now."""
        check_renderable(found.invoice)
        if found.document is not None:
            return found
        self._record_documents(
            found.account_id, self._issue(self.load(found.account_id), [found.invoice])
        )
        recorded = self.load(found.account_id).documents[found.invoice.number]
        return Issued(found.account_id, found.invoice, recorded)

    def verify(self, on_page: Callable[[int], None] | None = None) -> Verification:
        """Recomputes every hash chain and checkpoint from the stored bytes."""
        return verify(self.store, on_page)

    def explain(self, number: str) -> dict[str, Any]:
        """The trail of rules and events behind one invoice or credit note."""
        return explain(self.store, str(number))

    def replay(self, until: When = None, on_page: Callable[[int], None] | None = None) -> Replay:
        """Rebuilds the finance projection from the log into a scratch store and compares
        it with the live one (projections.audit.replay)."""
        moment = _when(until, "until")
        with self._finance_lock:
            return replay(self.store, self.finance, moment, on_page)

    def ledger(self, *, as_of: When = None, known_at: When = None) -> dict[str, Any]:
        """The trial balance: per currency, each ledger account's total, now or at `as_of`
        as known at `known_at`."""
        known = Knowledge.of(as_of, known_at)
        at = known.instant(self.now())
        # entries effective at `at` are in; revenue of the days before that day's
        totals = balances(self.facts(known.known_at), at.date(), at + timedelta.resolution)
        view: dict[str, Any] = {"balanced": balanced(totals)}
        for currency, accounts in totals.items():
            view[currency] = {name: f"{amount:.2f}" for name, amount in accounts.items()}
        return view


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class Outcome:
    """What the gateway said to one attempt at charging one invoice."""

    account_id: UUID
    invoice: str
    attempt: int
    result: ChargeResult


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Leaves the objects alive when a due-work run starts (the aggregate cache, the due
    index), and those each batch leaves alive (the run freezes them as it goes), out of the
    garbage collector's full collections until the run ends. A run makes many objects that
    live on, and each full collection walked all of them again: in a 20,000-account
    month-end run 31 full collections took 14 of 43 s. Reference counting still frees what
    the run drops; afterwards the frozen objects are collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _record(outcomes: list[Outcome], due_work: bool, unit: Unit) -> None:
    for outcome in outcomes:
        account = unit.account(outcome.account_id)
        with _task_of(outcome.account_id, account.payment_task() if due_work else None):
            current = account.invoice(outcome.invoice)
            if current.next_attempt_at is None or current.declines + 1 != outcome.attempt:
                continue  # another writer recorded this attempt already
            account.record_payment(
                invoice_number=outcome.invoice,
                approved=outcome.result.approved,
                reference=outcome.result.reference,
                at=unit.at,
                terms=unit.terms,
                numbering=unit.numbering,
            )


def _preload(unit: Unit, ids: list[UUID]) -> None:
    """The batch's accounts folded from one query; when one of them cannot be folded (a
    stored event this code cannot read), each is loaded on its own instead, so that its
    failure names its own task."""
    try:
        unit.preload(ids)
    except PersistenceError:
        raise
    except Exception:
        return


@dataclass(frozen=True)
class FailedTask:
    """One task the domain raised on: its aggregate, the task, the error."""

    aggregate_id: UUID
    task: Task
    failure: Failure


class TaskFailed(Exception):
    """The domain raised while carrying out due work: a defect or bad data of those
    aggregates, not of the store (whose errors end the run, to be run again)."""

    def __init__(self, tasks: list[FailedTask]) -> None:
        assert tasks, "a failure names its tasks"
        super().__init__("; ".join(f"{t.task.key}: {t.failure.error}" for t in tasks))
        self.tasks = tasks


@contextlib.contextmanager
def _task_of(aggregate_id: UUID, task: Task | None) -> Iterator[None]:
    """Whatever the domain raises inside names the aggregate's due task, when there is one
    (a command's own charges raise as they are); the store's errors raise as they are."""
    try:
        yield
    except (TaskFailed, PersistenceError):
        raise
    except Exception as error:
        if task is None:
            raise
        raise TaskFailed([FailedTask(aggregate_id, task, Failure.of(error))]) from error


def _back_off(attempt: int) -> None:
    """Spreads writers that lost a race, so that they do not collide again in lockstep."""
    time.sleep(random.uniform(0, min(RETRY_BACKOFF_CAP_S, RETRY_BACKOFF_BASE_S * 2**attempt)))


def _day(value: date | str, field_name: str) -> date:
    """A date given to a query (domain.values.check_day)."""
    try:
        return check_day(value)
    except ValueError as error:
        raise invalid(field_name, str(error)) from None


def _when(value: When, field_name: str) -> datetime | None:
    """An instant given to a query (domain.values.check_instant); None: no limit."""
    if value is None:
        return None
    try:
        return check_instant(value)
    except ValueError as error:
        raise invalid(field_name, str(error)) from None


def _held_view(aggregate_id: UUID, held: SetAside) -> dict[str, Any]:
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


def _unreadable_view(aggregate_id: UUID, failure: Failure) -> dict[str, Any]:
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


def _instant(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _window_view(account: Account, at: datetime) -> dict[str, Any] | None:
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


def _invoice_view(i: Invoice) -> dict[str, Any]:
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
