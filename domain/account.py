"""The customer account: its state, the facts it records (its events, nested here: their
stored topics are `domain.account:Account.<Event>`), its guards, and the commands that open
it and change its seats, plan and profile. The rules of each concept are the parts it is
made of, each in the module named for it: billing periods and proration (`billing.py`),
invoices (`invoicing.py`), payments (`payments.py`), prepaid pools (`prepaid.py`),
lifetime deals (`lifetime.py`), suspension (`suspension.py`), cancellation
(`cancellation.py`), inactivity (`inactivity.py`), erasure of personal data
(`erasure.py`), balances (`balances.py`) and due work (`due_tasks.py`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from domain.balances import Balances
from domain.billing import Billing, Period
from domain.cancellation import Cancellation, CancellationChannel
from domain.catalog import Cycle
from domain.dates import DAY
from domain.documents import IssuedDocument
from domain.due_tasks import DueTasks
from domain.erasure import Erasure
from domain.errors import DomainError, ErrorCode, invalid
from domain.inactivity import Inactivity
from domain.invoicing import (
    Address,
    BillingDetails,
    Invoice,
    InvoiceStatus,
    Invoicing,
    Language,
    Notification,
    NotificationKind,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    Person,
    Refund,
    upcast_lines,
)
from domain.lifetime import LifetimeDeals, LifetimePeriod, SeatLevel
from domain.model import Aggregate, Event, copied, stable_id
from domain.money import Money
from domain.numbering import Numbering
from domain.payments import Payments
from domain.personal import Personal, Scope
from domain.policy import MAX_TRIAL_DAYS, Terms
from domain.prepaid import Pool, PrepaidPools, RateChange
from domain.pricing import PriceChange
from domain.schedule import SetAside, upcast_set_aside
from domain.suspension import AccountStatus, Suspension, SuspensionReason
from domain.values import SEATS_MAX
from domain.vat import check_vat_id, region_for


class SeatRole(StrEnum):
    """ACC-2: a seat's role."""

    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


class Account(
    DueTasks,
    Billing,
    Invoicing,
    Payments,
    PrepaidPools,
    LifetimeDeals,
    Suspension,
    Cancellation,
    Inactivity,
    Erasure,
    Balances,
    Aggregate,
):
    """An account of the help desk: the state its events fold into. Its parts (the bases
    before Aggregate) hold the rules of each concept; the events stay nested here."""

    slug: str = ""
    owner: Person | None = None
    company: str = ""
    country: str = ""
    region: str = ""
    currency: str = "USD"
    plan: str = ""
    cycle: Cycle = Cycle.MONTHLY
    seats_by_role: dict[SeatRole, int] = {}
    status: AccountStatus = AccountStatus.TRIALING
    suspension_reasons: list[SuspensionReason] = []
    opened_at: datetime | None = None
    trial_ends_at: datetime | None = None
    trial_over: bool = False
    on_free_plan: bool = False
    period: Period | None = None
    charged_rate: Decimal = Decimal(0)
    payment_method: PaymentMethod | None = None
    billing_details: BillingDetails | None = None
    vat_id: str | None = None
    invoices: list[Invoice] = []
    documents: dict[str, IssuedDocument] = {}  # by invoice or credit-note number
    payments: list[Payment] = []
    refunds: list[Refund] = []
    notifications: list[Notification] = []
    shared_logins: list[str | None] = []
    last_activity_at: datetime | None = None
    idle_since: datetime | None = None  # IDLE-2: when the account last lost its exemption
    warned_at: datetime | None = None
    cancellation_effective_at: datetime | None = None
    cancelled_at: datetime | None = None
    deleted_at: datetime | None = None
    seat_history: list[SeatLevel] = []
    pool: Pool | None = None
    lifetime_code: str | None = None
    lifetime_anchor: datetime | None = None
    lifetime_periods_billed: int = 0
    lifetime_pending: list[LifetimePeriod] = []
    erased_scopes: list[Scope] = []
    language: Language = Language.EN
    held: SetAside | None = None  # due work set aside, until an operator releases it
    last_held: SetAside | None = None  # the last one released (its attempts go on)

    # ---------------------------------------------------------------- events

    class AccountEvent(Event):
        def apply(self, account: Account) -> None:
            self.change(account)
            account.refresh_idle_exemption(self.effective_at)

        def change(self, account: Account) -> None:
            """What the fact changes."""

    class ByPeople(AccountEvent):
        """IDLE-1: an accepted command made on the account by its people: activity."""

        def apply(self, account: Account) -> None:
            account.last_activity_at = self.effective_at
            account.warned_at = None
            super().apply(account)

    class Opened(ByPeople):
        class_version = 2  # v2: the owner's language

        slug: str
        owner: Annotated[Person | None, Personal(Scope.PROFILE)]
        company: str
        country: str
        region: str
        currency: str
        plan: str
        cycle: Cycle
        seats: int
        status: AccountStatus
        trial_ends_at: datetime | None
        free: bool
        language: Language

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            """Accounts opened before languages existed were written to in English."""
            state["language"] = Language.EN.value

        def change(self, account: Account) -> None:
            account.slug = self.slug
            account.language = self.language
            account.owner = self.owner
            account.company = self.company
            account.country = self.country
            account.region = self.region
            account.currency = self.currency
            account.plan = self.plan
            account.cycle = self.cycle
            account.seats_by_role = {SeatRole.OWNER: 1}
            if self.seats > 1:
                account.seats_by_role[SeatRole.AGENT] = self.seats - 1
            account.status = self.status
            account.seat_history = [SeatLevel(at=self.effective_at, seats=self.seats)]
            account.trial_ends_at = self.trial_ends_at
            account.trial_over = self.trial_ends_at is None
            account.on_free_plan = self.free
            account.opened_at = self.effective_at

    class SeatsAdded(ByPeople):
        count: int
        role: SeatRole

        def change(self, account: Account) -> None:
            account.seats_by_role[self.role] = account.seats_by_role.get(self.role, 0) + self.count
            account.seat_history.append(SeatLevel(at=self.effective_at, seats=account.seats))

    class SeatsRemoved(ByPeople):
        by_role: dict[SeatRole, int]

        def change(self, account: Account) -> None:
            for role, count in self.by_role.items():
                account.seats_by_role[role] -= count
            account.seat_history.append(SeatLevel(at=self.effective_at, seats=account.seats))

    class PlanChanged(ByPeople):
        plan: str
        free: bool
        trial_ends_at: datetime | None = None

        def change(self, account: Account) -> None:
            account.plan = self.plan
            account.on_free_plan = self.free
            if self.free:
                account.end_trial()
            if self.trial_ends_at is not None:
                account.status = AccountStatus.TRIALING
                account.trial_ends_at = self.trial_ends_at
                account.trial_over = False

    class PaymentMethodAdded(ByPeople):
        method: PaymentMethod

        def change(self, account: Account) -> None:
            account.payment_method = self.method
            for invoice in account.open_invoices():
                account.revise_invoice(invoice.number, next_attempt_at=self.effective_at)

    class BillingDetailsSet(ByPeople):
        details: Annotated[BillingDetails | None, Personal(Scope.BILLING)]

        def change(self, account: Account) -> None:
            account.billing_details = self.details

    class VatIdSet(ByPeople):
        vat_id: str

        def change(self, account: Account) -> None:
            account.vat_id = self.vat_id

    class LanguageChosen(ByPeople):
        language: Language

        def change(self, account: Account) -> None:
            account.language = self.language

    class ActivityRecorded(ByPeople):
        pass

    class SharedLoginReported(ByPeople):
        login: Annotated[str | None, Personal(Scope.CONTENT)]

        def change(self, account: Account) -> None:
            account.shared_logins.append(self.login)

    class SharedLoginResolved(ByPeople):
        login: Annotated[str | None, Personal(Scope.CONTENT)]

        def change(self, account: Account) -> None:
            account.shared_logins.remove(self.login)

    class CancellationRequested(ByPeople):
        via: CancellationChannel
        takes_effect_at: datetime

        def change(self, account: Account) -> None:
            account.cancellation_effective_at = self.takes_effect_at

    class InvoiceCorrected(ByPeople):
        class_version = 2  # v2: lines carry quantity, unit price and period

        credit_note: Invoice
        reissued: Invoice
        details: Annotated[BillingDetails | None, Personal(Scope.BILLING)]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_lines(state["credit_note"])
            upcast_lines(state["reissued"])

        def change(self, account: Account) -> None:
            account.revise_invoice(
                self.credit_note.credits or "", status=InvoiceStatus.CREDITED, next_attempt_at=None
            )
            account.invoices.append(self.credit_note)
            account.invoices.append(self.reissued)
            account.billing_details = self.details

    class PeriodStarted(AccountEvent):
        period: Period
        rate: Decimal

        def change(self, account: Account) -> None:
            account.period = self.period
            account.charged_rate = self.rate
            account.trial_over = True
            if account.status is AccountStatus.TRIALING:
                account.status = AccountStatus.ACTIVE

    class TrialExpired(AccountEvent):
        def change(self, account: Account) -> None:
            account.trial_over = True

    class RateRaised(AccountEvent):
        rate: Decimal

        def change(self, account: Account) -> None:
            account.charged_rate = self.rate

    class InvoiceIssued(AccountEvent):
        class_version = 3  # v2: the events that led to it; v3: lines with quantity and price

        invoice: Invoice
        caused_by: list[int]  # versions of this account's events, in order

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            """Invoices issued before causes were recorded name none."""
            state["caused_by"] = []

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            upcast_lines(state["invoice"])

        def change(self, account: Account) -> None:
            account.invoices.append(self.invoice)

    class DocumentIssued(AccountEvent):
        """An invoice or credit note left the ledger as a document (UBL, CII, PDF)."""

        document: IssuedDocument

        def change(self, account: Account) -> None:
            account.documents[self.document.number] = self.document

    class PaymentSucceeded(AccountEvent):
        payment: Payment

        def change(self, account: Account) -> None:
            account.payments.append(self.payment)
            account.revise_invoice(
                self.payment.invoice, status=InvoiceStatus.PAID, next_attempt_at=None
            )

    class PaymentDeclined(AccountEvent):
        payment: Payment
        next_attempt_at: datetime | None

        def change(self, account: Account) -> None:
            account.payments.append(self.payment)
            invoice = account.invoice(self.payment.invoice)
            account.revise_invoice(
                invoice.number,
                declines=invoice.declines + 1,
                first_declined_at=invoice.first_declined_at or self.effective_at,
                next_attempt_at=self.next_attempt_at,
            )

    class RefundIssued(AccountEvent):
        refund: Refund

        def change(self, account: Account) -> None:
            account.refunds.append(self.refund)

    class OwnerNotified(AccountEvent):
        notification: Notification

        def change(self, account: Account) -> None:
            account.notifications.append(self.notification)

    class SuspensionNoticeGiven(AccountEvent):
        reason: SuspensionReason

    class Suspended(AccountEvent):
        reason: SuspensionReason

        def change(self, account: Account) -> None:
            account.status = AccountStatus.SUSPENDED
            account.suspension_reasons = [self.reason]

    class SuspensionReasonAdded(AccountEvent):
        reason: SuspensionReason

        def change(self, account: Account) -> None:
            account.suspension_reasons = sorted({*account.suspension_reasons, self.reason})

    class SuspensionReasonCleared(AccountEvent):
        reason: SuspensionReason
        resumes_as: AccountStatus | None

        def change(self, account: Account) -> None:
            account.suspension_reasons = [r for r in account.suspension_reasons if r != self.reason]
            if self.resumes_as is not None:
                account.status = self.resumes_as

    class PrepaidCreditGranted(AccountEvent):
        pool: Pool

        def change(self, account: Account) -> None:
            account.pool = copied(self.pool)

    class PoolActivated(AccountEvent):
        active_from: date
        initial_rate: Decimal
        year_days: int
        ends_on: date

        def change(self, account: Account) -> None:
            assert account.pool is not None
            account.pool.active_from = self.active_from
            account.pool.initial_rate = self.initial_rate
            account.pool.year_days = self.year_days
            account.pool.segments = [(self.active_from, self.initial_rate)]
            account.pool.ends_on = self.ends_on
            account.end_trial()

    class PoolRateChanged(AccountEvent):
        rate_change: RateChange

        def change(self, account: Account) -> None:
            assert account.pool is not None
            account.pool.segments.append((self.rate_change.day, self.rate_change.new_rate))
            account.pool.ends_on = self.rate_change.new_end
            account.pool.changes.append(self.rate_change)

    class PoolClosed(AccountEvent):
        """The pool ran out (CREDIT-4) or was cancelled (CREDIT-5)."""

        remaining: Decimal
        fee: Decimal
        refund: Decimal
        dropped: Decimal

        def change(self, account: Account) -> None:
            assert account.pool is not None
            account.pool.closed_at = self.effective_at

    class CodeRedeemed(ByPeople):
        code: str
        plan: str

        def change(self, account: Account) -> None:
            account.lifetime_code = self.code
            account.lifetime_anchor = self.effective_at
            account.plan = self.plan
            account.on_free_plan = False
            account.end_trial()

    class LifetimePeriodClosed(AccountEvent):
        period: LifetimePeriod
        pending: bool

        def change(self, account: Account) -> None:
            account.lifetime_periods_billed = self.period.index + 1
            if self.pending:
                account.lifetime_pending.append(self.period)

    class LifetimeChargesReleased(AccountEvent):
        def change(self, account: Account) -> None:
            account.lifetime_pending = []

    class Cancelled(AccountEvent):
        def change(self, account: Account) -> None:
            account.status = AccountStatus.CANCELLED
            account.cancelled_at = self.effective_at
            account.cancellation_effective_at = None
            for invoice in account.open_invoices():
                account.revise_invoice(invoice.number, next_attempt_at=None)

    class InactivityWarned(AccountEvent):
        def change(self, account: Account) -> None:
            account.warned_at = self.effective_at

    class Deleted(AccountEvent):
        cause: str

        def change(self, account: Account) -> None:
            account.status = AccountStatus.DELETED
            account.deleted_at = self.effective_at
            for invoice in account.open_invoices():
                account.revise_invoice(invoice.number, next_attempt_at=None)

    class WorkSetAside(AccountEvent):
        """Due work raised while the ledger carried it out; it waits for an operator, and
        nothing else is due on the account, which takes no commands, until then."""

        class_version = 2  # v2: the task's own kind of job, not its rank in TIME-3

        set_aside: SetAside

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The kind of job is read from the task's key."""
            upcast_set_aside(state)

        def change(self, account: Account) -> None:
            account.held = self.set_aside

    class WorkReleased(AccountEvent):
        """An operator released the work set aside: it is due again (and carried out)."""

        key: str

        def change(self, account: Account) -> None:
            account.last_held, account.held = account.held, None

    class PersonalDataErased(AccountEvent):
        """GDPR-4: the keys of these scopes were destroyed; their fields read as null from
        now on, in this state and in every replay. Amounts and counts are untouched."""

        scopes: list[Scope]
        reason: str

        def change(self, account: Account) -> None:
            account.erased_scopes = sorted({*account.erased_scopes, *self.scopes})
            if Scope.PROFILE in self.scopes:
                account.owner = None
                account.notifications = [
                    n.model_copy(update={"to": None}) for n in account.notifications
                ]
            if Scope.CONTENT in self.scopes:
                account.shared_logins = [None for _ in account.shared_logins]
            if Scope.BILLING in self.scopes:
                account.billing_details = None
                account.invoices = [
                    i.model_copy(update={"billed_to": None}) for i in account.invoices
                ]

    # ------------------------------------------------------------ read side

    @property
    def seats(self) -> int:
        return sum(self.seats_by_role.values())

    @property
    def is_closed(self) -> bool:
        return self.status in (AccountStatus.CANCELLED, AccountStatus.DELETED)

    def end_trial(self) -> None:
        """A trial ends for good when billing of another kind takes over (a pool, a lifetime
        deal, the free plan); a trialing account becomes active."""
        self.trial_over = True
        if self.status is AccountStatus.TRIALING:
            self.status = AccountStatus.ACTIVE

    def money(self, amount: Decimal | int) -> Money:
        return Money.of(Decimal(amount), self.currency)

    def is_paid_plan(self, terms: Terms) -> bool:
        return not terms.catalog.plan(self.plan).is_free

    # ------------------------------------------------------------- guards

    def check_takes_commands(self) -> None:
        """ACC-4: `deleted` is final; a cancelled account takes no more commands. Nor does
        one whose due work is set aside, until an operator releases it: its state is not
        what the rules expected, and a command could move money on top of it (a payment
        the gateway approved and the ledger could not record)."""
        if self.is_closed:
            raise DomainError(
                ErrorCode.ACCOUNT_CLOSED, f"the account is {self.status.value}", "account"
            )
        if self.held is not None:
            raise DomainError(
                ErrorCode.WORK_SET_ASIDE,
                f"the account's due work {self.held.key} is set aside for an operator",
                "account",
            )

    # ------------------------------------------------------------ commands

    @classmethod
    def open(
        cls,
        *,
        account_id: UUID,
        at: datetime,
        owner: Person,
        company: str,
        country: str,
        currency: str,
        plan: str,
        cycle: Cycle,
        seats: int,
        trial_days: int | None,
        region: str | None,
        slug: str,
        terms: Terms,
        actor: str | None = None,
        language: Language = Language.EN,
    ) -> Self:
        """TRIAL-1: paid plans start a trial of up to 14 days; the free plan has none.
        ACC-2: the owner holds the first seat."""
        assert 1 <= seats <= SEATS_MAX, "an opening's seats are checked at the door"
        days = MAX_TRIAL_DAYS if trial_days is None else trial_days
        assert 1 <= days <= MAX_TRIAL_DAYS, "a trial's days are checked at the door"
        free = terms.catalog.plan(plan).is_free
        return cls._opened(
            account_id=account_id,
            at=at,
            actor=actor,
            slug=slug,
            owner=owner,
            company=company,
            country=country,
            currency=currency,
            region=region,
            plan=plan,
            cycle=cycle,
            seats=seats,
            status=AccountStatus.ACTIVE if free else AccountStatus.TRIALING,
            trial_ends_at=None if free else at + days * DAY,
            free=free,
            terms=terms,
            language=language,
        )

    @classmethod
    def _opened(
        cls,
        *,
        region: str | None,
        country: str,
        currency: str,
        plan: str,
        cycle: Cycle,
        terms: Terms,
        account_id: UUID,
        at: datetime,
        actor: str | None,
        **opening: object,
    ) -> Self:
        """ACC-1: owner's full name, a valid e-mail, company name and country are required
        (the command brings them checked). ACC-3: the region follows the country unless
        given. BILL-1: the plan is sold so."""
        terms.catalog.base_price(plan, currency, cycle)
        return cls.create(
            cls.Opened,
            account_id,
            at,
            actor=actor,
            country=country,
            region=region or region_for(country),
            currency=currency,
            plan=plan,
            cycle=cycle,
            **opening,
        )

    def add_seats(
        self,
        count: int,
        at: datetime,
        terms: Terms,
        numbering: Numbering,
        role: SeatRole = SeatRole.AGENT,
    ) -> None:
        self.check_takes_commands()
        assert 1 <= count <= SEATS_MAX, "a change's seats are checked at the door"
        if role is SeatRole.OWNER:
            raise invalid("role", "an account has exactly one owner (ACC-2)")
        self.trigger(self.SeatsAdded, at, count=count, role=role)
        self.warn_package_exceeded(at)
        self.move_pool_rate(at, terms)
        self.charge_upgrade(at, terms, numbering)

    def remove_seats(self, count: int, at: datetime, terms: Terms) -> None:
        """ACC-2: the owner holds one seat, so an account keeps at least one. BILL-5: no refund."""
        self.check_takes_commands()
        assert 1 <= count <= SEATS_MAX, "a change's seats are checked at the door"
        if self.seats - count < 1:
            raise DomainError(
                ErrorCode.NO_SEATS_LEFT,
                f"the account has {self.seats} seats; removing {count} would leave none",
                "count",
            )
        by_role: dict[SeatRole, int] = {}
        left = count
        for role in (SeatRole.AGENT, SeatRole.ADMIN):
            taken = min(left, self.seats_by_role.get(role, 0))
            if taken:
                by_role[role] = taken
                left -= taken
        assert left == 0
        self.trigger(self.SeatsRemoved, at, by_role=by_role)
        self.move_pool_rate(at, terms)

    def change_plan(self, plan: str, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """BILL-1: a move up the rank is an upgrade (BILL-3/BILL-4); down, a downgrade (BILL-5)."""
        self.check_takes_commands()
        terms.catalog.base_price(plan, self.currency, self.cycle)
        if plan == self.plan:
            raise invalid("plan", f"the account is already on {plan!r}")
        if self.is_lifetime:
            raise invalid("plan", "a lifetime deal is on its own plan (LTD-3)")
        if self.open_pool is not None and terms.catalog.plan(plan).is_free:
            raise invalid("plan", "a prepaid credit pool is running; it needs a paid plan")
        was_free = not self.is_paid_plan(terms)
        to_free = terms.catalog.plan(plan).is_free
        trial_ends_at: datetime | None = None
        if was_free and not to_free and self.payment_method is None:
            # TRIAL-1: every paid plan starts with a free trial, once per account.
            if self.trial_ends_at is not None:
                raise invalid("plan", "a payment method is needed to return to a paid plan")
            trial_ends_at = at + MAX_TRIAL_DAYS * DAY
        self.trigger(self.PlanChanged, at, plan=plan, free=to_free, trial_ends_at=trial_ends_at)
        if was_free:
            self.start_billing_if_due(at, terms, numbering)
        else:
            self.move_pool_rate(at, terms)
            self.charge_upgrade(at, terms, numbering)

    def add_payment_method(
        self, kind: PaymentMethodKind, token: str, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        """PAY-1: only a kind and an opaque token. TRIAL-2: during the trial, the trial ends and
        the first period starts and is charged at once. TRIAL-3: after a trial expired, the
        account is reactivated and charged the same way. PAY-4: every open invoice is charged
        at once (the invoices' next attempt becomes now)."""
        self.check_takes_commands()
        method = PaymentMethod(kind=kind, token=token)
        self.trigger(self.PaymentMethodAdded, at, method=method)
        if self.status is AccountStatus.TRIALING:
            self.start_period(at, terms, numbering, new_anchor=True)
        self.clear_suspension(SuspensionReason.TRIAL_EXPIRED, at, terms, numbering)
        self.release_lifetime_charges(at, terms, numbering)

    def set_billing_details(
        self,
        *,
        name: str,
        email: str | None,
        company: str,
        address: Address | None,
        company_ids: dict[str, str],
        electronic_address: str | None,
        at: datetime,
        terms: Terms,
        numbering: Numbering,
    ) -> None:
        self.check_takes_commands()
        details = BillingDetails(
            name=name,
            email=email,
            company=company,
            address=address,
            company_ids=company_ids,
            electronic_address=electronic_address,
        )
        self.trigger(self.BillingDetailsSet, at, details=details)
        self.release_lifetime_charges(at, terms, numbering)

    def set_vat_id(self, vat_id: str, at: datetime) -> None:
        """INV-5: a valid VAT ID for the account's country; it changes no issued invoice."""
        self.check_takes_commands()
        self.trigger(self.VatIdSet, at, vat_id=check_vat_id(vat_id, self.country))

    def choose_language(self, language: Language, at: datetime) -> None:
        """The owner's e-mails are written in this language from now on."""
        self.check_takes_commands()
        self.trigger(self.LanguageChosen, at, language=language)

    def record_activity(self, at: datetime) -> None:
        """IDLE-1: recorded agent activity."""
        self.check_takes_commands()
        self.trigger(self.ActivityRecorded, at)

    def report_shared_login(self, login: str, at: datetime) -> None:
        """LOGIN-1: a detected shared login adds a surcharge from the next period."""
        self.check_takes_commands()
        if login in self.shared_logins:
            raise invalid("login", "this shared login is already reported")
        self.trigger(self.SharedLoginReported, at, login=login)

    def resolve_shared_login(self, login: str, at: datetime) -> None:
        self.check_takes_commands()
        if login not in self.shared_logins:
            raise invalid("login", "no shared login of that name is reported")
        self.trigger(self.SharedLoginResolved, at, login=login)

    def record_document(self, document: IssuedDocument, at: datetime) -> None:
        """An issued invoice or credit note, rendered: recorded once per number."""
        assert any(i.number == document.number for i in self.invoices), "a document of ours"
        assert document.number not in self.documents, "a document is issued once"
        self.trigger(self.DocumentIssued, at, document=document)

    def delete(self, cause: str, at: datetime) -> None:
        """IDLE-1 deletion of an idle account; CANCEL-3 deletion after a cancellation."""
        self.trigger(self.Deleted, at, cause=cause)
        self.notify(NotificationKind.ACCOUNT_DELETED, at)

    # ------------------------------------------------------ notifications

    def notify(self, kind: NotificationKind, at: datetime, subject: str | None = None) -> None:
        notification = Notification(
            id=stable_id("notification", self.id, self.version + 1),
            kind=kind,
            to=self.owner.email if self.owner is not None else None,
            at=at,
            subject=subject,
        )
        self.trigger(self.OwnerNotified, at, notification=notification)

    def notify_price_change(self, change: PriceChange, at: datetime) -> None:
        """BILL-6: every affected account (open or trialing, with that plan, currency and
        cycle) has its owner notified at announcement."""
        if self.is_closed or (self.plan, self.currency, self.cycle) != (
            change.plan,
            change.currency,
            change.cycle,
        ):
            return
        self.notify(
            NotificationKind.PRICE_CHANGE, at, subject=f"{change.plan}:{change.effective_on}"
        )


def issued_by(event: Event) -> list[Invoice]:
    """The invoices and credit notes an event issued, as it recorded them: what their
    documents say, before any payment or credit note revised their status."""
    if isinstance(event, Account.InvoiceIssued):
        return [event.invoice]
    if isinstance(event, Account.InvoiceCorrected):
        return [event.credit_note, event.reissued]
    return []
