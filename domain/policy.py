"""The parameters the rules run with: catalog, announced prices, VAT table, seller country,
business calendar. Built by the application from settings; pure data for the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import holidays

from domain.catalog import Catalog, Cycle
from domain.dates import start_of_day
from domain.pricing import PriceBook
from domain.vat import VatTable

DEFAULT_TRIAL_DAYS = 14  # TRIAL-1
MAX_TRIAL_DAYS = 14  # TRIAL-1: "up to 14 days"
DEFAULT_LTD_REDEEM_DEADLINE = datetime(2019, 11, 30, 23, 59, 59, tzinfo=UTC)  # LTD-2


@dataclass(frozen=True)
class Terms:
    catalog: Catalog
    prices: PriceBook
    vat_table: VatTable = field(default_factory=VatTable.default)
    seller_country: str = "SK"
    business_calendar: str = "SK"
    ltd_redeem_deadline: datetime = DEFAULT_LTD_REDEEM_DEADLINE

    def unit_price(self, plan: str, currency: str, cycle: Cycle, day: date) -> Decimal:
        """BILL-1/BILL-6: the per-seat price in force on a day."""
        return self.prices.price(self.catalog, plan, currency, cycle, day)

    @cached_property
    def _holidays(self) -> Any:
        return holidays.country_holidays(self.business_calendar)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def end_of_next_business_day(self, at: datetime) -> datetime:
        """CANCEL-2: the end of the next business day after a request: 00:00 UTC after it."""
        day = at.date() + timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(day):
                return start_of_day(day + timedelta(days=1))
            day += timedelta(days=1)
        raise AssertionError("no business day within a year")
