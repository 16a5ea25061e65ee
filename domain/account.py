"""The customer account: seats, plan, trial, billing periods, invoices, payments,
suspension, cancellation and inactivity. Each rule is enforced here once, named by its ID."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.catalog import Cycle
from domain.dates import DAY, add_months, days_between, start_of_day, within_days
from domain.documents import IssuedDocument
from domain.errors import DomainError, ErrorCode, invalid
from domain.invoicing import (
    Address,
    BillingDetails,
    Charge,
    Invoice,
    InvoiceStatus,
    Language,
    Notification,
    NotificationKind,
    Payment,
    PaymentStatus,
    Person,
    Refund,
    Unit,
    build_invoice,
    upcast_lines,
)
from domain.lifetime import LIFETIME_SEATS, Code, SeatLevel, extra_seat_days
from domain.model import Aggregate, Event, copied, stable_id
from domain.money import Money, round_half_up
from domain.numbering import DocumentKind, Numbering
from domain.personal import Personal, Scope, statutory_end
from domain.policy import MAX_TRIAL_DAYS, Terms
from domain.prepaid import CreditWindow, Pool, RateChange
from domain.pricing import PriceChange
from domain.schedule import SetAside, Task, TaskKind, held_work, released, upcast_set_aside
from domain.values import SEATS_MAX
from domain.vat import check_vat_id, decide_vat, region_for

# PAY-4 (interpretation): retries 1, 3 and 7 days after the first decline.
RETRY_DELAYS_DAYS = (1, 3, 7)
# IDLE-1: warning after 28 idle days; deletion after 56, and never sooner than 28 after it.
IDLE_WARNING_DAYS = 28
IDLE_DELETION_DAYS = 56
# CANCEL-3 (interpretation): deletion 30 days after a cancellation took effect.
DELETION_AFTER_CANCELLATION_DAYS = 30
# INV-2: the correction window of the last invoice.
CORRECTION_WINDOW_DAYS = 15
# LIAB-1: the floor of the liability cap, in the account's currency.
LIABILITY_FLOOR = Decimal(100)
MONTHS_PER_CYCLE = {Cycle.MONTHLY: 1, Cycle.ANNUAL: 12}


class AccountStatus(StrEnum):
    """ACC-4: the states of an account."""

    TRIALING = "trialing"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    DELETED = "deleted"


class SuspensionReason(StrEnum):
    """ACC-4: why an account is suspended; it is reactivated when every reason is cleared."""

    TRIAL_EXPIRED = "trial_expired"
    PAYMENT_FAILED = "payment_failed"
    BILLING_DETAILS_MISSING = "billing_details_missing"
    CODE_REUSE = "code_reuse"
    TERMS_VIOLATION = "terms_violation"


class SeatRole(StrEnum):
    """ACC-2: a seat's role."""

    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


class PaymentMethodKind(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"


class CancellationChannel(StrEnum):
    BUTTON = "button"
    EMAIL = "email"


class PaymentMethod(BaseModel):
    """PAY-1: a kind and an opaque processor token; never a card number."""

    model_config = ConfigDict(frozen=True)
    kind: PaymentMethodKind
    token: str


class Period(BaseModel):
    """A charged billing period (BILL-2)."""

    model_config = ConfigDict(frozen=True)
    anchor: datetime
    index: int
    start: datetime
    end: datetime
    plan: str
    seats: int
    unit_price: Decimal


class LifetimePeriod(BaseModel):
    """One monthly period of a lifetime deal, billed in arrears (LTD-5)."""

    model_config = ConfigDict(frozen=True)
    index: int
    start: datetime
    end: datetime
    extra_seat_days: int
    unit_price: Decimal

    @property
    def days(self) -> int:
        return days_between(self.start.date(), self.end.date())


class Account(Aggregate):
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

    @property
    def is_lifetime(self) -> bool:
        return self.lifetime_code is not None

    @property
    def pool_active(self) -> bool:
        return self.pool is not None and self.pool.is_active

    @property
    def open_pool(self) -> Pool | None:
        return self.pool if self.pool is not None and self.pool.is_open else None

    def monthly_rate(self, terms: Terms, day: date) -> Decimal:
        """CREDIT-2: the account's monthly rate: seats x per-seat monthly price."""
        return self.seats * terms.unit_price(self.plan, self.currency, Cycle.MONTHLY, day)

    def _invoice_at(self, number: str) -> int:
        for n, invoice in enumerate(self.invoices):
            if invoice.number == number:
                return n
        raise invalid("invoice", f"no invoice {number!r} on this account")

    def invoice(self, number: str) -> Invoice:
        return self.invoices[self._invoice_at(number)]

    def revise_invoice(self, number: str, **changes: Any) -> None:
        """Folds a later fact into an issued invoice's derived state (status, dunning):
        the account holds a revised copy, and the issued object stays as it was."""
        n = self._invoice_at(number)
        self.invoices[n] = self.invoices[n].model_copy(update=changes)

    def open_invoices(self) -> list[Invoice]:
        return [
            i
            for i in self.invoices
            if i.kind is DocumentKind.INVOICE and i.status is InvoiceStatus.OPEN
        ]

    def money(self, amount: Decimal | int) -> Money:
        return Money.of(Decimal(amount), self.currency)

    def default_billing_details(self) -> BillingDetails | None:
        """The billing details set, else the owner's (None once both were erased, GDPR-4)."""
        if self.billing_details is not None or self.owner is None:
            return self.billing_details
        return BillingDetails(name=self.owner.name, email=self.owner.email, company=self.company)

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
    ) -> Account:
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
    ) -> Account:
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

    def charge_upgrade(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """BILL-3: on the monthly cycle an upgrade charges nothing in the current period.
        BILL-4: on the annual cycle it is charged at once, prorated over the rest of the
        period: (new rate - old rate) x days_remaining / days_in_period, the day of the
        change counting as remaining. BILL-5: a downgrade never credits; the rate already
        charged for the period stays the reference, so a seat removed and added back within
        a period is not charged twice."""
        period = self.period
        if (
            self.pool_active
            or self.is_lifetime
            or self.cycle is not Cycle.ANNUAL
            or period is None
            or not period.start <= at < period.end
            or self.status is AccountStatus.TRIALING
            or not self.is_paid_plan(terms)
        ):
            return
        new_rate = self.seats * terms.unit_price(
            self.plan, self.currency, self.cycle, period.start.date()
        )
        if new_rate <= self.charged_rate:
            return
        old_rate = self.charged_rate
        remaining = days_between(at.date(), period.end.date())
        in_period = days_between(period.start.date(), period.end.date())
        self.trigger(self.RateRaised, at, rate=new_rate)
        text = (
            f"Upgrade to {self.plan}, {self.seats} seats: yearly rate {self.money(new_rate)} "
            f"from {self.money(old_rate)}, {remaining}/{in_period} days remaining"
        )
        # (new rate - old rate) per period of in_period days, for the days remaining
        charge = Charge(
            text,
            remaining,
            Unit.DAY,
            new_rate - old_rate,
            "BILL-4",
            base_quantity=in_period,
            period=(at.date(), period.end.date()),
        )
        self.issue_invoice([charge], at, terms, numbering)

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

    def cancel(self, via: CancellationChannel, at: datetime, terms: Terms) -> None:
        """CANCEL-1: the "stop account" action takes effect at once, with no refund.
        CANCEL-2: by e-mail, the request is recorded at once, no period is renewed after it,
        and it takes effect at the end of the next business day."""
        self.check_takes_commands()
        if via is CancellationChannel.EMAIL:
            if self.cancellation_effective_at is not None:
                raise invalid("via", "a cancellation is already pending")
            effective = terms.end_of_next_business_day(at)
        else:
            effective = at
        self.trigger(self.CancellationRequested, at, via=via, takes_effect_at=effective)
        if effective <= at:
            self.take_cancellation_effect(at)

    def take_cancellation_effect(self, at: datetime) -> None:
        """CANCEL-1: when a cancellation takes effect the owner is sent cancellation_confirmed.
        CREDIT-5: a running or pending pool is refunded, less its cancellation fee."""
        pool = self.open_pool
        if pool is not None:
            remaining, fee, refund = pool.refund(at)
            self.trigger(
                self.PoolClosed, at, remaining=remaining, fee=fee, refund=refund, dropped=Decimal(0)
            )
            if refund > 0:
                self.trigger(
                    self.RefundIssued, at, refund=Refund(amount=refund, at=at, rule="CREDIT-5")
                )
        self.trigger(self.Cancelled, at)
        self.notify(NotificationKind.CANCELLATION_CONFIRMED, at)

    def suspend(self, reason: SuspensionReason, at: datetime) -> None:
        """CANCEL-4: the vendor warns the owner first: a notice is recorded before the
        suspension takes effect."""
        self.check_takes_commands()
        if reason in self.suspension_reasons:
            raise invalid("reason", f"the account is already suspended for {reason.value}")
        self.trigger(self.SuspensionNoticeGiven, at, reason=reason)
        self.add_suspension(reason, at)

    def lift_suspension(
        self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        self.check_takes_commands()
        if reason not in self.suspension_reasons:
            raise invalid("reason", f"the account is not suspended for {reason.value}")
        self.clear_suspension(reason, at, terms, numbering)

    def correct_invoice(
        self,
        *,
        name: str | None,
        company: str | None,
        address: Address | None,
        at: datetime,
        numbering: Numbering,
    ) -> None:
        """INV-2: the billing details of the last invoice may be corrected within 15 days of
        its issue: a credit note reverses it in full and a new invoice with the same lines and
        tax and the corrected details replaces it; what was paid on the old invoice is
        applied to the new one. The reissued invoice starts its own window."""
        self.check_takes_commands()
        assert (name, company, address) != (None, None, None), "the command names a change"
        last = next((i for i in reversed(self.invoices) if i.kind is DocumentKind.INVOICE), None)
        if last is None:
            raise invalid("account", "the account has no invoice to correct")
        if not within_days(last.issued_at, CORRECTION_WINDOW_DAYS, at):
            raise DomainError(
                ErrorCode.CORRECTION_WINDOW_CLOSED,
                f"invoice {last.number} was issued more than {CORRECTION_WINDOW_DAYS} days ago;"
                " new billing details apply from the next invoice",
                "account",
            )
        if last.billed_to is None:
            raise invalid("account", f"the billing details of {last.number} were erased (GDPR-4)")
        details = last.billed_to.model_copy(
            update={
                k: v
                for k, v in {
                    "name": name,
                    "company": company,
                    "address": address,
                }.items()
                if v is not None
            }
        )
        credit_number = numbering.next(DocumentKind.CREDIT_NOTE, self.id, at)
        new_number = numbering.next(DocumentKind.INVOICE, self.id, at)
        credit_note = last.model_copy(
            update={
                "number": credit_number,
                "kind": DocumentKind.CREDIT_NOTE,
                "issued_at": at,
                "credits": last.number,
                "reissue_of": None,
                "status": InvoiceStatus.PAID,
                "next_attempt_at": None,
                "declines": 0,
                "first_declined_at": None,
            }
        )
        reissued = last.model_copy(
            update={
                "number": new_number,
                "issued_at": at,
                "billed_to": details,
                "reissue_of": last.number,
                "credits": None,
            }
        )
        self.trigger(
            self.InvoiceCorrected, at, credit_note=credit_note, reissued=reissued, details=details
        )

    # ------------------------------------------------------- billing steps

    def start_billing_if_due(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """BILL-8: an account reactivated (or moved onto a paid plan) after its last charged
        period ended starts a new period at that instant, charged at once (a new billing
        anchor); within a charged period it keeps its anchor."""
        if self.status is not AccountStatus.ACTIVE or not self.is_paid_plan(terms):
            return
        if self.pool_active or self.is_lifetime:
            return  # CREDIT-1: the pool replaces periods; BILL-8: lifetime keeps its anchor
        if self.period is None or self.period.end <= at:
            self.start_period(at, terms, numbering, new_anchor=True)

    def start_period(
        self, at: datetime, terms: Terms, numbering: Numbering, *, new_anchor: bool
    ) -> None:
        """BILL-2: billing is in advance: each period is charged at its start, for the seats
        and plan in force then: seats x per-seat price. Periods follow each other from the
        billing anchor (TIME-1). LOGIN-1 (interpretation of the amount): each shared login
        adds one seat of the account's plan and cycle to every period starting after it was
        reported, until it is resolved."""
        months = MONTHS_PER_CYCLE[self.cycle]
        if new_anchor or self.period is None:
            anchor, index = at, 0
        else:
            anchor, index = self.period.anchor, self.period.index + 1
        start = add_months(anchor, index * months)
        end = add_months(anchor, (index + 1) * months)
        unit = terms.unit_price(self.plan, self.currency, self.cycle, start.date())
        seats = self.seats
        period = Period(
            anchor=anchor,
            index=index,
            start=start,
            end=end,
            plan=self.plan,
            seats=seats,
            unit_price=unit,
        )
        self.trigger(self.PeriodStarted, at, period=period, rate=seats * unit)
        span = f"{start.date()} to {end.date()}"
        days = (start.date(), end.date())
        lines = [
            Charge(
                f"{self.plan} ({self.cycle.value}), {seats} seats x {self.money(unit)}, {span}",
                seats,
                Unit.ONE,
                unit,
                "BILL-2",
                period=days,
            )
        ]
        lines += [
            Charge(f"Shared login surcharge, {span}", 1, Unit.ONE, unit, "LOGIN-1", period=days)
            for _login in self.shared_logins
        ]
        self.issue_invoice(lines, at, terms, numbering, period=period)

    def issue_invoice(
        self,
        lines: list[Charge],
        at: datetime,
        terms: Terms,
        numbering: Numbering,
        *,
        period: Period | None = None,
    ) -> Invoice | None:
        """INV-1: numbered from the gapless series of the issue year. INV-4: VAT decided from
        the profile at this instant. PAY-2: an invoice with a positive total is charged to the
        payment method (its first attempt is due now). TRIAL-1: the free plan never invoices."""
        vat = decide_vat(
            customer_country=self.country,
            vat_id=self.vat_id,
            seller_country=terms.seller_country,
            issue_day=at.date(),
            table=terms.vat_table,
        )
        exact_total = sum((charge.amount for charge in lines), start=Fraction(0))
        if exact_total <= 0:
            return None
        invoice = build_invoice(
            number=numbering.next(DocumentKind.INVOICE, self.id, at),
            kind=DocumentKind.INVOICE,
            issued_at=at,
            currency=self.currency,
            lines=lines,
            vat=vat,
            vat_id=self.vat_id,
            billed_to=self.default_billing_details(),
            plan=self.plan,
            period_start=period.start if period else None,
            period_end=period.end if period else None,
            next_attempt_at=at if self.payment_method is not None else None,
        )
        caused_by = [e.originator_version for e in self._pending]
        self.trigger(self.InvoiceIssued, at, invoice=invoice, caused_by=caused_by)
        return invoice

    def record_document(self, document: IssuedDocument, at: datetime) -> None:
        """An issued invoice or credit note, rendered: recorded once per number."""
        assert any(i.number == document.number for i in self.invoices), "a document of ours"
        assert document.number not in self.documents, "a document is issued once"
        self.trigger(self.DocumentIssued, at, document=document)

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

    # ------------------------------------------------------ prepaid pools

    def grant_prepaid_credit(
        self, amount: Money, fee_rate: Decimal, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        """CREDIT-1: a pool granted by agreement is invoiced at once and becomes active at the
        end of the current paid period, or at once if none is running."""
        self.check_takes_commands()
        if amount.currency != self.currency:
            raise invalid("amount", f"the account bills in {self.currency} (MON-1)")
        if not amount.is_positive():
            raise invalid("amount", "must be positive")
        assert Decimal(0) <= fee_rate <= Decimal(1), "a fee's share is checked at the door"
        if self.open_pool is not None:
            raise invalid("account", "a prepaid credit pool is already granted and open")
        if self.is_lifetime or not self.is_paid_plan(terms):
            raise invalid("account", "a prepaid credit pool needs a paid plan")
        running = (
            self.period is not None
            and self.status is AccountStatus.ACTIVE
            and self.period.start <= at < self.period.end
        )
        activates_at = self.period.end if running and self.period else at
        invoice = self.issue_invoice(
            [Charge(f"Prepaid credit pool of {amount}", 1, Unit.ONE, amount.amount, "CREDIT-1")],
            at,
            terms,
            numbering,
        )
        pool = Pool(
            amount=amount.amount,
            currency=self.currency,
            fee_rate=fee_rate,
            granted_at=at,
            activates_at=activates_at,
            invoice=invoice.number if invoice else None,
        )
        self.trigger(self.PrepaidCreditGranted, at, pool=pool)
        if activates_at <= at:
            self.activate_pool(at, terms)

    def activate_pool(self, at: datetime, terms: Terms) -> None:
        """CREDIT-1/2: from the activation date the pool replaces period charges; the
        renewal due at activation is not charged."""
        pool = self.open_pool
        assert pool is not None and pool.active_from is None
        first_day = at.date()
        year_days, ends_on = pool.twelve_months_from(first_day)
        self.trigger(
            self.PoolActivated,
            at,
            active_from=first_day,
            initial_rate=self.monthly_rate(terms, first_day),
            year_days=year_days,
            ends_on=ends_on,
        )

    def move_pool_rate(self, at: datetime, terms: Terms) -> None:
        """CREDIT-1/3: every seat or plan change moves the pool's rate at the instant it is
        made, and with it the end of the validity window."""
        pool = self.pool
        if pool is None or not pool.is_active:
            return
        day = at.date()
        new_rate = self.monthly_rate(terms, day)
        if new_rate == pool.rate or new_rate <= 0:
            return
        assert pool.ends_on is not None
        change = RateChange(
            day=day,
            old_rate=pool.rate,
            new_rate=new_rate,
            remaining=round_half_up(pool.remaining_on(day), self.currency),
            old_end=pool.ends_on,
            new_end=pool.end_after(day, new_rate),
        )
        self.trigger(self.PoolRateChanged, at, rate_change=change)

    def exhaust_pool(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """CREDIT-4: the pool ends at 00:00 UTC on ends_on; value left over or missing through
        the day rounding is dropped; regular billing resumes with a new period at once."""
        pool = self.open_pool
        assert pool is not None and pool.ends_on is not None
        dropped = round_half_up(pool.value_on(pool.ends_on), self.currency)
        zero = Decimal(0)
        self.trigger(self.PoolClosed, at, remaining=zero, fee=zero, refund=zero, dropped=dropped)
        self.start_billing_if_due(at, terms, numbering)

    def credit_window(self, at: datetime) -> CreditWindow | None:
        """CREDIT-3: the open pool's window as of `at`, with how each change moved its end."""
        pool = self.open_pool
        if pool is None:
            return None
        first_day = pool.active_from or pool.activates_at.date()
        return CreditWindow(
            active_from=first_day,
            remaining=pool.remaining_on(at.date()),
            ends_on=pool.ends_on or pool.twelve_months_from(first_day)[1],
            changes=list(pool.changes),
        )

    # ----------------------------------------------------- lifetime deals

    @classmethod
    def open_lifetime(
        cls,
        *,
        account_id: UUID,
        at: datetime,
        code: str,
        owner: Person,
        company: str,
        country: str,
        currency: str,
        region: str | None,
        slug: str,
        terms: Terms,
        actor: str | None = None,
    ) -> Account:
        """LTD-3: redemption opens an account on the all-inclusive plan with two lifetime
        seats (the owner and one agent or admin), no trial and no periodic charge."""
        plan = terms.catalog.lifetime_deal_plan
        account = cls._opened(
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
            cycle=Cycle.MONTHLY,
            seats=LIFETIME_SEATS,
            status=AccountStatus.ACTIVE,
            trial_ends_at=None,
            free=False,
            terms=terms,
            language=Language.EN,
        )
        account.trigger(cls.CodeRedeemed, at, code=code, plan=plan)
        return account

    def check_no_code(self) -> None:
        """LTD-4: one code per account."""
        if self.is_lifetime:
            raise DomainError(
                ErrorCode.CODE_STACKING,
                "this account has redeemed a lifetime-deal code already",
                "code",
            )

    def redeem_code(self, code: str, at: datetime, terms: Terms) -> None:
        """LTD-3/4: an existing account takes a code: it moves to the lifetime deal's plan,
        billed from now on by LTD-5, anchored on the redemption."""
        self.check_takes_commands()
        self.check_no_code()
        if self.open_pool is not None:
            raise invalid("code", "a prepaid credit pool is running on this account")
        self.trigger(self.CodeRedeemed, at, code=code, plan=terms.catalog.lifetime_deal_plan)
        self.warn_package_exceeded(at)

    def take_code(self, code: Code, at: datetime, first_redeemer: Account | None) -> None:
        """LTD-4: a code redeemed a second time (a different account) suspends (code_reuse)
        both the new account and the account that redeemed it first."""
        first = code.redeem(self.id, at)
        if first is None:
            return
        assert first_redeemer is not None and first_redeemer.id == first
        self.add_suspension(SuspensionReason.CODE_REUSE, at)
        first_redeemer.add_suspension(SuspensionReason.CODE_REUSE, at)

    def warn_package_exceeded(self, at: datetime) -> None:
        """LTD-6: the first time seats exceed the two, the owner is warned."""
        if not self.is_lifetime or self.seats <= LIFETIME_SEATS:
            return
        if any(n.kind is NotificationKind.PACKAGE_EXCEEDED for n in self.notifications):
            return
        self.notify(NotificationKind.PACKAGE_EXCEEDED, at)

    def billing_details_complete(self) -> bool:
        """INV-3: real full name, e-mail, company name and a postal address (street, city,
        postal code, state or province where the country has them, country)."""
        details = self.billing_details
        if details is None or not details.email or details.address is None:
            return False
        address = details.address
        needs_state = address.country in ("US", "CA", "AU")
        return all(
            (details.name, details.company, address.street, address.city, address.postal_code)
        ) and (bool(address.state) or not needs_state)

    def bill_lifetime_period(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """LTD-5: seats beyond the two are billed monthly in arrears on each billing day
        anchored on the redemption: price x extra seat-days / days in the period. A period
        without extra seat-days produces no invoice. LTD-7: without billing details and a
        payment method no invoice is issued and the account is suspended until both are
        given; days spent suspended still count."""
        assert self.lifetime_anchor is not None
        index = self.lifetime_periods_billed
        start = add_months(self.lifetime_anchor, index)
        end = add_months(self.lifetime_anchor, index + 1)
        period = LifetimePeriod(
            index=index,
            start=start,
            end=end,
            extra_seat_days=extra_seat_days(self.seat_history, start.date(), end.date()),
            unit_price=terms.unit_price(self.plan, self.currency, Cycle.MONTHLY, start.date()),
        )
        chargeable = period.extra_seat_days > 0
        ready = self.billing_details_complete() and self.payment_method is not None
        self.trigger(self.LifetimePeriodClosed, at, period=period, pending=chargeable and not ready)
        if not chargeable:
            return
        if ready:
            self.issue_lifetime_invoice(period, at, terms, numbering)
        else:
            self.add_suspension(SuspensionReason.BILLING_DETAILS_MISSING, at)

    def issue_lifetime_invoice(
        self, period: LifetimePeriod, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        text = (
            f"Extra seats beyond the lifetime deal: {period.extra_seat_days} seat-days x "
            f"{self.money(period.unit_price)} / {period.days} days, "
            f"{period.start.date()} to {period.end.date()}"
        )
        # the monthly seat price per period of `days` days, for each extra seat-day
        charge = Charge(
            text,
            period.extra_seat_days,
            Unit.DAY,
            period.unit_price,
            "LTD-5",
            base_quantity=period.days,
            period=(period.start.date(), period.end.date()),
        )
        self.issue_invoice([charge], at, terms, numbering)

    def release_lifetime_charges(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """LTD-7: once billing details and a payment method are both given, the withheld
        invoices are issued and charged, and the suspension is lifted."""
        if not self.lifetime_pending:
            return
        if not (self.billing_details_complete() and self.payment_method is not None):
            return
        pending = list(self.lifetime_pending)
        self.trigger(self.LifetimeChargesReleased, at)
        for period in pending:
            self.issue_lifetime_invoice(period, at, terms, numbering)
        self.clear_suspension(SuspensionReason.BILLING_DETAILS_MISSING, at, terms, numbering)

    # -------------------------------------------------------- suspension

    def add_suspension(self, reason: SuspensionReason, at: datetime) -> None:
        """CANCEL-4: every move into suspended sends exactly one `suspended` notification; a
        reason added to an already suspended account sends none."""
        if self.status is AccountStatus.SUSPENDED:
            if reason not in self.suspension_reasons:
                self.trigger(self.SuspensionReasonAdded, at, reason=reason)
            return
        self.trigger(self.Suspended, at, reason=reason)
        self.notify(NotificationKind.SUSPENDED, at)

    def clear_suspension(
        self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        """ACC-4: reactivated only when every reason is cleared; then BILL-8 applies."""
        if reason not in self.suspension_reasons:
            return
        last = len(self.suspension_reasons) == 1
        resumes_as: AccountStatus | None = None
        if last:
            in_trial = not self.trial_over
            resumes_as = AccountStatus.TRIALING if in_trial else AccountStatus.ACTIVE
        self.trigger(self.SuspensionReasonCleared, at, reason=reason, resumes_as=resumes_as)
        if resumes_as is AccountStatus.ACTIVE:
            self.start_billing_if_due(at, terms, numbering)

    # --------------------------------------------------------- inactivity

    def is_idle_subject(self) -> bool:
        """IDLE-2 (interpretation): inactivity deletion applies to accounts that pay nothing:
        free, trialing or suspended ones. Active paid accounts are exempt; cancelled ones
        follow CANCEL-3."""
        if self.status in (AccountStatus.TRIALING, AccountStatus.SUSPENDED):
            return True
        return self.status is AccountStatus.ACTIVE and self.on_free_plan

    def refresh_idle_exemption(self, at: datetime) -> None:
        """IDLE-2: an account that loses its exemption is warned from that moment on at the
        earliest; one that regains it is not deleted and its warning is void."""
        if self.is_idle_subject():
            if self.idle_since is None:
                self.idle_since = at
        else:
            self.idle_since = None
            self.warned_at = None

    def inactivity_task(self) -> Task | None:
        """IDLE-1: the warning at last activity + 28 x 24 h; the deletion at the later of last
        activity + 56 x 24 h and warning + 28 x 24 h."""
        if self.idle_since is None or self.last_activity_at is None:
            return None
        if self.warned_at is None:
            due = max(self.last_activity_at + IDLE_WARNING_DAYS * DAY, self.idle_since)
            return Task.of(TaskKind.INACTIVITY_WARNING, due, self.id, due.isoformat())
        due = max(
            self.last_activity_at + IDLE_DELETION_DAYS * DAY,
            self.warned_at + IDLE_WARNING_DAYS * DAY,
        )
        return Task.of(TaskKind.INACTIVITY_DELETION, due, self.id, due.isoformat())

    # ------------------------------------------------------ personal data

    def statutory_end(self) -> date | None:
        """GDPR-5: invoices, credit notes, payments and refunds are kept for the statutory
        period, counted from the end of the year of the last of them."""
        records = [i.issued_at for i in self.invoices]
        records += [p.at for p in self.payments] + [r.at for r in self.refunds]
        return statutory_end(records)

    def erasure_due(self) -> dict[Scope, datetime]:
        """GDPR-4/5: when each scope of the account's personal data falls due for erasure.
        The profile (owner, recipients) goes with the account's content when it is deleted;
        billing records when their statutory period ends (at deletion if there are none)."""
        if self.deleted_at is None:
            return {}
        end = self.statutory_end()
        due = {
            Scope.PROFILE: self.deleted_at,
            Scope.CONTENT: self.deleted_at,
            Scope.BILLING: start_of_day(end) if end is not None else self.deleted_at,
        }
        return {scope: at for scope, at in due.items() if scope not in self.erased_scopes}

    def erasure_tasks(self) -> list[Task]:
        return [
            Task.of(TaskKind.ERASURE, at, self.id, at.isoformat())
            for at in sorted(set(self.erasure_due().values()))
        ]

    def scopes_due(self, at: datetime) -> list[Scope]:
        return sorted(scope for scope, due in self.erasure_due().items() if due <= at)

    def scopes_erasable_on_request(self, at: datetime) -> list[Scope]:
        """GDPR-4: erasure is carried out when requested, except for data under GDPR-5: the
        billing records stay sealed under their key until the statutory period ends. The
        account's content about other people (agents' logins) is not the requester's.
        (Interpretation: a subject linked to an account is the person the account's profile
        is about, its owner.)"""
        end = self.statutory_end()
        held = end is not None and at.date() < end
        scopes = [Scope.PROFILE] if held else [Scope.BILLING, Scope.PROFILE]
        return [scope for scope in scopes if scope not in self.erased_scopes]

    def erase_personal_data(self, scopes: list[Scope], reason: str, at: datetime) -> None:
        """GDPR-4: records that the keys of these scopes were destroyed."""
        fresh = sorted(set(scopes) - set(self.erased_scopes))
        if fresh:
            self.trigger(self.PersonalDataErased, at, scopes=fresh, reason=reason)

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

    # ----------------------------------------------------- scheduled work

    def set_aside_work(self, task: Task, error: str, where: str, at: datetime) -> None:
        """Due work raised: it waits for an operator (see WorkSetAside)."""
        self.trigger(self.WorkSetAside, at, set_aside=held_work(self, task, error, where, at))

    def release_work(self, key: str, at: datetime) -> Task:
        """An operator releases the work set aside under `key`; the task, due again."""
        task = released(self, key)
        self.trigger(self.WorkReleased, at, key=key)
        return task

    def tasks(self) -> list[Task]:
        """Everything this account has due, each with a key naming what it does (TIME-3);
        nothing while work of it is set aside."""
        if self.held is not None:
            return []
        if self.status is AccountStatus.DELETED:
            return self.erasure_tasks()
        found: list[Task] = []
        if self.status is AccountStatus.CANCELLED:
            assert self.cancelled_at is not None
            due = self.cancelled_at + DELETION_AFTER_CANCELLATION_DAYS * DAY
            return [Task.of(TaskKind.DELETION, due, self.id)]
        if self.cancellation_effective_at is not None:
            found.append(Task.of(TaskKind.CANCELLATION, self.cancellation_effective_at, self.id))
        if not self.trial_over and self.trial_ends_at is not None:
            found.append(Task.of(TaskKind.TRIAL_EXPIRY, self.trial_ends_at, self.id))
        pool = self.open_pool
        if pool is not None and pool.active_from is None:
            found.append(Task.of(TaskKind.POOL_ACTIVATION, pool.activates_at, self.id))
        elif pool is not None and pool.ends_on is not None:
            ends = start_of_day(pool.ends_on)
            found.append(Task.of(TaskKind.POOL_EXHAUSTION, ends, self.id, pool.ends_on))
        if self.is_lifetime and self.lifetime_anchor is not None:
            due = add_months(self.lifetime_anchor, self.lifetime_periods_billed + 1)
            found.append(Task.of(TaskKind.LIFETIME_BILLING, due, self.id, due.isoformat()))
        renewal = self.renewal_due()
        if renewal is not None:
            found.append(Task.of(TaskKind.RENEWAL, renewal, self.id, renewal.isoformat()))
        payment = self.payment_task()
        if payment is not None:
            found.append(payment)
        idle = self.inactivity_task()
        if idle is not None:
            found.append(idle)
        return found

    def payment_task(self) -> Task | None:
        """PAY-2/PAY-4: the earliest charge attempt due on an open invoice."""
        attempts = [
            i.next_attempt_at for i in self.open_invoices() if i.next_attempt_at is not None
        ]
        if not attempts or self.payment_method is None:
            return None
        first = min(attempts)
        return Task.of(TaskKind.PAYMENT, first, self.id, first.isoformat())

    def next_task(self) -> Task | None:
        tasks = self.tasks()
        return min(tasks) if tasks else None

    def renewal_due(self) -> datetime | None:
        """BILL-2: the next period starts when the current one ends. BILL-7: a cancelled,
        suspended or deleted account is not renewed; CANCEL-2: nor one with a cancellation
        pending. TRIAL-1: the free plan has no periods."""
        if (
            self.status is not AccountStatus.ACTIVE
            or self.period is None
            or self.on_free_plan
            or self.pool_active
            or self.is_lifetime
            or self.cancellation_effective_at is not None
        ):
            return None
        return self.period.end

    def run_task(self, task: Task, terms: Terms, numbering: Numbering) -> bool:
        """Does the task if it is still due as named; returns False (and records nothing) when
        it was already done, so running the scheduler twice changes nothing."""
        if task not in self.tasks():
            return False
        at = task.due_at
        match task.kind:
            case TaskKind.POOL_ACTIVATION:
                self.activate_pool(at, terms)
            case TaskKind.POOL_EXHAUSTION:
                self.exhaust_pool(at, terms, numbering)
            case TaskKind.CANCELLATION:
                self.take_cancellation_effect(at)
            case TaskKind.TRIAL_EXPIRY:
                self.expire_trial(at)
            case TaskKind.RENEWAL:
                self.renew(at, terms, numbering)
            case TaskKind.LIFETIME_BILLING:
                self.bill_lifetime_period(at, terms, numbering)
            case TaskKind.INACTIVITY_WARNING:
                self.warn_of_inactivity(at)
            case TaskKind.INACTIVITY_DELETION:
                self.delete("inactivity", at)
            case TaskKind.DELETION:
                self.delete("cancelled", at)
            case TaskKind.PAYMENT | TaskKind.ERASURE:
                # The ledger carries these out: it talks to the gateway, or destroys keys
                # before it records the erasure.
                return False
        return True

    def expire_trial(self, at: datetime) -> None:
        """TRIAL-3: a trial that ends without a payment method suspends the account (adding
        the reason when it is suspended already)."""
        self.trigger(self.TrialExpired, at)
        self.add_suspension(SuspensionReason.TRIAL_EXPIRED, at)

    def renew(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """BILL-2: the next period, from the same anchor."""
        self.start_period(at, terms, numbering, new_anchor=False)

    def warn_of_inactivity(self, at: datetime) -> None:
        """IDLE-1: the owner is warned before an idle account is deleted."""
        self.trigger(self.InactivityWarned, at)
        self.notify(NotificationKind.INACTIVITY_WARNING, at)

    def delete(self, cause: str, at: datetime) -> None:
        """IDLE-1 deletion of an idle account; CANCEL-3 deletion after a cancellation."""
        self.trigger(self.Deleted, at, cause=cause)
        self.notify(NotificationKind.ACCOUNT_DELETED, at)

    # ------------------------------------------------------------ queries

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


def issued_by(event: Event) -> list[Invoice]:
    """The invoices and credit notes an event issued, as it recorded them: what their
    documents say, before any payment or credit note revised their status."""
    if isinstance(event, Account.InvoiceIssued):
        return [event.invoice]
    if isinstance(event, Account.InvoiceCorrected):
        return [event.credit_note, event.reissued]
    return []
