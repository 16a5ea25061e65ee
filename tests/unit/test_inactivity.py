"""Inactivity warning and deletion (IDLE-1, IDLE-2)."""

from __future__ import annotations

from datetime import timedelta

from domain.invoicing import NotificationKind
from domain.schedule import TaskKind
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import add_card, numbering, open_account, run_due, sent, status, t, terms


def test_idle_1_the_owner_is_warned_after_28_days_and_the_account_deleted_after_56() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy, plan="free")
    task = account.inactivity_task()
    assert task is not None
    assert (task.kind, task.due_at) == (TaskKind.INACTIVITY_WARNING, t("2025-01-29T09:00"))
    assert run_due(account, t("2025-01-29T09:00"), policy, numbers) == ["inactivity-warning"]
    assert sent(account, NotificationKind.INACTIVITY_WARNING) == 1
    task = account.inactivity_task()
    assert task is not None
    assert (task.kind, task.due_at) == (TaskKind.INACTIVITY_DELETION, t("2025-02-26T09:00"))
    run_due(account, t("2025-02-26T09:00"), policy, numbers)
    assert status(account) is AccountStatus.DELETED


def test_idle_1_any_activity_resets_the_clock_and_voids_the_warning() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01T09:00"), policy, plan="free")
    run_due(account, t("2025-01-29T09:00"), policy, numbers)
    account.record_activity(t("2025-02-10T12:00"))
    task = account.inactivity_task()
    assert task is not None
    assert (task.kind, task.due_at) == (TaskKind.INACTIVITY_WARNING, t("2025-03-10T12:00"))


def test_idle_1_the_vendors_commands_are_not_activity() -> None:
    policy = terms()
    account = open_account(t("2025-01-01T09:00"), policy)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-20"))
    assert account.last_activity_at == t("2025-01-01T09:00")
    task = account.inactivity_task()
    assert task is not None and task.due_at == t("2025-01-29T09:00")


def test_idle_2_an_active_paid_account_is_exempt() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    assert account.inactivity_task() is None
    assert "inactivity-warning" not in run_due(account, t("2025-06-01"), policy, numbers)


def test_idle_2_losing_the_exemption_late_warns_at_once_and_deletes_28_days_later() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02T09:00"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-05-01T10:00"))
    task = account.inactivity_task()
    assert task is not None
    assert (task.kind, task.due_at) == (TaskKind.INACTIVITY_WARNING, t("2025-05-01T10:00"))
    run_due(account, t("2025-05-01T10:00"), policy, numbers)
    task = account.inactivity_task()
    assert task is not None
    assert task.due_at == t("2025-05-01T10:00") + timedelta(28)


def test_idle_2_an_account_exempt_again_before_the_deletion_is_not_deleted() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02T09:00"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-05-01T10:00"))
    run_due(account, t("2025-05-01T10:00"), policy, numbers)
    account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-05-10"), policy, numbers)
    assert account.inactivity_task() is None
    assert account.warned_at is None
