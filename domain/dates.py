"""Calendar arithmetic on UTC instants (TIME-1, TIME-4)."""

from __future__ import annotations

import calendar
import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

DAY = timedelta(days=1)


def check_utc(at: datetime) -> datetime:
    """TIME-1: instants are timezone-aware; they are normalised to UTC."""
    assert at.tzinfo is not None and at.utcoffset() is not None, "naive datetime in the domain"
    return at.astimezone(UTC)


def add_months(anchor: datetime, months: int) -> datetime:
    """TIME-1: N months after D, anchored on D's day of month, clamped to the month's end.

    Always computed from the anchor, so Jan 31 gives Feb 28/29 and then Mar 31.
    """
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def days_between(start: date, end: date) -> int:
    """TIME-4: a period's days are its UTC dates from start (inclusive) to end (exclusive)."""
    return (end - start).days


def within_days(start: datetime, days: int, at: datetime) -> bool:
    """TIME-4: 'within N days' of an instant means up to that instant + N x 24 h, inclusive."""
    return at <= start + days * DAY


def round_half_up_days(days: Fraction) -> int:
    """A day count rounded to the nearest whole day, half up (CREDIT-3)."""
    return math.floor(days + Fraction(1, 2))


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def iso(at: datetime) -> str:
    """The canonical text of an instant: 2025-01-15T10:00:00Z."""
    text = check_utc(at).isoformat()
    return text.replace("+00:00", "Z")
