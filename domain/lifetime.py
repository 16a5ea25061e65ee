"""Lifetime-deal codes (LTD-1..4), the extra-seat arithmetic of LTD-5, and the account's
part that redeems a code and bills the seats beyond the deal (LTD-3..7)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.catalog import Cycle
from domain.dates import add_months, days_between
from domain.errors import DomainError, ErrorCode, invalid
from domain.invoicing import (
    Charge,
    Invoice,
    Language,
    Notification,
    NotificationKind,
    PaymentMethod,
    Person,
    Unit,
)
from domain.model import Aggregate, Event, TEvent, stable_id
from domain.money import Money
from domain.numbering import Numbering
from domain.policy import Terms
from domain.prepaid import Pool
from domain.schedule import Task, TaskKind
from domain.suspension import AccountStatus, SuspensionReason

LIFETIME_SEATS = 2  # LTD-3: the owner and one agent or admin


class Code(Aggregate):
    """LTD-1: a code is sold once and can be redeemed once. A later redemption on another
    account is reuse (LTD-4), which the ledger detects here, where the code's history is."""

    code: str = ""
    currency: str = "USD"
    sold_at: datetime | None = None
    redeemed_by: list[UUID] = []

    class Sold(Event):
        code: str
        currency: str

        def apply(self, code: Code) -> None:
            code.code = self.code
            code.currency = self.currency
            code.sold_at = self.effective_at

    class Redeemed(Event):
        account_id: UUID
        reuse_of: UUID | None

        def apply(self, code: Code) -> None:
            code.redeemed_by.append(self.account_id)

    @staticmethod
    def id_for(code: str) -> UUID:
        return stable_id("code", code)

    @classmethod
    def sell(cls, code: str, currency: str, at: datetime, *, sold: Code | None) -> Code:
        """LTD-1: a code is sold once: `sold`, the code of that name the ledger holds, if
        any, refuses a second sale."""
        if sold is not None:
            raise invalid("code", "this code was sold already")
        return cls.create(cls.Sold, cls.id_for(code), at, code=code, currency=currency)

    def check_redeemable(self, at: datetime, deadline: datetime, currency: str) -> None:
        """LTD-2: redemptions after the deadline (inclusive) are rejected."""
        if at > deadline:
            raise DomainError(
                ErrorCode.CODE_REDEMPTION_CLOSED,
                f"lifetime-deal codes could be redeemed until {deadline.isoformat()}",
                "code",
            )
        if currency != self.currency:
            raise invalid("currency", f"this code was sold in {self.currency}")

    @property
    def first_redeemer(self) -> UUID | None:
        return self.redeemed_by[0] if self.redeemed_by else None

    def redeem(self, account_id: UUID, at: datetime) -> UUID | None:
        """LTD-4: returns the account that redeemed the code first when this is a reuse."""
        first = self.first_redeemer
        self.trigger(self.Redeemed, at, account_id=account_id, reuse_of=first)
        return first


class SeatLevel(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    seats: int


def extra_seat_days(history: list[SeatLevel], first_day: date, end_day: date) -> int:
    """LTD-5: a day's extra seats are max(0, most seats held at any moment that day - 2);
    summed over the period's days (TIME-4: start date inclusive, end date exclusive). The
    day a seat is removed still counts with the seats held before the removal."""
    assert history, "an account always has a seat level"
    total = 0
    day = first_day
    while day < end_day:
        held_at_start = [level.seats for level in history if level.at.date() < day]
        during = [level.seats for level in history if level.at.date() == day]
        most = max([*held_at_start[-1:], *during]) if (held_at_start or during) else 0
        total += max(0, most - LIFETIME_SEATS)
        day += timedelta(days=1)
    return total


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


class LifetimeDeals:
    """The account's part that redeems a lifetime-deal code and bills what exceeds it."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        plan: str
        currency: str
        payment_method: PaymentMethod | None
        notifications: list[Notification]
        seat_history: list[SeatLevel]
        lifetime_code: str | None
        lifetime_anchor: datetime | None
        lifetime_periods_billed: int
        lifetime_pending: list[LifetimePeriod]
        CodeRedeemed: ClassVar[type[Event]]
        LifetimePeriodClosed: ClassVar[type[Event]]
        LifetimeChargesReleased: ClassVar[type[Event]]

        @property
        def seats(self) -> int: ...
        @property
        def open_pool(self) -> Pool | None: ...
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
        ) -> Self: ...
        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def check_takes_commands(self) -> None: ...
        def money(self, amount: Decimal | int) -> Money: ...
        def notify(
            self, kind: NotificationKind, at: datetime, subject: str | None = None
        ) -> None: ...
        def billing_details_complete(self) -> bool: ...
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
        def add_suspension(self, reason: SuspensionReason, at: datetime) -> None: ...
        def clear_suspension(
            self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
        ) -> None: ...

    @property
    def is_lifetime(self) -> bool:
        return self.lifetime_code is not None

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
    ) -> Self:
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

    def take_code(self, code: Code, at: datetime, first_redeemer: Self | None) -> None:
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

    def lifetime_billing_task(self) -> Task | None:
        """LTD-5: each monthly period is billed on the billing day that ends it."""
        if not self.is_lifetime or self.lifetime_anchor is None:
            return None
        due = add_months(self.lifetime_anchor, self.lifetime_periods_billed + 1)
        return Task.of(TaskKind.LIFETIME_BILLING, due, self.id, due.isoformat())

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
