"""Annual prepaid credit pools (CREDIT-1..5): the pool's value, burn and window end as pure
arithmetic, and the account that grants, moves, exhausts and refunds one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domain.account import Account
from domain.cancellation import CancellationChannel
from domain.dates import add_months, start_of_day
from domain.money import Money
from domain.numbering import Numbering
from domain.policy import Terms
from domain.prepaid import DEFAULT_CANCELLATION_FEE, Pool
from domain.schedule import TaskKind
from tests.unit.support import add_card, invoices, numbering, open_account, run_due, t, terms


def example_account() -> tuple[Account, Terms, Numbering]:
    """CREDIT-3's example: 4,680.00 USD for 10 seats (10 x 39.00 a month), active 2025-03-15."""
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-03-10"), policy, seats=10)
    account.grant_prepaid_credit(
        Money.read("4680.00 USD"), DEFAULT_CANCELLATION_FEE, t("2025-03-15T10:00"), policy, numbers
    )
    return account, policy, numbers


def test_credit_1_a_pool_is_invoiced_at_once_and_active_at_once_when_no_period_runs() -> None:
    account, _, _ = example_account()
    assert [(i.total, i.lines[0].rule) for i in invoices(account)] == [
        (Decimal("4680.00"), "CREDIT-1")
    ]
    assert account.pool is not None
    assert account.pool.active_from == date(2025, 3, 15)
    assert account.pool.year_days == 365
    assert account.pool.ends_on == date(2026, 3, 15)


def test_credit_1_a_pool_waits_for_the_paid_period_and_the_renewal_then_is_not_charged() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, seats=2)
    add_card(account, t("2025-01-05T08:00"), policy, numbers)
    account.grant_prepaid_credit(
        Money.read("936.00 USD"), DEFAULT_CANCELLATION_FEE, t("2025-01-20"), policy, numbers
    )
    assert account.pool is not None and account.pool.activates_at == t("2025-02-05T08:00")
    # at the period's end two jobs are due; TIME-3 runs the pool's first, and no renewal
    assert run_due(account, t("2025-02-05T08:00"), policy, numbers) == ["pool-activation"]
    assert [i.lines[0].rule for i in invoices(account)] == ["BILL-2", "CREDIT-1"]
    assert account.renewal_due() is None


def test_credit_1_an_annual_upgrade_under_a_pool_is_not_prorated() -> None:
    account, policy, numbers = example_account()
    account.add_seats(2, t("2025-09-15"), policy, numbers)
    assert len(invoices(account)) == 1


def test_credit_2_at_a_constant_rate_the_pool_lasts_exactly_twelve_months() -> None:
    account, _, _ = example_account()
    pool = account.pool
    assert pool is not None
    # per day: A x rate / (rate_at_activation x N) = 4680 / 365
    assert pool.daily_burn(Decimal(390)) == Fraction(4680, 365)
    assert pool.value_on(date(2026, 3, 15)) == 0
    assert pool.value_on(date(2026, 3, 14)) == Fraction(4680, 365)


@given(
    amount=st.integers(min_value=1, max_value=10**7),
    seats=st.integers(min_value=1, max_value=500),
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
)
def test_credit_2_any_pool_at_a_constant_rate_burns_to_zero_in_twelve_months(
    amount: int, seats: int, first: date
) -> None:
    rate = Decimal(seats * 39)
    pool = Pool(
        amount=Decimal(amount),
        currency="USD",
        fee_rate=DEFAULT_CANCELLATION_FEE,
        granted_at=start_of_day(first),
        activates_at=start_of_day(first),
    )
    year_days, ends_on = pool.twelve_months_from(first)
    assert ends_on == add_months(start_of_day(first), 12).date()
    pool.active_from, pool.initial_rate, pool.year_days = first, rate, year_days
    pool.segments = [(first, rate)]
    assert pool.value_on(ends_on) == 0
    assert 0 < pool.value_on(ends_on - timedelta(days=1)) < pool.amount


def test_credit_3_a_change_of_rate_moves_the_end_by_the_remaining_days() -> None:
    """The rule's example: on 2025-09-15 seats go 10 -> 12: 2,320.77 USD remain (181 of 365
    days), and 181 x 10 / 12 = 150.83 days -> 151: the new end is 2026-02-13."""
    account, policy, numbers = example_account()
    account.add_seats(2, t("2025-09-15T13:00"), policy, numbers)
    assert account.pool is not None
    (change,) = account.pool.changes
    assert (change.old_rate, change.new_rate) == (Decimal(390), Decimal(468))
    assert change.remaining == Decimal("2320.77")
    assert (change.old_end, change.new_end) == (date(2026, 3, 15), date(2026, 2, 13))
    window = account.credit_window(t("2025-09-15T13:00"))
    assert window is not None and window.ends_on == date(2026, 2, 13)


def test_credit_3_fewer_seats_lengthen_the_window() -> None:
    account, policy, _ = example_account()
    account.remove_seats(5, t("2025-09-15"), policy)
    # 181 remaining days x 390 / 195 = 362 days
    assert account.pool is not None
    assert account.pool.ends_on == date(2025, 9, 15) + timedelta(days=362)


def test_credit_4_the_pool_ends_at_midnight_drops_what_the_rounding_left_and_billing_resumes() -> (
    None
):
    account, policy, numbers = example_account()
    account.add_seats(2, t("2025-09-15"), policy, numbers)
    task = account.next_task()
    assert task is not None and task.kind is TaskKind.POOL_EXHAUSTION
    assert task.due_at == t("2026-02-13T00:00")
    assert account.run_task(task, policy, numbers)
    closed = [e for e in account.collect_events() if isinstance(e, Account.PoolClosed)]
    # 151 days at 4680 x 468 / (390 x 365) a day burn 2.56 more than the 2,320.77 left
    assert [e.dropped for e in closed] == [Decimal("-2.56")]
    assert account.period is not None and account.period.anchor == t("2026-02-13T00:00")
    assert invoices(account)[-1].total == Decimal("468.00")


def test_credit_5_a_cancelled_pool_refunds_what_remains_less_half() -> None:
    """The rule's example, continued: cancelled on 2025-11-01 at 12 seats, R = 1,597.61,
    refund 798.81 USD."""
    account, policy, numbers = example_account()
    account.add_seats(2, t("2025-09-15"), policy, numbers)
    account.cancel(CancellationChannel.BUTTON, t("2025-11-01T09:00"), policy)
    closed = [e for e in account.collect_events() if isinstance(e, Account.PoolClosed)]
    assert [(e.remaining, e.fee, e.refund) for e in closed] == [
        (Decimal("1597.61"), Decimal("798.80"), Decimal("798.81"))
    ]
    assert [(r.amount, r.rule) for r in account.refunds] == [(Decimal("798.81"), "CREDIT-5")]


def test_credit_5_the_fee_rate_is_per_agreement() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-03-10"), policy, seats=10)
    account.grant_prepaid_credit(
        Money.read("4680.00 USD"), Decimal("0.20"), t("2025-03-15"), policy, numbers
    )
    account.cancel(CancellationChannel.BUTTON, t("2025-03-15T18:00"), policy)
    # nothing burnt yet on the activation date: 4,680.00 less 20%
    assert [r.amount for r in account.refunds] == [Decimal("3744.00")]
