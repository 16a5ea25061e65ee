"""Opening an account, its seats, region and trial (ACC-1..3, TRIAL-1..3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.account import SeatRole
from domain.catalog import Cycle
from domain.dates import DAY
from domain.errors import DomainError, ErrorCode
from domain.schedule import TaskKind
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import (
    add_card,
    invoices,
    numbering,
    open_account,
    run_due,
    status,
    t,
    terms,
)


def test_acc_2_the_owner_holds_the_first_seat_and_an_account_keeps_it() -> None:
    policy = terms()
    account = open_account(t("2025-01-01"), policy, seats=3)
    assert account.seats_by_role == {SeatRole.OWNER: 1, SeatRole.AGENT: 2}
    with pytest.raises(DomainError) as refused:
        account.remove_seats(3, t("2025-01-02"), policy)
    assert refused.value.code is ErrorCode.NO_SEATS_LEFT
    account.remove_seats(2, t("2025-01-02"), policy)
    assert account.seats_by_role == {SeatRole.OWNER: 1, SeatRole.AGENT: 0}


def test_acc_2_an_account_has_exactly_one_owner() -> None:
    policy = terms()
    account = open_account(t("2025-01-01"), policy)
    with pytest.raises(DomainError):
        account.add_seats(1, t("2025-01-02"), policy, numbering(), role=SeatRole.OWNER)
    account.add_seats(1, t("2025-01-02"), policy, numbering(), role=SeatRole.ADMIN)
    assert account.seats_by_role[SeatRole.OWNER] == 1


def test_acc_3_the_region_follows_the_country_unless_given() -> None:
    policy = terms()
    assert open_account(t("2025-01-01"), policy, country="SK", currency="EUR").region == "EU"
    assert open_account(t("2025-01-01"), policy, country="NO", currency="EUR").region == "EU"
    assert open_account(t("2025-01-01"), policy, country="CA").region == "US"
    assert open_account(t("2025-01-01"), policy, country="DE", region="US").region == "US"


def test_bill_1_an_account_opens_only_on_a_plan_sold_in_its_currency_and_cycle() -> None:
    with pytest.raises(DomainError) as refused:
        open_account(t("2025-01-01"), terms(), plan="platinum")
    assert refused.value.code is ErrorCode.UNKNOWN_PLAN


def test_trial_1_a_paid_plan_starts_a_14_day_trial_without_charge() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy)
    assert status(account) is AccountStatus.TRIALING
    assert account.trial_ends_at == t("2025-01-15T09:00")
    assert account.invoices == []
    short = open_account(t("2025-01-01T09:00"), policy, trial_days=7)
    assert short.trial_ends_at == t("2025-01-08T09:00")
    assert "renewal" not in run_due(account, t("2025-01-15T08:59"), policy, numbers)
    assert account.invoices == []


def test_trial_1_the_free_plan_has_no_trial_and_issues_no_invoices() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, plan="free", seats=3)
    assert (account.status, account.trial_ends_at) == (AccountStatus.ACTIVE, None)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.add_seats(5, t("2025-01-03"), policy, numbers)
    assert account.invoices == []
    assert numbers.touched == {}  # no invoice number was used


def test_trial_2_a_payment_method_ends_the_trial_and_charges_the_first_period_at_once() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy, cycle=Cycle.ANNUAL, seats=2)
    add_card(account, t("2025-01-04T16:30"), policy, numbers)
    assert status(account) is AccountStatus.ACTIVE
    assert account.trial_expiry_task() is None
    assert account.period is not None and account.period.start == t("2025-01-04T16:30")
    (invoice,) = invoices(account)
    assert invoice.total == Decimal("780.00")
    assert invoice.next_attempt_at == t("2025-01-04T16:30")  # PAY-2: charged now


def test_trial_3_a_trial_ending_without_a_payment_method_suspends_then_a_card_restarts() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy)
    task = account.next_task()
    assert task is not None and task.kind is TaskKind.TRIAL_EXPIRY
    assert task.due_at == t("2025-01-01T09:00") + 14 * DAY
    assert account.run_task(task, policy, numbers)
    assert status(account) is AccountStatus.SUSPENDED
    assert account.suspension_reasons == [SuspensionReason.TRIAL_EXPIRED]
    add_card(account, t("2025-02-03T12:00"), policy, numbers)
    assert status(account) is AccountStatus.ACTIVE
    assert account.period is not None and account.period.anchor == t("2025-02-03T12:00")
    assert [i.total for i in invoices(account)] == [Decimal("39.00")]
