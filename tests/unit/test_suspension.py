"""Suspension and reactivation (ACC-4, CANCEL-4)."""

from __future__ import annotations

import pytest

from domain.account import Account
from domain.errors import DomainError
from domain.invoicing import NotificationKind
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import add_card, numbering, open_account, sent, status, t, terms


def test_cancel_4_the_vendor_records_a_notice_before_the_suspension_takes_effect() -> None:
    account = open_account(t("2025-01-01"), terms())
    account.collect_events()
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-05"))
    kinds = [type(e) for e in account.collect_events()]
    assert kinds[:2] == [Account.SuspensionNoticeGiven, Account.Suspended]
    assert status(account) is AccountStatus.SUSPENDED


def test_cancel_4_every_move_into_suspended_sends_exactly_one_notification() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-05"))
    account.suspend(SuspensionReason.CODE_REUSE, t("2025-01-06"))  # already suspended
    assert sent(account, NotificationKind.SUSPENDED) == 1
    account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-01-07"), policy, numbers)
    account.lift_suspension(SuspensionReason.CODE_REUSE, t("2025-01-08"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-09"))
    assert sent(account, NotificationKind.SUSPENDED) == 2


def test_acc_4_an_account_is_reactivated_only_when_every_reason_is_cleared() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-05"))
    account.suspend(SuspensionReason.CODE_REUSE, t("2025-01-06"))
    assert account.suspension_reasons == [
        SuspensionReason.CODE_REUSE,
        SuspensionReason.TERMS_VIOLATION,
    ]
    account.lift_suspension(SuspensionReason.CODE_REUSE, t("2025-01-07"), policy, numbers)
    assert status(account) is AccountStatus.SUSPENDED
    account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-01-08"), policy, numbers)
    assert status(account) is AccountStatus.ACTIVE
    with pytest.raises(DomainError):
        account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-01-09"), policy, numbers)


def test_acc_4_a_trialing_account_lifted_goes_back_to_its_trial() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    account.suspend(SuspensionReason.TERMS_VIOLATION, t("2025-01-05"))
    account.lift_suspension(SuspensionReason.TERMS_VIOLATION, t("2025-01-06"), policy, numbers)
    assert status(account) is AccountStatus.TRIALING
    assert account.invoices == []
