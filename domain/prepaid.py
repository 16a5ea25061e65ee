"""Annual prepaid credit pools (CREDIT-1..5): exact burn, validity window, refund; and the
account's part that grants, activates, moves, exhausts and refunds its pool."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.billing import Period
from domain.catalog import Cycle
from domain.dates import add_months, days_between, round_half_up_days, start_of_day
from domain.errors import invalid
from domain.invoicing import Charge, Invoice, Refund, Unit
from domain.model import Event, TEvent
from domain.money import Money, round_half_up
from domain.numbering import Numbering
from domain.policy import Terms
from domain.schedule import Task, TaskKind
from domain.suspension import AccountStatus

DEFAULT_CANCELLATION_FEE = Decimal("0.50")  # CREDIT-5: per agreement, default 50%


class RateChange(BaseModel):
    """Why the end of a pool is where it is: one seat or plan change (CREDIT-3)."""

    model_config = ConfigDict(frozen=True)
    day: date
    old_rate: Decimal
    new_rate: Decimal
    remaining: Decimal  # exact value on the day, rounded for display
    old_end: date
    new_end: date


class CreditWindow(BaseModel):
    """CREDIT-3: a pool's validity window as of an instant."""

    model_config = ConfigDict(frozen=True)
    active_from: date
    remaining: Fraction
    ends_on: date
    changes: list[RateChange]


class Pool(BaseModel):
    """One prepaid pool of amount A. Pool days are whole UTC dates from the activation date."""

    amount: Decimal
    currency: str
    fee_rate: Decimal
    granted_at: datetime
    activates_at: datetime
    invoice: str | None = None
    active_from: date | None = None
    initial_rate: Decimal | None = None
    year_days: int | None = None
    segments: list[tuple[date, Decimal]] = []  # (first day, monthly rate from that day)
    ends_on: date | None = None
    changes: list[RateChange] = []
    closed_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.active_from is not None and self.closed_at is None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def rate(self) -> Decimal:
        assert self.segments, "a pool has a rate once active"
        return self.segments[-1][1]

    def daily_burn(self, rate: Decimal) -> Fraction:
        """CREDIT-2: per day, A x rate / (rate_at_activation x N), N the days from activation
        to activation + 12 months. At a constant rate the pool lasts exactly 12 months."""
        assert self.initial_rate and self.year_days
        return (
            Fraction(self.amount) * Fraction(rate) / (Fraction(self.initial_rate) * self.year_days)
        )

    def value_on(self, day: date) -> Fraction:
        """The exact value left at the start of `day`, unclamped (before CREDIT-4's drop)."""
        if self.active_from is None or day <= self.active_from:
            return Fraction(self.amount)
        burnt = Fraction(0)
        bounds = [start for start, _ in self.segments[1:]] + [day]
        for (start, rate), stop in zip(self.segments, bounds, strict=True):
            days = days_between(start, min(stop, day))
            if days > 0:
                burnt += self.daily_burn(rate) * days
        return Fraction(self.amount) - burnt

    def remaining_on(self, day: date) -> Fraction:
        """CREDIT-3/4: the value left, never below zero, and nothing from `ends_on` on."""
        if self.ends_on is not None and day >= self.ends_on:
            return Fraction(0)
        return max(Fraction(0), self.value_on(day))

    def end_after(self, day: date, new_rate: Decimal) -> date:
        """CREDIT-3: each change of rate moves the end: new end = change day + remaining days
        x old rate / new rate, rounded to the nearest whole day (half up). (Interpretation:
        the remaining days are the days the remaining value lasts at the old rate; on a
        pool's first change that is exactly its end minus the change day.)"""
        remaining_days = self.value_on(day) / self.daily_burn(self.rate)
        moved = remaining_days * Fraction(self.rate) / Fraction(new_rate)
        return day + timedelta(days=round_half_up_days(max(moved, Fraction(0))))

    def twelve_months_from(self, first_day: date) -> tuple[int, date]:
        end = add_months(start_of_day(first_day), 12).date()
        return days_between(first_day, end), end

    def refund(self, at: datetime) -> tuple[Decimal, Decimal, Decimal]:
        """CREDIT-5: on cancellation with value R remaining, R minus a fee of R x fee rate is
        refunded. Returns (R, fee, refund), each rounded once to the minor unit."""
        remaining = self.remaining_on(at.date())
        refund = remaining * (1 - Fraction(self.fee_rate))
        r = round_half_up(remaining, self.currency)
        paid_back = round_half_up(refund, self.currency)
        return r, r - paid_back, paid_back


class PrepaidPools:
    """The account's part that holds its prepaid credit pool."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        status: AccountStatus
        plan: str
        currency: str
        period: Period | None
        pool: Pool | None
        PrepaidCreditGranted: ClassVar[type[Event]]
        PoolActivated: ClassVar[type[Event]]
        PoolRateChanged: ClassVar[type[Event]]
        PoolClosed: ClassVar[type[Event]]
        RefundIssued: ClassVar[type[Event]]

        @property
        def seats(self) -> int: ...
        @property
        def is_lifetime(self) -> bool: ...
        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def check_takes_commands(self) -> None: ...
        def is_paid_plan(self, terms: Terms) -> bool: ...
        def start_billing_if_due(
            self, at: datetime, terms: Terms, numbering: Numbering
        ) -> None: ...
        def issue_invoice(
            self,
            lines: list[Charge],
            at: datetime,
            terms: Terms,
            numbering: Numbering,
            *,
            period_start: datetime | None = None,
            period_end: datetime | None = None,
        ) -> Invoice | None: ...

    @property
    def pool_active(self) -> bool:
        return self.pool is not None and self.pool.is_active

    @property
    def open_pool(self) -> Pool | None:
        return self.pool if self.pool is not None and self.pool.is_open else None

    def monthly_rate(self, terms: Terms, day: date) -> Decimal:
        """CREDIT-2: the account's monthly rate: seats x per-seat monthly price."""
        return self.seats * terms.unit_price(self.plan, self.currency, Cycle.MONTHLY, day)

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

    def refund_pool(self, at: datetime) -> None:
        """CREDIT-5: on cancellation a running or pending pool is refunded, less its
        cancellation fee."""
        pool = self.open_pool
        if pool is None:
            return
        remaining, fee, refund = pool.refund(at)
        self.trigger(
            self.PoolClosed, at, remaining=remaining, fee=fee, refund=refund, dropped=Decimal(0)
        )
        if refund > 0:
            self.trigger(
                self.RefundIssued, at, refund=Refund(amount=refund, at=at, rule="CREDIT-5")
            )

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

    def pool_task(self) -> Task | None:
        """CREDIT-1: a pool granted activates when it is due; CREDIT-4: an active one is
        exhausted at 00:00 UTC on its end day."""
        pool = self.open_pool
        if pool is not None and pool.active_from is None:
            return Task.of(TaskKind.POOL_ACTIVATION, pool.activates_at, self.id)
        if pool is not None and pool.ends_on is not None:
            ends = start_of_day(pool.ends_on)
            return Task.of(TaskKind.POOL_EXHAUSTION, ends, self.id, pool.ends_on)
        return None
