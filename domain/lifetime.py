"""Lifetime-deal codes (LTD-1..4) and the extra-seat arithmetic of LTD-5."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.errors import DomainError, ErrorCode, invalid
from domain.model import Aggregate, Event, stable_id

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
    def sell(cls, code: str, currency: str, at: datetime) -> Code:
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
