"""What an account owes and holds, and the cap of the vendor's liability (LIAB-1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.catalog import Cycle
from domain.money import Money
from domain.suspension import AccountStatus
from tests.unit.support import add_card, invoices, numbering, open_account, pay, status, t, terms


def test_liab_1_the_cap_is_the_months_fee_when_it_exceeds_100() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, seats=10)
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    assert account.liability_cap(date(2025, 1, 25)) == Money.read("390.00 USD")
    # the day before the claim is the period's last: still in force
    assert account.liability_cap(date(2025, 2, 10)) == Money.read("390.00 USD")


def test_liab_1_the_cap_is_never_below_100_in_the_accounts_currency() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, plan="ticket", currency="EUR", country="CH")
    assert account.liability_cap(date(2025, 1, 5)) == Money.read("100.00 EUR")
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    assert account.liability_cap(date(2025, 1, 25)) == Money.read("100.00 EUR")
    # no period in force the day before the claim: the floor
    assert account.liability_cap(date(2025, 2, 11)) == Money.read("100.00 EUR")


def test_liab_1_an_annual_fee_counts_one_twelfth_rounded_half_up() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, plan="ticket-chat", cycle=Cycle.ANNUAL, seats=7)
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    # 7 x 290.00 = 2,030.00 a year; / 12 = 169.1666... -> 169.17
    assert account.liability_cap(date(2025, 6, 1)) == Money.read("169.17 USD")


def test_the_balance_owed_is_what_was_invoiced_less_what_was_paid() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, seats=2)
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    assert account.balance(t("2025-01-11"))["receivable"] == Money.read("78.00 USD")
    pay(account, invoices(account)[0].number, t("2025-01-10T10:00"), policy, numbers)
    balance = account.balance(t("2025-01-11"))
    assert (balance["receivable"], balance["paid"]) == (
        Money.read("0.00 USD"),
        Money.read("78.00 USD"),
    )
    assert status(account) is AccountStatus.ACTIVE
    assert Decimal(0) == balance["refunded"].amount
