"""Cancellation at once or by e-mail, and the deletion after it (CANCEL-1..3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.cancellation import CancellationChannel
from domain.errors import DomainError, ErrorCode
from domain.invoicing import NotificationKind
from domain.schedule import TaskKind
from domain.suspension import AccountStatus
from tests.unit.support import (
    add_card,
    invoices,
    numbering,
    open_account,
    run_due,
    sent,
    status,
    t,
    terms,
)


def test_cancel_1_the_stop_account_action_cancels_at_once_with_no_refund() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.cancel(CancellationChannel.BUTTON, t("2025-01-10T15:00"), policy)
    assert status(account) is AccountStatus.CANCELLED
    assert account.cancelled_at == t("2025-01-10T15:00")
    assert account.refunds == []
    assert sent(account, NotificationKind.CANCELLATION_CONFIRMED) == 1
    with pytest.raises(DomainError) as refused:
        account.record_activity(t("2025-01-11"))
    assert refused.value.code is ErrorCode.ACCOUNT_CLOSED


def test_cancel_2_an_e_mail_request_on_december_23_takes_effect_on_december_30() -> None:
    """The rule's example: Tuesday 2025-12-23; 24-26 December are Slovak holidays, then a
    weekend: the next business day is Monday the 29th, so 2025-12-30T00:00Z."""
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-11-01"), policy)
    add_card(account, t("2025-11-28T08:00"), policy, numbers)
    account.cancel(CancellationChannel.EMAIL, t("2025-12-23T10:00"), policy)
    assert status(account) is AccountStatus.ACTIVE
    assert account.cancellation_effective_at == t("2025-12-30T00:00")
    # no period is renewed after the request, not even the one due on 2025-12-28
    assert account.renewal_due() is None
    assert run_due(account, t("2025-12-30T00:00"), policy, numbers) == ["cancellation"]
    assert status(account) is AccountStatus.CANCELLED
    assert len(invoices(account)) == 1
    assert sent(account, NotificationKind.CANCELLATION_CONFIRMED) == 1


def test_cancel_2_an_ordinary_weekday_request_takes_effect_after_the_next_day() -> None:
    policy = terms()
    assert policy.end_of_next_business_day(t("2025-03-04T23:59")) == t("2025-03-06T00:00")
    # a Friday's next business day is Monday
    assert policy.end_of_next_business_day(t("2025-03-07T09:00")) == t("2025-03-11T00:00")


def test_cancel_3_a_cancelled_account_is_deleted_30_days_after_the_cancellation() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    account.cancel(CancellationChannel.BUTTON, t("2025-01-10T15:00"), policy)
    (task,) = account.tasks()
    assert (task.kind, task.due_at) == (TaskKind.DELETION, t("2025-01-10T15:00") + timedelta(30))
    assert account.run_task(task, policy, numbers)
    assert status(account) is AccountStatus.DELETED
    assert sent(account, NotificationKind.ACCOUNT_DELETED) == 1
