"""Lifetime-deal codes (LTD-1..7): the code's aggregate, the extra seat-days of LTD-5 as a
pure function, and the account billed in arrears."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.account import Account
from domain.errors import DomainError, ErrorCode
from domain.invoicing import NotificationKind, Person
from domain.lifetime import Code, SeatLevel, extra_seat_days
from domain.numbering import Numbering
from domain.policy import DEFAULT_LTD_REDEEM_DEADLINE, Terms
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import (
    add_card,
    give_billing_details,
    invoices,
    numbering,
    run_due,
    sent,
    t,
    terms,
    totals,
)


def redeem(at: datetime, policy: Terms, code: Code | None = None) -> tuple[Account, Code]:
    code = code or Code.sell("LTD-AAAA", "USD", t("2019-10-01"), sold=None)
    code.check_redeemable(at, policy.ltd_redeem_deadline, "USD")
    account = Account.open_lifetime(
        account_id=uuid4(),
        at=at,
        code=code.code,
        owner=Person(name="Grace Hopper", email="grace@example.com"),
        company="Cobol Ltd",
        country="US",
        currency="USD",
        region=None,
        slug="cobol-ltd",
        terms=policy,
    )
    return account, code


def ready_account(policy: Terms, numbers: Numbering) -> Account:
    account, _ = redeem(t("2019-11-05T10:00"), policy)
    give_billing_details(account, t("2019-11-05T11:00"), policy, numbers)
    add_card(account, t("2019-11-05T11:00"), policy, numbers)
    return account


def test_ltd_1_a_code_is_sold_once() -> None:
    code = Code.sell("LTD-AAAA", "EUR", t("2019-10-01"), sold=None)
    with pytest.raises(DomainError) as refused:
        Code.sell("LTD-AAAA", "EUR", t("2019-10-02"), sold=code)
    assert refused.value.field == "code"


def test_ltd_2_codes_are_redeemable_until_the_deadline_inclusive() -> None:
    code = Code.sell("LTD-AAAA", "USD", t("2019-10-01"), sold=None)
    assert t("2019-11-30T23:59:59") == DEFAULT_LTD_REDEEM_DEADLINE
    code.check_redeemable(t("2019-11-30T23:59:59"), DEFAULT_LTD_REDEEM_DEADLINE, "USD")
    with pytest.raises(DomainError) as refused:
        code.check_redeemable(t("2019-12-01T00:00"), DEFAULT_LTD_REDEEM_DEADLINE, "USD")
    assert refused.value.code is ErrorCode.CODE_REDEMPTION_CLOSED


def test_ltd_3_redemption_opens_all_inclusive_with_two_seats_no_trial_and_no_charge() -> None:
    policy, numbers = terms(), numbering()
    account, _ = redeem(t("2019-11-05T10:00"), policy)
    assert (account.plan, account.seats, account.status) == (
        "all-inclusive",
        2,
        AccountStatus.ACTIVE,
    )
    assert account.trial_ends_at is None and account.trial_expiry_task() is None
    assert account.renewal_due() is None
    run_due(account, t("2020-02-05T10:00"), policy, numbers)
    assert account.invoices == []


def test_ltd_4_a_second_code_on_the_same_account_is_rejected() -> None:
    account, _ = redeem(t("2019-11-05"), terms())
    with pytest.raises(DomainError) as refused:
        account.redeem_code("LTD-BBBB", t("2019-11-06"), terms())
    assert refused.value.code is ErrorCode.CODE_STACKING


def test_ltd_4_a_code_redeemed_again_suspends_both_accounts() -> None:
    policy = terms()
    first, code = redeem(t("2019-11-05"), policy)
    first.take_code(code, t("2019-11-05"), None)
    second, _ = redeem(t("2019-11-20"), policy, code)
    second.take_code(code, t("2019-11-20"), first)
    for account in (first, second):
        assert account.status is AccountStatus.SUSPENDED
        assert account.suspension_reasons == [SuspensionReason.CODE_REUSE]
    assert code.redeemed_by == [first.id, second.id]


def test_ltd_5_the_rules_example_thirty_extra_seat_days_cost_39_usd() -> None:
    """Period 2019-11-05 to 2019-12-05 (30 days), seats 2 -> 4 on 2019-11-20: 30 extra
    seat-days, 39.00 USD."""
    policy, numbers = terms(), numbering()
    account = ready_account(policy, numbers)
    account.add_seats(2, t("2019-11-20T14:00"), policy, numbers)
    assert account.invoices == []  # in arrears: nothing until the billing day
    assert run_due(account, t("2019-12-05T10:00"), policy, numbers) == ["lifetime-billing"]
    assert totals(account) == [Decimal("39.00")]
    line = invoices(account)[0].lines[0]
    assert (line.rule, line.quantity, line.base_quantity) == ("LTD-5", Decimal(30), Decimal(30))


def test_ltd_5_a_day_counts_the_most_seats_held_at_any_moment_of_it() -> None:
    history = [
        SeatLevel(at=t("2019-11-05T10:00"), seats=2),
        SeatLevel(at=t("2019-11-10T09:00"), seats=5),
        SeatLevel(at=t("2019-11-10T17:00"), seats=3),
        SeatLevel(at=t("2019-11-12T08:00"), seats=2),
    ]
    # Nov 10: 3 extra (5 at its peak); Nov 11: 1; Nov 12: 1 (held before the removal)
    assert extra_seat_days(history, date(2019, 11, 5), date(2019, 12, 5)) == 5


def test_ltd_5_a_period_without_extra_seat_days_produces_no_invoice() -> None:
    policy, numbers = terms(), numbering()
    account = ready_account(policy, numbers)
    assert run_due(account, t("2020-01-05T10:00"), policy, numbers) == ["lifetime-billing"] * 2
    assert account.invoices == []
    assert account.lifetime_periods_billed == 2


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=29 * 24), st.integers(1, 20)),
        max_size=12,
    )
)
def test_ltd_5_extra_seat_days_stay_within_the_days_and_the_peak(
    changes: list[tuple[int, int]],
) -> None:
    start = t("2019-11-05")
    history = [SeatLevel(at=start, seats=2)]
    history += [SeatLevel(at=start + timedelta(hours=h), seats=n) for h, n in sorted(changes)]
    peak = max(level.seats for level in history)
    found = extra_seat_days(history, date(2019, 11, 5), date(2019, 12, 5))
    assert 0 <= found <= 30 * (peak - 2)
    if all(level.seats <= 2 for level in history):
        assert found == 0


def test_ltd_6_the_owner_is_warned_once_the_first_time_the_package_is_exceeded() -> None:
    policy, numbers = terms(), numbering()
    account = ready_account(policy, numbers)
    account.add_seats(1, t("2019-11-06"), policy, numbers)
    account.remove_seats(1, t("2019-11-07"), policy)
    account.add_seats(3, t("2019-11-08"), policy, numbers)
    assert sent(account, NotificationKind.PACKAGE_EXCEEDED) == 1


def test_ltd_7_without_billing_details_nothing_is_issued_and_the_account_is_suspended() -> None:
    policy, numbers = terms(), numbering()
    account, _ = redeem(t("2019-11-05T10:00"), policy)
    account.add_seats(1, t("2019-11-20T14:00"), policy, numbers)
    run_due(account, t("2019-12-05T10:00"), policy, numbers)
    assert account.invoices == []
    assert account.suspension_reasons == [SuspensionReason.BILLING_DETAILS_MISSING]
    # suspended days still count: the next period's 31 days each hold one extra seat
    run_due(account, t("2020-01-05T10:00"), policy, numbers)
    give_billing_details(account, t("2020-01-10"), policy, numbers)
    assert account.invoices == []  # a payment method is needed too
    add_card(account, t("2020-01-11"), policy, numbers)
    # 15 seat-days x 39 / 30 = 19.50; 31 x 39 / 31 = 39.00
    assert totals(account) == [Decimal("19.50"), Decimal("39.00")]
    assert account.status is AccountStatus.ACTIVE
