"""Billing periods, upgrades and their proration, renewals (BILL-2..8, LOGIN-1, TIME-1),
driven on the account alone."""

from __future__ import annotations

from decimal import Decimal

from domain.account import Account
from domain.cancellation import CancellationChannel
from domain.catalog import Cycle
from domain.dates import DAY
from domain.numbering import Numbering
from domain.policy import Terms
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import (
    add_card,
    invoices,
    numbering,
    open_account,
    run_due,
    t,
    terms,
    totals,
)


def annual_account(seats: int = 1) -> tuple[Account, Terms, Numbering]:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy, cycle=Cycle.ANNUAL, seats=seats)
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    return account, policy, numbers


def test_bill_2_a_period_is_charged_at_its_start_for_seats_times_the_per_seat_price() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-03-03T08:00"), policy, plan="ticket", seats=3)
    add_card(account, t("2025-03-05T10:00"), policy, numbers)
    assert account.period is not None
    assert (account.period.start, account.period.end) == (
        t("2025-03-05T10:00"),
        t("2025-04-05T10:00"),
    )
    assert totals(account) == [Decimal("45.00")]  # 3 x 15.00, no VAT outside the EU
    assert invoices(account)[0].lines[0].rule == "BILL-2"


def test_bill_2_renewals_follow_the_anchor_and_charge_the_seats_in_force_then() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-20"), policy, plan="ticket-chat", seats=2)
    add_card(account, t("2025-01-31T12:00"), policy, numbers)
    account.add_seats(1, t("2025-02-10"), policy, numbers)
    assert run_due(account, t("2025-04-01"), policy, numbers) == ["renewal", "renewal"]
    starts = [i.period_start for i in invoices(account)]
    # TIME-1: anchor on the 31st, clamped to February's end, then back to the 31st
    assert starts == [t("2025-01-31T12:00"), t("2025-02-28T12:00"), t("2025-03-31T12:00")]
    assert totals(account) == [Decimal("58.00"), Decimal("87.00"), Decimal("87.00")]


def test_bill_3_a_monthly_upgrade_charges_nothing_until_the_next_period() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-05-01"), policy, plan="ticket", seats=2)
    add_card(account, t("2025-05-02"), policy, numbers)
    account.add_seats(2, t("2025-05-10"), policy, numbers)
    account.change_plan("all-inclusive", t("2025-05-12"), policy, numbers)
    assert totals(account) == [Decimal("30.00")]
    run_due(account, t("2025-06-02"), policy, numbers)
    assert totals(account) == [Decimal("30.00"), Decimal("156.00")]  # 4 x 39.00


def test_bill_4_an_annual_upgrade_is_prorated_by_the_days_left() -> None:
    """The rule's example: 390.00 per seat-year, 2025-01-10 to 2026-01-10, one seat added
    on 2025-07-01 with 193 of 365 days remaining: 206.22 USD."""
    account, policy, numbers = annual_account()
    account.add_seats(1, t("2025-07-01T15:00"), policy, numbers)
    assert totals(account) == [Decimal("390.00"), Decimal("206.22")]
    line = invoices(account)[1].lines[0]
    assert (line.rule, line.quantity, line.base_quantity) == ("BILL-4", Decimal(193), Decimal(365))


def test_bill_4_the_day_of_the_change_counts_as_remaining() -> None:
    account, policy, numbers = annual_account()
    # on the period's last date one day remains: 390 x 1 / 365 = 1.068... -> 1.07
    account.add_seats(1, t("2026-01-09T23:00"), policy, numbers)
    assert totals(account)[-1] == Decimal("1.07")


def test_bill_4_the_next_renewal_charges_the_new_rate_in_full() -> None:
    account, policy, numbers = annual_account()
    account.add_seats(1, t("2025-07-01"), policy, numbers)
    run_due(account, t("2026-01-10T09:00"), policy, numbers)
    assert totals(account) == [Decimal("390.00"), Decimal("206.22"), Decimal("780.00")]


def test_bill_4_an_annual_plan_upgrade_is_prorated_on_the_rate_difference() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, plan="ticket", cycle=Cycle.ANNUAL, seats=2)
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    account.change_plan("ticket-chat", t("2025-07-01"), policy, numbers)
    # (580 - 300) x 193 / 365 = 148.054... -> 148.05
    assert totals(account) == [Decimal("300.00"), Decimal("148.05")]


def test_bill_5_a_downgrade_is_never_refunded_and_the_lower_rate_applies_next_period() -> None:
    account, policy, numbers = annual_account(seats=3)
    account.remove_seats(2, t("2025-03-01"), policy)
    account.change_plan("ticket", t("2025-03-02"), policy, numbers)
    assert totals(account) == [Decimal("1170.00")]
    assert account.refunds == []
    run_due(account, t("2026-01-10T09:00"), policy, numbers)
    assert totals(account) == [Decimal("1170.00"), Decimal("150.00")]


def test_bill_5_a_seat_removed_and_added_back_within_a_period_is_not_charged_twice() -> None:
    account, policy, numbers = annual_account(seats=2)
    account.remove_seats(1, t("2025-02-01"), policy)
    account.add_seats(1, t("2025-02-02"), policy, numbers)
    assert totals(account) == [Decimal("780.00")]


def test_bill_7_a_suspended_or_cancelled_account_is_not_renewed() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    assert account.renewal_due() == t("2025-02-02")
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-20"))
    assert account.renewal_due() is None
    assert "renewal" not in run_due(account, t("2025-03-01"), policy, numbers)
    assert len(invoices(account)) == 1
    cancelled = open_account(t("2025-01-01"), policy)
    add_card(cancelled, t("2025-01-02"), policy, numbers)
    cancelled.cancel(CancellationChannel.BUTTON, t("2025-01-20"), policy)
    assert cancelled.renewal_due() is None
    assert run_due(cancelled, t("2025-02-10"), policy, numbers) == []
    assert len(invoices(cancelled)) == 1


def test_bill_8_reactivated_after_the_period_ended_starts_a_new_anchor_charged_at_once() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-20"))
    account.lift_suspension(
        SuspensionReason.TERMS_VIOLATION, t("2025-02-15T11:00"), policy, numbers
    )
    assert account.status is AccountStatus.ACTIVE
    assert account.period is not None
    assert account.period.anchor == t("2025-02-15T11:00")
    assert account.period.end == t("2025-03-15T11:00")
    assert totals(account) == [Decimal("39.00"), Decimal("39.00")]


def test_bill_8_reactivated_within_the_charged_period_keeps_its_anchor() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-20"))
    account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-01-25"), policy, numbers)
    assert account.period is not None and account.period.anchor == t("2025-01-02")
    assert len(invoices(account)) == 1
    assert account.renewal_due() == t("2025-02-02")


def test_login_1_each_shared_login_adds_one_seat_from_the_next_period_until_resolved() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, plan="ticket", seats=2)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.report_shared_login("frontdesk", t("2025-01-05"))
    account.report_shared_login("night-shift", t("2025-01-06"))
    assert totals(account) == [Decimal("30.00")]
    run_due(account, t("2025-02-02"), policy, numbers)
    assert totals(account)[-1] == Decimal("60.00")  # 2 seats + 2 surcharges of 15.00
    account.resolve_shared_login("frontdesk", t("2025-02-10"))
    run_due(account, t("2025-03-02"), policy, numbers)
    assert totals(account)[-1] == Decimal("45.00")
    assert [ln.rule for ln in invoices(account)[-1].lines] == ["BILL-2", "LOGIN-1"]


def test_time_1_a_yearly_period_from_february_29_ends_on_february_28() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2024-02-20"), policy, cycle=Cycle.ANNUAL)
    add_card(account, t("2024-02-29T06:00"), policy, numbers)
    assert account.period is not None
    assert account.period.end == t("2025-02-28T06:00")
    assert account.period.end - account.period.start == 365 * DAY
