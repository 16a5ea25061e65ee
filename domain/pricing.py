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


class PriceNotice(Aggregate):
    """BILL-6, carried out a batch at a time: how far the notices of one announced change
    have gone through the affected accounts, in the order they were opened. Each batch
    notifies its accounts and records how far it got in one transaction, so an
    announcement cut off part-way goes on from there and no owner is told twice.

    The affected accounts are those opened up to `opened_upto` (a place in the opening
    order: the accounts there were when the change was announced), each judged by its own
    state when its batch comes (`Account.notify_price_change`)."""

    number: int = 0  # the change's place among the price book's changes
    change: PriceChange | None = None
    opened_upto: int = 0
    after: int = 0  # the place of the last account its batches went through
    notified: int = 0
    finished: bool = False

    @staticmethod
    def id_for(number: int) -> UUID:
        return stable_id("price-notice", number)

    class Started(Event):
        number: int
        change: PriceChange
        opened_upto: int

        def apply(self, notice: PriceNotice) -> None:
            notice.number = self.number
            notice.change = self.change
            notice.opened_upto = self.opened_upto

    class BatchNotified(Event):
        """A batch of the affected accounts went through: up to `after` in the opening
        order, `count` of them looked at; `finished` when none is left."""

        after: int
        count: int
        finished: bool

        def apply(self, notice: PriceNotice) -> None:
            notice.after = self.after
            notice.notified += self.count
            notice.finished = self.finished

    @classmethod
    def start(cls, number: int, change: PriceChange, opened_upto: int, at: datetime) -> PriceNotice:
        return cls.create(
            cls.Started,
            cls.id_for(number),
            at,
            number=number,
            change=change,
            opened_upto=opened_upto,
        )

    def went_through(self, after: int, count: int, finished: bool, at: datetime) -> None:
        assert not self.finished, "a finished notice has no batch left"
        assert after >= self.after, "batches go forward in the opening order"
        self.trigger(self.BatchNotified, at, after=after, count=count, finished=finished)
