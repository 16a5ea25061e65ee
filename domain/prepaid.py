"""Annual prepaid credit pools (CREDIT-1..5): exact burn, validity window, refund."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from domain.dates import add_months, days_between, round_half_up_days, start_of_day
from domain.money import round_half_up

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
