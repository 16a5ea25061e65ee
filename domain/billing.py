"""Billing periods: charged in advance from the billing anchor (BILL-2), renewed unless the
account is not to be (BILL-7), anchored anew on a reactivation after the period ended
(BILL-8); upgrades within a period and their proration (BILL-3/4/5); the shared-login
surcharge (LOGIN-1)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.catalog import Cycle
from domain.dates import add_months, days_between
from domain.invoicing import Charge, Invoice, Unit
from domain.model import Event, TEvent
from domain.money import Money
from domain.numbering import Numbering
from domain.policy import Terms
from domain.schedule import Task, TaskKind
from domain.suspension import AccountStatus

MONTHS_PER_CYCLE = {Cycle.MONTHLY: 1, Cycle.ANNUAL: 12}


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


class Billing:
    """The account's part that starts, renews and charges its billing periods."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        status: AccountStatus
        plan: str
        currency: str
        cycle: Cycle
        on_free_plan: bool
        period: Period | None
        charged_rate: Decimal
        shared_logins: list[str | None]
        cancellation_effective_at: datetime | None
        PeriodStarted: ClassVar[type[Event]]
        RateRaised: ClassVar[type[Event]]

        @property
        def seats(self) -> int: ...
        @property
        def pool_active(self) -> bool: ...
        @property
        def is_lifetime(self) -> bool: ...
        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def money(self, amount: Decimal | int) -> Money: ...
        def is_paid_plan(self, terms: Terms) -> bool: ...
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
        self.issue_invoice(lines, at, terms, numbering, period_start=start, period_end=end)

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

    def renewal_task(self) -> Task | None:
        due = self.renewal_due()
        return None if due is None else Task.of(TaskKind.RENEWAL, due, self.id, due.isoformat())

    def renew(self, at: datetime, terms: Terms, numbering: Numbering) -> None:
        """BILL-2: the next period, from the same anchor."""
        self.start_period(at, terms, numbering, new_anchor=False)

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
