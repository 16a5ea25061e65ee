"""Lifetime-deal codes: sale, redemption, reuse, stacking, deadline and extra seats."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from threading import Barrier
from typing import Any
from uuid import UUID

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    OpenWithCode,
    RedeemCode,
    RemoveSeats,
    SellCode,
    SetBillingDetails,
)
from domain.errors import DomainError, ErrorCode
from domain.lifetime import Code, SeatLevel, extra_seat_days
from tests.helpers import at, event_count, kinds, plain, totals

BILLING: dict[str, Any] = {
    "name": "Ken Thompson",
    "email": "billing@sumo.example",
    "company": "Sumo Support LLC",
    "address": {
        "street": "1 Main St",
        "city": "Austin",
        "postal_code": "78701",
        "state": "TX",
        "country": "US",
    },
}


def redeem_new(
    ledger: Ledger, code: str, company: str = "Sumo Support", currency: str = "USD"
) -> UUID:
    return ledger.open_with_code(
        OpenWithCode.parse(
            {
                "code": code,
                "owner": {"name": "Ken Thompson", "email": "ken@sumo.example"},
                "company": company,
                "country": "US",
                "currency": currency,
            }
        )
    )


def levels(*changes: tuple[str, int]) -> list[SeatLevel]:
    return [
        SeatLevel(at=datetime.fromisoformat(t).replace(tzinfo=UTC), seats=n) for t, n in changes
    ]


def test_ltd_5_the_terms_example_counts_30_extra_seat_days() -> None:
    """LTD-5: period 2019-11-05 to 2019-12-05, seats 2 -> 4 on 2019-11-20: 30 seat-days."""
    history = levels(("2019-11-05T10:00:00", 2), ("2019-11-20T09:00:00", 4))
    assert extra_seat_days(history, date(2019, 11, 5), date(2019, 12, 5)) == 30


def test_ltd_5_a_day_counts_the_most_seats_held_at_any_moment_including_the_removal_day() -> None:
    """LTD-5: the day's maximum, so a seat added and removed the same day counts that day."""
    history = levels(
        ("2019-11-05T10:00:00", 2),
        ("2019-11-10T09:00:00", 5),
        ("2019-11-10T17:00:00", 2),
        ("2019-11-20T08:00:00", 3),
        ("2019-11-25T08:00:00", 2),
    )
    # Nov 10: 3 extra; Nov 20..25: 1 extra for 6 days (the removal day counted).
    assert extra_seat_days(history, date(2019, 11, 5), date(2019, 12, 5)) == 3 + 6


def test_ltd_1_a_code_is_sold_once() -> None:
    """LTD-1: a code the ledger holds is not sold again, in any currency."""
    at = datetime(2019, 10, 1, tzinfo=UTC)
    sold = Code.sell("LTD-0001", "USD", at, sold=None)
    assert (sold.id, sold.code, sold.currency) == (Code.id_for("LTD-0001"), "LTD-0001", "USD")
    for currency in ("USD", "EUR"):
        with pytest.raises(DomainError) as refused:
            Code.sell("LTD-0001", currency, at, sold=sold)
        assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "code")


def test_ltd_1_and_ltd_3_a_sold_code_opens_an_all_inclusive_account_with_two_seats_and_no_trial(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-1, LTD-3: sold once; redemption gives two lifetime seats and no periodic charge."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-0001", currency="USD"))
    with pytest.raises(DomainError) as refused:
        ledger.sell_code(SellCode(code="LTD-0001", currency="USD"))
    assert refused.value.code is ErrorCode.INVALID_INPUT
    at(ledger, clock, "2019-11-05T10:00:00Z")
    sumo = redeem_new(ledger, "LTD-0001")
    view = ledger.account(sumo)
    assert (view["status"], view["plan"], view["seats"], view["trial_ends_at"]) == (
        "active",
        "all-inclusive",
        2,
        None,
    )
    at(ledger, clock, "2020-03-05T10:00:00Z")
    assert plain(ledger.invoices(sumo)) == []


def test_ltd_2_codes_are_redeemable_until_the_deadline_inclusive(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-2: 2019-11-30 23:59:59 UTC inclusive."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-A", currency="USD"))
    ledger.sell_code(SellCode(code="LTD-B", currency="USD"))
    at(ledger, clock, "2019-11-30T23:59:59Z")
    redeem_new(ledger, "LTD-A")
    at(ledger, clock, "2019-12-01T00:00:00Z")
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        redeem_new(ledger, "LTD-B", company="Late")
    assert refused.value.code is ErrorCode.CODE_REDEMPTION_CLOSED
    assert event_count(ledger) == before


def test_ltd_4_a_second_code_on_one_account_is_refused_and_not_used(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-4: one code per account (CODE_STACKING); the refused code stays redeemable."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-1", currency="USD"))
    ledger.sell_code(SellCode(code="LTD-2", currency="USD"))
    sumo = redeem_new(ledger, "LTD-1")
    with pytest.raises(DomainError) as refused:
        ledger.redeem_code(sumo, RedeemCode(code="LTD-2"))
    assert refused.value.code is ErrorCode.CODE_STACKING
    other = redeem_new(ledger, "LTD-2", company="Other")
    assert ledger.account(other)["status"] == "active"
    with pytest.raises(DomainError) as unknown:
        redeem_new(ledger, "NO-SUCH-CODE")
    assert unknown.value.code is ErrorCode.UNKNOWN_CODE


def test_ltd_4_a_reused_code_suspends_both_accounts(ledger: Ledger, clock: SimulatedClock) -> None:
    """LTD-4: the new account and the one that redeemed it first; one message each."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-1", currency="USD"))
    first = redeem_new(ledger, "LTD-1", company="First")
    second = redeem_new(ledger, "LTD-1", company="Second")
    for account in (first, second):
        assert ledger.account(account)["suspension_reasons"] == ["code_reuse"]
        assert kinds(ledger, account) == ["suspended"]


def test_ltd_4_two_concurrent_redemptions_of_one_code_have_one_winner_and_reuse_applies(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-4 under a race: exactly one redemption comes first; the other is reuse."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-RACE", currency="USD"))
    start = Barrier(2)

    def redeem(company: str) -> UUID:
        start.wait()
        return redeem_new(ledger, "LTD-RACE", company=company)

    with ThreadPoolExecutor(2) as pool:
        accounts = list(pool.map(redeem, ["Racer A", "Racer B"]))
    redemptions = [e for e in ledger.events() if type(e).__name__ == "Redeemed"]
    assert len(redemptions) == 2
    firsts = [e for e in redemptions if getattr(e, "reuse_of", None) is None]
    assert len(firsts) == 1
    for account in accounts:
        assert ledger.account(account)["suspension_reasons"] == ["code_reuse"]


def test_ltd_5_and_ltd_6_extra_seats_are_billed_in_arrears_and_warned_once(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-5: months without extra seat-days have no invoice. LTD-6: warned the first time."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-9", currency="USD"))
    at(ledger, clock, "2019-11-05T10:00:00Z")
    sumo = redeem_new(ledger, "LTD-9")
    ledger.execute(sumo, SetBillingDetails(**BILLING))
    ledger.execute(sumo, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2019-12-10T12:00:00Z")
    assert plain(ledger.invoices(sumo)) == []
    ledger.execute(sumo, AddSeats(count=1))
    at(ledger, clock, "2019-12-20T08:00:00Z")
    ledger.execute(sumo, RemoveSeats(count=1))
    ledger.execute(sumo, AddSeats(count=1))
    ledger.execute(sumo, RemoveSeats(count=1))
    at(ledger, clock, "2020-02-05T10:00:00Z")
    # Dec 10..20 inclusive: 11 seat-days of 31: 39 x 11 / 31 = 13.838... -> 13.84
    assert totals(ledger, sumo) == ["13.84 USD"]
    assert kinds(ledger, sumo) == ["package_exceeded", "receipt"]


def test_ltd_7_charges_wait_for_billing_details_and_a_card_and_suspended_days_count(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LTD-7, INV-3: suspended (billing_details_missing) until both are given."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-AAAA-0001", currency="USD"))
    at(ledger, clock, "2019-11-05T10:00:00Z")
    sumo = redeem_new(ledger, "LTD-AAAA-0001")
    at(ledger, clock, "2019-11-20T09:00:00Z")
    ledger.execute(sumo, AddSeats(count=2))
    at(ledger, clock, "2019-12-05T10:00:00Z")
    assert ledger.account(sumo)["suspension_reasons"] == ["billing_details_missing"]
    assert plain(ledger.invoices(sumo)) == []
    at(ledger, clock, "2019-12-06T08:00:00Z")
    incomplete: dict[str, Any] = {**BILLING, "address": {**BILLING["address"], "state": None}}
    ledger.execute(sumo, SetBillingDetails(**incomplete))
    ledger.execute(sumo, AddPaymentMethod(kind="card", token="tok"))
    assert ledger.account(sumo)["status"] == "suspended"  # a US address needs its state
    ledger.execute(sumo, SetBillingDetails(**BILLING))
    assert ledger.account(sumo)["status"] == "active"
    assert [(i["number"], i["total"], i["status"]) for i in plain(ledger.invoices(sumo))] == [
        ("2019-000001", "39.00 USD", "paid")
    ]
    at(ledger, clock, "2020-01-05T10:00:00Z")
    # Dec 5 - Jan 5: 31 days x 2 extra seats, suspended days included: 39 x 62 / 31 = 78.00
    assert totals(ledger, sumo) == ["39.00 USD", "78.00 USD"]
