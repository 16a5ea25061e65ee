"""Charges and their outcomes (PAY-1..4), as the gateway's answers recorded on the account."""

from __future__ import annotations

from datetime import timedelta

from domain.invoicing import (
    InvoiceStatus,
    NotificationKind,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
)
from domain.schedule import TaskKind
from domain.suspension import AccountStatus, SuspensionReason
from tests.unit.support import (
    add_card,
    decline,
    invoices,
    numbering,
    open_account,
    pay,
    sent,
    status,
    t,
    terms,
)


def test_pay_1_a_payment_method_is_a_kind_and_an_opaque_token_only() -> None:
    assert set(PaymentMethod.model_fields) == {"kind", "token"}
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    assert account.payment_method == PaymentMethod(kind=PaymentMethodKind.CARD, token="tok_visa")


def test_pay_2_an_invoice_is_due_for_charging_only_with_a_payment_method() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, seats=2)
    add_card(account, t("2025-01-02T10:00"), policy, numbers)
    (invoice,) = invoices(account)
    assert account.due_charges(t("2025-01-02T10:00")) == [invoice]
    assert account.due_charges(t("2025-01-02T09:59")) == []
    task = account.payment_task()
    assert task is not None and (task.kind, task.due_at) == (
        TaskKind.PAYMENT,
        t("2025-01-02T10:00"),
    )


def test_pay_3_every_successful_charge_sends_a_receipt() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-02"), policy, numbers)
    pay(account, invoices(account)[0].number, t("2025-01-02"), policy, numbers)
    assert invoices(account)[0].status is InvoiceStatus.PAID
    assert sent(account, NotificationKind.RECEIPT) == 1
    assert account.payment_task() is None


def test_pay_4_declines_are_retried_1_3_and_7_days_after_the_first_then_suspend() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    number = invoices(account)[0].number
    first = t("2025-01-10T09:00")
    retries = []
    for at in (first, first + timedelta(1), first + timedelta(3)):
        decline(account, number, at, policy, numbers)
        retries.append(account.invoice(number).next_attempt_at)
    assert retries == [first + timedelta(1), first + timedelta(3), first + timedelta(7)]
    assert status(account) is AccountStatus.ACTIVE
    decline(account, number, first + timedelta(7), policy, numbers)
    assert status(account) is AccountStatus.SUSPENDED
    assert account.suspension_reasons == [SuspensionReason.PAYMENT_FAILED]
    assert sent(account, NotificationKind.PAYMENT_DECLINED) == 4
    invoice = account.invoice(number)
    assert (invoice.status, invoice.next_attempt_at) == (InvoiceStatus.OPEN, None)
    assert [p.status for p in account.payments] == [PaymentStatus.DECLINED] * 4


def test_pay_4_a_new_payment_method_charges_open_invoices_and_payment_clears_the_suspension() -> (
    None
):
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    add_card(account, t("2025-01-10T09:00"), policy, numbers)
    number = invoices(account)[0].number
    for days in (0, 1, 3, 7):
        decline(account, number, t("2025-01-10T09:00") + timedelta(days), policy, numbers)
    add_card(account, t("2025-01-20T12:00"), policy, numbers)
    assert account.invoice(number).next_attempt_at == t("2025-01-20T12:00")
    pay(account, number, t("2025-01-20T12:00"), policy, numbers)
    assert status(account) is AccountStatus.ACTIVE
    # BILL-8: reactivated within the charged period: no new period, the anchor kept
    assert len(invoices(account)) == 1
    assert account.renewal_due() == t("2025-02-10T09:00")
