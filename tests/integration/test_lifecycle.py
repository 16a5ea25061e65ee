"""Payments, retries, suspension, cancellation and inactivity, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.account import Account
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    AnnouncePriceChange,
    Cancel,
    ChangePlan,
    LiftSuspension,
    OpenWithCode,
    RecordActivity,
    RemoveSeats,
    SellCode,
    Suspend,
)
from domain.errors import DomainError, ErrorCode
from tests.helpers import at, kinds, open_account, plain, totals


def test_pay_1_the_ledger_keeps_a_kind_and_an_opaque_token_only(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """PAY-1: the ledger keeps a kind and an opaque token only."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok_visa_4242"))
    added = [e for e in ledger.events() if isinstance(e, Account.PaymentMethodAdded)]
    assert [e.method.model_dump() for e in added] == [{"kind": "card", "token": "tok_visa_4242"}]
    for kind, token in (("cash", "tok"), ("card", " ")):
        with pytest.raises(DomainError) as refused:
            ledger.execute(acme, AddPaymentMethod.parse({"kind": kind, "token": token}))
        assert refused.value.code is ErrorCode.INVALID_INPUT


def test_pay_2_and_pay_3_each_positive_invoice_is_charged_and_receipted(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """PAY-2, PAY-3: and each positive invoice is charged and receipted."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-15T10:00:00Z")
    assert gateway.charges == 3
    assert [p["status"] for p in plain(ledger.payments(acme))] == ["succeeded"] * 3
    assert kinds(ledger, acme) == ["receipt"] * 3
    assert plain(ledger.balance(acme)) == {
        "receivable": "0.00 USD",
        "prepaid_credit": "0.00 USD",
        "paid": "351.00 USD",
        "refunded": "0.00 USD",
    }


def test_pay_4_declines_are_retried_after_1_3_and_7_days_then_the_account_is_suspended(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """PAY-4: declines are retried after 1 3 and 7 days then the account is suspended."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    gateway.decline(acme)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok_bad"))
    at(ledger, clock, "2025-01-25T00:00:00Z")
    assert [(p["at"], p["status"]) for p in plain(ledger.payments(acme))] == [
        ("2025-01-15T10:00:00Z", "declined"),
        ("2025-01-16T10:00:00Z", "declined"),
        ("2025-01-18T10:00:00Z", "declined"),
        ("2025-01-22T10:00:00Z", "declined"),
    ]
    assert kinds(ledger, acme) == ["payment_declined"] * 4 + ["suspended"]
    assert ledger.account(acme)["suspension_reasons"] == ["payment_failed"]
    assert plain(ledger.invoices(acme))[0]["status"] == "open"
    assert plain(ledger.balance(acme))["receivable"] == "117.00 USD"
    # A new payment method charges every open invoice at once and clears payment_failed;
    # the period Jan 15 - Feb 15 is still running, so the anchor stays (BILL-8).
    gateway.accept(acme)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok_good"))
    assert ledger.account(acme)["status"] == "active"
    assert plain(ledger.invoices(acme))[0]["status"] == "paid"
    at(ledger, clock, "2025-02-15T10:00:00Z")
    assert totals(ledger, acme) == ["117.00 USD", "117.00 USD"]


def test_pay_4_a_retry_that_succeeds_stops_the_retries(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """PAY-4: a retry that succeeds stops the retries."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    gateway.decline(acme)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-17T00:00:00Z")
    gateway.accept(acme)
    at(ledger, clock, "2025-01-30T00:00:00Z")
    assert [p["status"] for p in plain(ledger.payments(acme))] == [
        "declined",
        "declined",
        "succeeded",
    ]
    assert ledger.account(acme)["status"] == "active"
    assert kinds(ledger, acme) == ["payment_declined", "payment_declined", "receipt"]


def test_cancel_1_the_stop_account_action_takes_effect_at_once_without_refund(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CANCEL-1: the stop account action takes effect at once without refund."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T10:00:00Z")
    ledger.execute(acme, Cancel(via="button"))
    assert ledger.account(acme)["status"] == "cancelled"
    assert kinds(ledger, acme)[-1] == "cancellation_confirmed"
    at(ledger, clock, "2025-02-16T00:00:00Z")
    assert totals(ledger, acme) == ["117.00 USD"]
    assert plain(ledger.refunds(acme)) == []
    with pytest.raises(DomainError) as refused:
        ledger.execute(acme, AddSeats(count=1))
    assert refused.value.code is ErrorCode.ACCOUNT_CLOSED


def test_cancel_2_an_email_request_takes_effect_after_the_next_slovak_business_day(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CANCEL-2: an email request takes effect after the next slovak business day."""
    at(ledger, clock, "2025-11-26T10:00:00Z")
    acme = open_account(ledger)
    at(ledger, clock, "2025-11-27T10:00:00Z")
    ledger.execute(
        acme, AddPaymentMethod(kind="card", token="tok")
    )  # next period would start 2025-12-27
    at(ledger, clock, "2025-12-23T15:00:00Z")  # a Tuesday; 24-26 December are holidays
    ledger.execute(acme, Cancel(via="email"))
    assert ledger.account(acme)["cancellation_effective_at"] == "2025-12-30T00:00:00Z"
    at(ledger, clock, "2025-12-29T23:59:59Z")
    assert ledger.account(acme)["status"] == "active"
    assert totals(ledger, acme) == ["117.00 USD"]  # no renewal on Dec 27 after the request
    at(ledger, clock, "2025-12-30T00:00:00Z")
    assert ledger.account(acme)["status"] == "cancelled"
    assert ledger.notifications(acme)[-1]["at"] == "2025-12-30T00:00:00Z"
    assert kinds(ledger, acme)[-1] == "cancellation_confirmed"


def test_cancel_3_a_cancelled_account_is_deleted_30_days_after_the_cancellation(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CANCEL-3: a cancelled account is deleted 30 days after the cancellation."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T10:00:00Z")
    ledger.execute(acme, Cancel(via="button"))
    at(ledger, clock, "2025-02-19T10:00:00Z")
    assert ledger.account(acme)["status"] == "deleted"
    assert ledger.notifications(acme)[-1]["kind"] == "account_deleted"
    assert ledger.notifications(acme)[-1]["at"] == "2025-02-19T10:00:00Z"


def test_cancel_4_a_vendor_suspension_is_noticed_first_and_notified_exactly_once(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """CANCEL-4: a vendor suspension is noticed first and notified exactly once."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, Suspend(reason="terms_violation"))
    events = [type(e).__name__ for e in ledger.events() if e.originator_id == acme]
    assert events[-3:] == ["SuspensionNoticeGiven", "Suspended", "OwnerNotified"]
    at(ledger, clock, "2025-01-25T00:00:00Z")  # the trial ends: a second reason, no message
    assert ledger.account(acme)["suspension_reasons"] == ["terms_violation", "trial_expired"]
    assert kinds(ledger, acme) == ["suspended"]


def test_idle_1_activity_resets_the_clock_and_refused_or_vendor_commands_do_not(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """IDLE-1: activity resets the clock and refused or vendor commands do not."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    active = open_account(ledger, plan="free", company="Active")
    refused = open_account(ledger, plan="free", company="Refused", seats=1)
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.execute(active, RecordActivity())
    with pytest.raises(DomainError):
        ledger.execute(refused, RemoveSeats(count=1))
    ledger.announce_price_change(
        AnnouncePriceChange(
            plan="free",
            currency="USD",
            cycle="monthly",
            price="0.00 USD",
            effective_on="2025-03-01",
        )
    )
    at(ledger, clock, "2025-01-29T00:00:00Z")
    assert kinds(ledger, refused)[-1] == "inactivity_warning"
    assert "inactivity_warning" not in kinds(ledger, active)
    at(ledger, clock, "2025-02-17T00:00:00Z")
    assert kinds(ledger, active)[-1] == "inactivity_warning"
    assert ledger.notifications(active)[-1]["at"] == "2025-02-17T00:00:00Z"


def test_idle_2_a_trialing_account_is_warned_and_deleted_but_a_paying_one_is_not(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """IDLE-2: a trialing account is warned and deleted but a paying one is not."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    trial = open_account(ledger, company="Trial")
    paying = open_account(ledger, company="Paying")
    ledger.execute(paying, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-02-26T00:00:00Z")
    assert kinds(ledger, trial) == ["suspended", "inactivity_warning", "account_deleted"]
    assert ledger.account(trial)["status"] == "deleted"
    assert ledger.account(paying)["status"] == "active"
    assert "inactivity_warning" not in kinds(ledger, paying)


def test_idle_2_an_account_losing_its_exemption_late_gets_28_days_from_the_warning(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """IDLE-2: an account losing its exemption late gets 28 days from the warning."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-05T00:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))  # a vendor command: not activity
    at(ledger, clock, "2025-03-05T00:00:01Z")
    assert ledger.notifications(acme)[-1]["kind"] == "inactivity_warning"
    assert ledger.notifications(acme)[-1]["at"] == "2025-03-05T00:00:00Z"
    at(ledger, clock, "2025-04-01T23:59:59Z")
    assert ledger.account(acme)["status"] == "suspended"
    at(ledger, clock, "2025-04-02T00:00:00Z")
    assert ledger.account(acme)["status"] == "deleted"


def test_idle_2_regaining_the_exemption_before_the_deadline_prevents_deletion(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """IDLE-2: regaining the exemption before the deadline prevents deletion."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-05T00:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))
    at(ledger, clock, "2025-03-20T00:00:00Z")
    ledger.execute(acme, LiftSuspension(reason="terms_violation"))
    at(ledger, clock, "2025-06-01T00:00:00Z")
    assert ledger.account(acme)["status"] == "active"
    assert kinds(ledger, acme).count("account_deleted") == 0


def test_idle_2_an_account_moved_to_the_free_plan_pays_nothing_and_is_subject_to_idle_1(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """IDLE-2: free accounts are not exempt, whatever they paid before; lifetime deals are."""
    at(ledger, clock, "2019-10-01T00:00:00Z")
    ledger.sell_code(SellCode(code="LTD-IDLE", currency="USD"))
    lifetime = ledger.open_with_code(
        OpenWithCode.parse(
            {
                "code": "LTD-IDLE",
                "owner": {"name": "Li Fe", "email": "li@fe.example"},
                "company": "Lifetime",
                "country": "US",
            }
        )
    )
    paying = open_account(ledger)
    ledger.execute(paying, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2019-10-05T00:00:00Z")
    ledger.execute(paying, ChangePlan(plan="free"))
    at(ledger, clock, "2019-11-02T00:00:00Z")
    assert ledger.notifications(paying)[-1]["kind"] == "inactivity_warning"
    assert ledger.notifications(paying)[-1]["at"] == "2019-11-02T00:00:00Z"
    assert kinds(ledger, lifetime) == []
