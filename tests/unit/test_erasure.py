"""Erasure of an account's personal data and its statutory hold (GDPR-4, GDPR-5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.account import Account
from domain.cancellation import CancellationChannel
from domain.numbering import Numbering
from domain.personal import Scope, statutory_end
from domain.policy import Terms
from domain.schedule import TaskKind
from tests.unit.support import add_card, numbering, open_account, run_due, t, terms


def deleted_account() -> tuple[Account, Terms, Numbering]:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    account.cancel(CancellationChannel.BUTTON, t("2025-02-01"), policy)
    run_due(account, t("2025-03-03T00:00"), policy, numbers)
    assert account.deleted_at == t("2025-03-03T00:00")
    return account, policy, numbers


def test_gdpr_5_records_are_kept_10_years_after_the_end_of_the_year_of_issue() -> None:
    assert statutory_end([t("2025-01-10"), t("2024-12-31T23:59")]) == date(2036, 1, 1)
    assert statutory_end([t("2025-12-31T23:59")]) == date(2036, 1, 1)
    assert statutory_end([]) is None


def test_gdpr_5_billing_data_falls_due_at_the_end_of_its_period_the_rest_at_deletion() -> None:
    account, _, _ = deleted_account()
    assert account.erasure_due() == {
        Scope.PROFILE: t("2025-03-03T00:00"),
        Scope.CONTENT: t("2025-03-03T00:00"),
        Scope.BILLING: t("2036-01-01T00:00"),
    }
    assert [task.kind for task in account.tasks()] == [TaskKind.ERASURE, TaskKind.ERASURE]


def test_gdpr_4_a_request_erases_at_once_what_the_law_does_not_keep() -> None:
    account, _, _ = deleted_account()
    assert account.scopes_erasable_on_request(t("2025-04-01")) == [Scope.PROFILE]
    assert account.scopes_erasable_on_request(t("2036-01-01")) == [Scope.BILLING, Scope.PROFILE]


def test_gdpr_4_erasure_nulls_the_personal_fields_and_keeps_every_amount() -> None:
    account, _, _ = deleted_account()
    totals = [i.total for i in account.invoices]
    account.erase_personal_data([Scope.PROFILE, Scope.BILLING], "requested", t("2036-01-01"))
    assert account.owner is None
    assert all(i.billed_to is None for i in account.invoices)
    assert all(n.to is None for n in account.notifications)
    assert [i.total for i in account.invoices] == totals == [Decimal("39.00")]
    assert account.erasure_due() == {Scope.CONTENT: t("2025-03-03T00:00")}
