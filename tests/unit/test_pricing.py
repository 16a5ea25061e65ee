"""Announced price changes (BILL-6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.catalog import Cycle
from domain.errors import DomainError, ErrorCode
from domain.invoicing import NotificationKind
from domain.pricing import PriceBook
from tests.unit.support import (
    CATALOG,
    add_card,
    invoices,
    numbering,
    open_account,
    run_due,
    sent,
    t,
    terms,
)


def announce(book: PriceBook, effective_on: date, at: str) -> None:
    book.announce(
        CATALOG,
        plan="all-inclusive",
        currency="USD",
        cycle=Cycle.MONTHLY,
        price=Decimal(45),
        effective_on=effective_on,
        at=t(at),
    )


def test_bill_6_a_price_change_needs_30_days_notice_from_the_announcements_date() -> None:
    book = PriceBook.open(t("2025-01-01"))
    with pytest.raises(DomainError) as refused:
        announce(book, date(2025, 3, 3), "2025-02-02T00:00")  # 29 days
    assert refused.value.code is ErrorCode.PRICE_NOTICE_TOO_SHORT
    announce(book, date(2025, 3, 3), "2025-02-01T23:59")  # exactly 30 days
    assert len(book.changes) == 1


def test_bill_6_periods_from_the_effective_date_use_the_new_price_a_running_one_keeps_its() -> None:
    book = PriceBook.open(t("2025-01-01"))
    policy, numbers = terms(book), numbering()
    account = open_account(t("2025-01-20"), policy, seats=2)
    add_card(account, t("2025-02-03T09:00"), policy, numbers)
    announce(book, date(2025, 3, 3), "2025-02-01T12:00")
    assert policy.unit_price("all-inclusive", "USD", Cycle.MONTHLY, date(2025, 3, 2)) == 39
    run_due(account, t("2025-04-03T09:00"), policy, numbers)
    # the period running at the announcement keeps 2 x 39; those from 2025-03-03 are 2 x 45
    assert [i.total for i in invoices(account)] == [
        Decimal("78.00"),
        Decimal("90.00"),
        Decimal("90.00"),
    ]


def test_bill_6_every_affected_account_and_only_those_has_its_owner_notified() -> None:
    book = PriceBook.open(t("2025-01-01"))
    policy = terms(book)
    affected = open_account(t("2025-01-02"), policy)
    other_plan = open_account(t("2025-01-02"), policy, plan="ticket")
    other_cycle = open_account(t("2025-01-02"), policy, cycle=Cycle.ANNUAL)
    change = book.announce(
        CATALOG,
        plan="all-inclusive",
        currency="USD",
        cycle=Cycle.MONTHLY,
        price=Decimal(45),
        effective_on=date(2025, 3, 3),
        at=t("2025-02-01"),
    )
    for account in (affected, other_plan, other_cycle):
        account.notify_price_change(change, t("2025-02-01"))
    assert [
        sent(a, NotificationKind.PRICE_CHANGE) for a in (affected, other_plan, other_cycle)
    ] == [
        1,
        0,
        0,
    ]
