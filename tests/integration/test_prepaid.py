"""Prepaid credit pools: figures worked by hand from TERMS.md, and properties over random
seat histories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    Cancel,
    GrantPrepaidCredit,
    LiftSuspension,
    Suspend,
)
from domain.errors import DomainError, ErrorCode
from domain.prepaid import Pool, RateChange
from tests.helpers import at, open_account, plain, totals


def pool_of(amount: str, rate: str, first_day: date) -> Pool:
    pool = Pool(
        amount=Decimal(amount),
        currency="USD",
        fee_rate=Decimal("0.5"),
        granted_at=datetime(2025, 1, 1, tzinfo=UTC),
        activates_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    year_days, ends_on = pool.twelve_months_from(first_day)
    pool.active_from = first_day
    pool.initial_rate = Decimal(rate)
    pool.year_days = year_days
    pool.segments = [(first_day, Decimal(rate))]
    pool.ends_on = ends_on
    return pool


def change_rate(pool: Pool, day: date, rate: Decimal) -> None:
    assert pool.ends_on is not None
    new_end = pool.end_after(day, rate)
    pool.changes.append(
        RateChange(
            day=day,
            old_rate=pool.rate,
            new_rate=rate,
            remaining=Decimal(0),
            old_end=pool.ends_on,
            new_end=new_end,
        )
    )
    pool.segments.append((day, rate))
    pool.ends_on = new_end


def test_credit_2_at_a_constant_rate_a_pool_lasts_exactly_twelve_months() -> None:
    """CREDIT-2: per day A x rate / (rate_at_activation x N)."""
    pool = pool_of("4680.00", "390", date(2025, 3, 15))
    assert pool.year_days == 365
    assert pool.ends_on == date(2026, 3, 15)
    assert pool.value_on(date(2026, 3, 15)) == 0
    assert pool.remaining_on(date(2026, 3, 14)) == Fraction(4680, 365)


def test_credit_3_the_terms_example_moves_the_end_to_2026_02_13() -> None:
    """CREDIT-3: 4,680.00 for 10 seats active 2025-03-15; 12 seats on 2025-09-15."""
    pool = pool_of("4680.00", "390", date(2025, 3, 15))
    assert round(float(pool.value_on(date(2025, 9, 15))), 2) == 2320.77
    assert pool.end_after(date(2025, 9, 15), Decimal(468)) == date(2026, 2, 13)


def test_credit_5_the_terms_example_refunds_798_81() -> None:
    """CREDIT-5: cancelled on 2025-11-01 at 12 seats: R = 1,597.61, refund 798.81."""
    pool = pool_of("4680.00", "390", date(2025, 3, 15))
    change_rate(pool, date(2025, 9, 15), Decimal(468))
    remaining, fee, refund = pool.refund(datetime(2025, 11, 1, tzinfo=UTC))
    assert (remaining, fee, refund) == (Decimal("1597.61"), Decimal("798.80"), Decimal("798.81"))


seat_histories = st.lists(
    st.tuples(st.integers(min_value=0, max_value=120), st.integers(min_value=1, max_value=40)),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    seats=st.integers(min_value=1, max_value=40),
    history=seat_histories,
    amount=st.integers(100, 100_000),
)
def test_credit_3_property_the_pool_never_goes_below_zero_and_ends_on_its_day(
    seats: int, history: list[tuple[int, int]], amount: int
) -> None:
    """CREDIT-3, CREDIT-4: for random seat histories the remaining value never goes below
    zero, remaining + consumed == granted on every day, and the value reaches zero at
    ends_on to the day: positive the day before, nothing from ends_on."""
    first = date(2025, 1, 31)
    pool = pool_of(f"{amount}.00", str(seats * 39), first)
    day = first
    for gap, new_seats in sorted(history):
        assert pool.ends_on is not None
        day = max(day, first + timedelta(days=gap))
        rate = Decimal(new_seats * 39)
        if day >= pool.ends_on or rate == pool.rate:
            continue
        change_rate(pool, day, rate)
    assert pool.ends_on is not None
    granted = Fraction(amount)
    rates = {change.day: change.new_rate for change in pool.changes}
    assert pool.initial_rate is not None and pool.year_days is not None
    initial_rate, year_days = pool.initial_rate, pool.year_days
    current: Decimal = initial_rate
    consumed = Fraction(0)  # summed day by day, independently of the pool's own fold
    previous = granted
    for offset in range((pool.ends_on - first).days + 2):
        today = first + timedelta(days=offset)
        remaining = pool.remaining_on(today)
        if today >= pool.ends_on:
            consumed = granted  # CREDIT-4: what is left at ends_on is dropped
        assert remaining >= 0
        assert remaining + consumed == granted
        assert remaining <= previous
        previous = remaining
        current = rates.get(today, current)
        burn = Fraction(amount) * Fraction(current) / (Fraction(initial_rate) * year_days)
        consumed = min(granted, consumed + burn)
    assert pool.remaining_on(pool.ends_on - timedelta(days=1)) > 0
    assert pool.remaining_on(pool.ends_on) == 0
    # The exact value at ends_on (what CREDIT-4 drops) is within half a day's burn.
    assert abs(pool.value_on(pool.ends_on)) <= pool.daily_burn(pool.rate) / 2


def test_credit_1_a_pool_is_invoiced_at_once_and_starts_when_the_paid_period_ends(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-1: the renewal due at activation is not charged; no period charges while it lasts."""
    at(ledger, clock, "2025-02-14T12:00:00Z")
    delta = open_account(ledger, seats=10)
    at(ledger, clock, "2025-02-15T00:00:00Z")
    ledger.execute(delta, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-01T00:00:00Z")
    ledger.execute(delta, GrantPrepaidCredit(amount="4680.00 USD"))
    assert totals(ledger, delta) == ["390.00 USD", "4680.00 USD"]
    assert plain(ledger.credit_window(delta)) == {
        "account": str(delta),
        "slug": "acme-inc",
        "active_from": "2025-03-15",
        "remaining": "4680.00 USD",
        "ends_on": "2026-03-15",
        "changes": [],
    }
    at(ledger, clock, "2025-09-15T00:00:00Z")
    ledger.execute(delta, AddSeats(count=2))
    assert totals(ledger, delta) == ["390.00 USD", "4680.00 USD"]
    window = plain(ledger.credit_window(delta))
    assert window is not None
    assert (window["remaining"], window["ends_on"]) == ("2320.77 USD", "2026-02-13")
    assert window["changes"][0]["old_end"] == "2026-03-15"
    assert plain(ledger.balance(delta))["prepaid_credit"] == "2320.77 USD"


def test_credit_1_a_pool_on_an_account_without_a_running_period_starts_at_once(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-1: at once if no paid period is running."""
    at(ledger, clock, "2025-03-10T08:00:00Z")
    acme = open_account(ledger, seats=5)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-12T08:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))
    at(ledger, clock, "2025-04-20T08:00:00Z")
    ledger.execute(
        acme, LiftSuspension(reason="terms_violation")
    )  # BILL-8: a new period starts now
    trial = open_account(ledger, company="Trial Co", seats=5)
    ledger.execute(trial, GrantPrepaidCredit(amount="2340.00 USD"))
    assert ledger.account(trial)["status"] == "active"
    window = plain(ledger.credit_window(trial))
    assert window is not None and window["active_from"] == "2025-04-20"


def test_credit_4_billing_resumes_with_a_new_anchor_when_the_pool_runs_out(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-4: at 00:00 UTC on ends_on a new period starts and is charged."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger, seats=2)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))  # period Jan 1 - Feb 1: 78.00
    at(ledger, clock, "2025-01-10T00:00:00Z")
    ledger.execute(acme, GrantPrepaidCredit(amount="936.00 USD"))  # 12 x 78.00, active Feb 1
    at(ledger, clock, "2026-02-01T00:00:00Z")
    assert plain(ledger.credit_window(acme)) is None
    assert totals(ledger, acme) == ["78.00 USD", "936.00 USD", "78.00 USD"]
    assert ledger.account(acme)["period_start"] == "2026-02-01T00:00:00Z"


def test_credit_5_cancellation_refunds_the_rest_less_the_agreed_fee(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-5: the fee rate is per agreement."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger, seats=2)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    ledger.execute(
        acme, GrantPrepaidCredit(amount="936.00 USD", cancellation_fee="0.25")
    )  # active Feb 1
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.execute(acme, Cancel(via="button"))
    # Not yet active: R = 936.00, fee 234.00, refund 702.00
    assert plain(ledger.refunds(acme)) == [
        {"amount": "702.00 USD", "at": "2025-01-20T00:00:00Z", "rule": "CREDIT-5"}
    ]
    assert plain(ledger.credit_window(acme)) is None
    view = plain(ledger.ledger())
    assert view["balanced"] is True
    assert view["USD"]["revenue:cancellation_fees"] == "-234.00 USD"


def test_credit_1_refuses_a_second_pool_a_foreign_currency_and_a_bad_fee(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-1: one open pool per account, in the account's currency (MON-1)."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, GrantPrepaidCredit(amount="1000.00 USD"))
    for amount, fee in (("500.00 USD", "0.5"), ("500.00 EUR", "0.5"), ("500.00 USD", "1.5")):
        with pytest.raises(DomainError) as refused:
            grant = {"amount": amount, "cancellation_fee": fee}
            ledger.execute(acme, GrantPrepaidCredit.parse(grant))
        assert refused.value.code is ErrorCode.INVALID_INPUT


def test_credit_3_finance_sees_every_open_pool_and_why_its_end_moved(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CREDIT-3: the windows of all pools, each change with its old and new end."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    one = open_account(ledger, company="One", seats=10)
    two = open_account(ledger, company="Two", seats=1)
    open_account(ledger, company="None")
    ledger.execute(one, GrantPrepaidCredit(amount="4680.00 USD"))
    ledger.execute(two, GrantPrepaidCredit(amount="468.00 USD"))
    at(ledger, clock, "2025-07-02T00:00:00Z")
    ledger.execute(one, AddSeats(count=2))
    windows = plain(ledger.credit_windows().items)
    assert [(w["slug"], w["active_from"], w["ends_on"]) for w in windows] == [
        ("one", "2025-01-01", "2025-12-02"),
        ("two", "2025-01-01", "2026-01-01"),
    ]
    # 182 days burnt of 365: 183 days left x 390 / 468 = 152.5 -> 153 (half up): Dec 2
    assert windows[0]["changes"] == [
        {
            "day": "2025-07-02",
            "old_rate": "390.00 USD",
            "new_rate": "468.00 USD",
            "remaining": "2346.41 USD",
            "old_end": "2026-01-01",
            "new_end": "2025-12-02",
        }
    ]
