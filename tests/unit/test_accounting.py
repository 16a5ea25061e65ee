"""Double-entry postings of an account's events and revenue recognition (Books)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.account import Account
from domain.accounting import CASH, DEFERRED, RECEIVABLE, Books, Entries
from domain.catalog import Cycle
from domain.model import Event
from tests.unit.support import add_card, invoices, numbering, open_account, pay, t, terms


def fold(events: list[Event]) -> list[Entries]:
    opened = events[0]
    assert isinstance(opened, Account.Opened)
    books = Books.opened(opened)
    return [books.apply(event) for event in events[1:]]


def sums(entries: list[Entries]) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for posting in entry.postings:
            found[posting.currency, posting.ledger_account] += posting.amount
    return dict(found)


def test_an_invoice_posts_the_receivable_against_deferred_revenue_and_vat() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, country="DE", currency="EUR")
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    pay(account, invoices(account)[0].number, t("2025-01-10T10:00"), policy, numbers)
    totals = sums(fold(account.collect_events()))
    assert totals == {
        ("EUR", RECEIVABLE): Decimal("0.00"),
        ("EUR", "vat_payable:DE"): Decimal("-7.41"),
        ("EUR", DEFERRED): Decimal("-39.00"),
        ("EUR", CASH): Decimal("46.41"),
    }


def test_bill_4_an_annual_charge_is_earned_day_by_day_over_its_period() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, cycle=Cycle.ANNUAL)
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    (schedule,) = [s for e in fold(account.collect_events()) for s in e.schedules]
    assert (schedule.start, schedule.end, schedule.amount) == (
        date(2025, 1, 10),
        date(2026, 1, 10),
        Decimal("390.00"),
    )
    # 172 of 365 days are over before 2025-07-01: 390 x 172 / 365 = 183.78
    assert schedule.recognised_before(date(2025, 7, 1)) == Decimal("183.78")
    assert schedule.recognised_before(date(2026, 1, 10)) == Decimal("390.00")
    assert schedule.recognised_before(date(2025, 1, 10)) == Decimal("0.00")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "remove", "pay"]), st.integers(min_value=1, max_value=360)
        ),
        max_size=8,
    )
)
def test_mon_1_every_events_postings_balance_in_its_currency(
    steps: list[tuple[str, int]],
) -> None:
    policy, numbers = terms(), numbering()
    account = open_account(
        t("2025-01-01"), policy, cycle=Cycle.ANNUAL, country="SK", currency="EUR"
    )
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    for action, day in sorted(steps, key=lambda step: step[1]):
        at = t("2025-01-10T09:00") + timedelta(days=day)
        if action == "add":
            account.add_seats(1, at, policy, numbers)
        elif action == "remove" and account.seats > 1:
            account.remove_seats(1, at, policy)
        elif action == "pay" and account.open_invoices():
            pay(account, account.open_invoices()[0].number, at, policy, numbers)
    entries = fold(account.collect_events())
    for entry in entries:
        per_currency: dict[str, Decimal] = defaultdict(Decimal)
        for posting in entry.postings:
            per_currency[posting.currency] += posting.amount
        assert all(total == 0 for total in per_currency.values())
    owed = sum(i.total for i in account.open_invoices())
    assert sums(entries).get(("EUR", RECEIVABLE), Decimal(0)) == owed
