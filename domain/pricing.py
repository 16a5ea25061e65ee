"""Announced price changes (BILL-6) on top of the catalog (BILL-1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.catalog import Catalog, Cycle
from domain.errors import DomainError, ErrorCode
from domain.model import Aggregate, Event, stable_id

# BILL-6: the least notice a price change must be given, in days.
PRICE_NOTICE_DAYS = 30


class PriceChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan: str
    currency: str
    cycle: Cycle
    price: Decimal
    effective_on: date
    announced_at: datetime


class PriceBook(Aggregate):
    """The vendor's announced price changes. One per ledger."""

    changes: list[PriceChange] = []

    ID: ClassVar[UUID] = stable_id("price-book")

    class Opened(Event):
        pass

    class PriceChangeAnnounced(Event):
        change: PriceChange

        def apply(self, book: PriceBook) -> None:
            book.changes.append(self.change)

    @classmethod
    def open(cls, at: datetime) -> PriceBook:
        return cls.create(cls.Opened, cls.ID, at)

    def announce(
        self,
        catalog: Catalog,
        *,
        plan: str,
        currency: str,
        cycle: Cycle,
        price: Decimal,
        effective_on: date,
        at: datetime,
    ) -> PriceChange:
        """BILL-6: a price change must be announced at least 30 days before it takes effect
        (the effective date minus the announcement's UTC date); less notice is rejected."""
        catalog.base_price(plan, currency, cycle)
        assert price >= 0, "a price is checked at the door"
        notice_days = (effective_on - at.date()).days
        if notice_days < PRICE_NOTICE_DAYS:
            raise DomainError(
                ErrorCode.PRICE_NOTICE_TOO_SHORT,
                f"a price change needs {PRICE_NOTICE_DAYS} days' notice; {notice_days} given",
                "effective_on",
            )
        change = PriceChange(
            plan=plan,
            currency=currency,
            cycle=cycle,
            price=price,
            effective_on=effective_on,
            announced_at=at,
        )
        self.trigger(self.PriceChangeAnnounced, at, change=change)
        return change

    def price(self, catalog: Catalog, plan: str, currency: str, cycle: Cycle, day: date) -> Decimal:
        """BILL-6: periods that start on or after the effective date use the new price."""
        in_force = [
            c
            for c in self.changes
            if (c.plan, c.currency, c.cycle) == (plan, currency, cycle) and c.effective_on <= day
        ]
        if not in_force:
            return catalog.base_price(plan, currency, cycle)
        latest = max(in_force, key=lambda c: (c.effective_on, c.announced_at))
        return latest.price
