"""Trials, periods, upgrades, price changes and invoices, on SQLite and on PostgreSQL.

Every figure below was worked out by hand from TERMS.md.
"""

from __future__ import annotations

import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    AnnouncePriceChange,
    Cancel,
    ChangePlan,
    CorrectInvoice,
    LiftSuspension,
    RemoveSeats,
    ReportSharedLogin,
    ResolveSharedLogin,
    SetBillingDetails,
    SetVatId,
    Suspend,
)
from domain.errors import DomainError, ErrorCode
from tests.helpers import at, event_count, kinds, numbers, open_account, plain, totals


def test_trial_1_a_paid_plan_starts_a_trial_and_charges_nothing(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-1: a paid plan starts a trial and charges nothing."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger)
    short = open_account(ledger, company="Short Trial", trial_days=7)
    assert ledger.account(acme)["status"] == "trialing"
    assert ledger.account(acme)["trial_ends_at"] == "2025-01-24T09:00:00Z"
    assert ledger.account(short)["trial_ends_at"] == "2025-01-17T09:00:00Z"
    at(ledger, clock, "2025-01-23T09:00:00Z")
    assert plain(ledger.invoices(acme)) == []


def test_trial_1_the_free_plan_has_no_trial_no_invoices_and_uses_no_numbers(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-1: the free plan has no trial no invoices and uses no numbers."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    free = open_account(ledger, plan="free", seats=5)
    ledger.execute(free, AddPaymentMethod(kind="card", token="tok_free"))
    at(ledger, clock, "2025-02-05T09:00:00Z")  # within 28 days: not idle yet (IDLE-1)
    assert ledger.account(free)["status"] == "active"
    assert ledger.account(free)["trial_ends_at"] is None
    assert plain(ledger.invoices(free)) == []
    paying = open_account(ledger, company="Paying")
    ledger.execute(paying, AddPaymentMethod(kind="card", token="tok_pay"))
    assert numbers(ledger, paying) == ["2025-000001"]


def test_trial_2_a_card_during_the_trial_starts_and_charges_the_first_period(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-2: a card during the trial starts and charges the first period."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger)
    at(ledger, clock, "2025-01-15T10:00:00Z")
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok_visa"))
    view = ledger.account(acme)
    assert (view["status"], view["period_start"], view["period_end"]) == (
        "active",
        "2025-01-15T10:00:00Z",
        "2025-02-15T10:00:00Z",
    )
    assert [(i["total"], i["status"]) for i in plain(ledger.invoices(acme))] == [
        ("117.00 USD", "paid")
    ]
    assert kinds(ledger, acme) == ["receipt"]


def test_trial_3_a_trial_without_card_suspends_and_a_later_card_reactivates_and_charges(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-3: a trial without card suspends and a later card reactivates and charges."""
    at(ledger, clock, "2025-03-01T00:00:00Z")
    beta = open_account(
        ledger, company="Beta GmbH", country="DE", currency="EUR", plan="ticket", seats=2
    )
    at(ledger, clock, "2025-03-16T00:00:00Z")
    assert ledger.account(beta)["status"] == "suspended"
    assert ledger.account(beta)["suspension_reasons"] == ["trial_expired"]
    assert kinds(ledger, beta) == ["suspended"]
    at(ledger, clock, "2025-03-20T08:00:00Z")
    ledger.execute(beta, AddPaymentMethod(kind="paypal", token="pp_beta"))
    view = ledger.account(beta)
    assert (view["status"], view["period_start"]) == ("active", "2025-03-20T08:00:00Z")
    invoice = plain(ledger.invoices(beta))[0]
    assert (invoice["net"], invoice["vat"], invoice["total"]) == (
        "30.00 EUR",
        "5.70 EUR",
        "35.70 EUR",
    )


def test_bill_2_periods_follow_the_anchor_day_clamped_to_month_ends(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-2: periods follow the anchor day clamped to month ends."""
    at(ledger, clock, "2025-01-20T10:00:00Z")
    acme = open_account(ledger, plan="ticket", seats=2)
    at(ledger, clock, "2025-01-31T10:00:00Z")
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-04-30T10:00:00Z")
    issued = [i["issued_at"] for i in plain(ledger.invoices(acme))]
    assert issued == [
        "2025-01-31T10:00:00Z",
        "2025-02-28T10:00:00Z",
        "2025-03-31T10:00:00Z",
        "2025-04-30T10:00:00Z",
    ]
    assert ledger.account(acme)["period_end"] == "2025-05-31T10:00:00Z"
    assert totals(ledger, acme) == ["30.00 USD"] * 4


def test_bill_3_monthly_upgrades_wait_for_the_next_period(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-3: monthly upgrades wait for the next period."""
    at(ledger, clock, "2025-02-01T10:00:00Z")
    kite = open_account(ledger, plan="ticket-chat", seats=2)
    ledger.execute(kite, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-02-10T10:00:00Z")
    ledger.execute(kite, AddSeats(count=2))
    ledger.execute(kite, ChangePlan(plan="all-inclusive"))
    assert totals(ledger, kite) == ["58.00 USD"]
    at(ledger, clock, "2025-03-01T10:00:00Z")
    assert totals(ledger, kite) == ["58.00 USD", "156.00 USD"]


def test_bill_4_an_annual_seat_upgrade_is_prorated_over_the_rest_of_the_period(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-4: an annual seat upgrade is prorated over the rest of the period."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    orbit = open_account(ledger, cycle="annual", seats=2)
    ledger.execute(orbit, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-07-01T12:00:00Z")
    ledger.execute(orbit, AddSeats(count=1))
    # 390.00 x 193 / 365 = 206.219... -> 206.22
    assert totals(ledger, orbit) == ["780.00 USD", "206.22 USD"]
    assert plain(ledger.invoices(orbit))[1]["lines"][0]["rule"] == "BILL-4"
    at(ledger, clock, "2026-01-10T09:00:00Z")
    assert totals(ledger, orbit) == ["780.00 USD", "206.22 USD", "1170.00 USD"]


def test_bill_4_an_annual_plan_upgrade_is_prorated_by_the_rate_difference(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-4: an annual plan upgrade is prorated by the rate difference."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    orbit = open_account(ledger, cycle="annual", seats=2, plan="ticket")
    ledger.execute(orbit, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-07-01T12:00:00Z")
    ledger.execute(orbit, ChangePlan(plan="all-inclusive"))
    # (780 - 300) x 193 / 365 = 253.808... -> 253.81
    assert totals(ledger, orbit) == ["300.00 USD", "253.81 USD"]


def test_bill_5_a_downgrade_never_refunds_and_a_seat_added_back_is_not_charged_twice(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-5: a downgrade never refunds and a seat added back is not charged twice."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    orbit = open_account(ledger, cycle="annual", seats=3)
    ledger.execute(orbit, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-03-01T00:00:00Z")
    ledger.execute(orbit, RemoveSeats(count=1))
    ledger.execute(orbit, ChangePlan(plan="ticket-chat"))
    assert plain(ledger.refunds(orbit)) == []
    assert [i["kind"] for i in plain(ledger.invoices(orbit))] == ["invoice"]
    ledger.execute(orbit, ChangePlan(plan="all-inclusive"))
    ledger.execute(orbit, AddSeats(count=1))
    assert totals(ledger, orbit) == ["1170.00 USD"]
    ledger.execute(orbit, RemoveSeats(count=1))
    at(ledger, clock, "2026-01-10T09:00:00Z")
    assert totals(ledger, orbit) == ["1170.00 USD", "780.00 USD"]


def test_bill_6_a_price_change_needs_30_days_notice(ledger: Ledger, clock: SimulatedClock) -> None:
    """BILL-6: a price change needs 30 days notice."""
    at(ledger, clock, "2025-01-20T15:00:00Z")
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        ledger.announce_price_change(
            AnnouncePriceChange(
                plan="ticket",
                currency="USD",
                cycle="monthly",
                price="20.00 USD",
                effective_on="2025-02-18",
            )
        )
    assert refused.value.code is ErrorCode.PRICE_NOTICE_TOO_SHORT
    assert event_count(ledger) == before


def test_bill_6_new_prices_apply_to_periods_starting_on_or_after_the_effective_date(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-6: new prices apply to periods starting on or after the effective date."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    affected = open_account(ledger, plan="ticket", seats=2)
    ledger.execute(affected, AddPaymentMethod(kind="card", token="tok"))
    trialing = open_account(ledger, company="Trialing", plan="ticket", seats=1)
    other_plan = open_account(ledger, company="Other", plan="ticket-chat", seats=1)
    other_cycle = open_account(ledger, company="Annual", plan="ticket", cycle="annual", seats=1)
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.announce_price_change(
        AnnouncePriceChange(
            plan="ticket",
            currency="USD",
            cycle="monthly",
            price="20.00 USD",
            effective_on="2025-02-19",
        )
    )
    assert "price_change" in kinds(ledger, affected)
    assert "price_change" in kinds(ledger, trialing)
    assert "price_change" not in kinds(ledger, other_plan)
    assert "price_change" not in kinds(ledger, other_cycle)
    at(ledger, clock, "2025-03-15T10:00:00Z")
    # Feb 15 starts before Feb 19: old price. Mar 15: the new one.
    assert totals(ledger, affected) == ["30.00 USD", "30.00 USD", "40.00 USD"]


def test_bill_7_suspended_is_not_renewed_and_bill_8_reactivation_after_the_period_reanchors(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-7, BILL-8: suspended is not renewed and reactivation after the period reanchors."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))
    at(ledger, clock, "2025-02-20T12:00:00Z")
    assert totals(ledger, acme) == ["117.00 USD"]
    ledger.execute(acme, LiftSuspension(reason="terms_violation"))
    view = ledger.account(acme)
    assert (view["status"], view["period_start"], view["period_end"]) == (
        "active",
        "2025-02-20T12:00:00Z",
        "2025-03-20T12:00:00Z",
    )
    assert totals(ledger, acme) == ["117.00 USD", "117.00 USD"]


def test_bill_8_reactivation_within_the_charged_period_keeps_the_anchor(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """BILL-8: reactivation within the charged period keeps the anchor."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))
    at(ledger, clock, "2025-01-25T00:00:00Z")
    ledger.execute(acme, LiftSuspension(reason="terms_violation"))
    assert totals(ledger, acme) == ["117.00 USD"]
    at(ledger, clock, "2025-02-15T10:00:00Z")
    assert [i["issued_at"] for i in plain(ledger.invoices(acme))] == [
        "2025-01-15T10:00:00Z",
        "2025-02-15T10:00:00Z",
    ]


def test_inv_1_numbers_are_gapless_across_accounts_and_restart_each_year(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-1: numbers are gapless across accounts and restart each year."""
    at(ledger, clock, "2025-11-20T10:00:00Z")
    first = open_account(ledger)
    second = open_account(ledger, company="Second")
    ledger.execute(first, AddPaymentMethod(kind="card", token="tok1"))
    ledger.execute(second, AddPaymentMethod(kind="card", token="tok2"))
    at(ledger, clock, "2026-01-20T10:00:00Z")
    assert numbers(ledger, first) == ["2025-000001", "2025-000003", "2026-000001"]
    assert numbers(ledger, second) == ["2025-000002", "2025-000004", "2026-000002"]


def test_inv_2_a_correction_within_15_days_credits_and_reissues_without_moving_money(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """INV-2: a correction within 15 days credits and reissues without moving money."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    nova = open_account(ledger, company="Nova SARL")
    ledger.execute(nova, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-29T10:00:00Z")
    ledger.execute(nova, CorrectInvoice(company="Nova Research SARL"))
    docs = plain(ledger.invoices(nova))
    assert [(d["number"], d["kind"], d["status"]) for d in docs] == [
        ("2025-000001", "invoice", "credited"),
        ("CN-2025-000001", "credit_note", "paid"),
        ("2025-000002", "invoice", "paid"),
    ]
    assert docs[2]["billed_to"]["company"] == "Nova Research SARL"
    assert docs[2]["lines"] == docs[0]["lines"] and docs[2]["vat"] == docs[0]["vat"]
    assert gateway.charges == 1
    assert plain(ledger.balance(nova))["receivable"] == "0.00 USD"
    # The reissued invoice starts its own window.
    at(ledger, clock, "2025-02-12T10:00:00Z")
    ledger.execute(nova, CorrectInvoice(name="Marie Skłodowska-Curie"))
    assert numbers(ledger, nova)[-2:] == ["CN-2025-000002", "2025-000003"]


def test_inv_2_a_late_correction_is_refused_and_records_nothing(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-2: a late correction is refused and records nothing."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    nova = open_account(ledger)
    ledger.execute(nova, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-30T10:00:01Z")
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        ledger.execute(nova, CorrectInvoice(company="Too Late SARL"))
    assert refused.value.code is ErrorCode.CORRECTION_WINDOW_CLOSED
    assert event_count(ledger) == before


def test_inv_3_billing_details_carry_a_postal_address_and_go_on_the_next_invoice(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-3: billing details carry a postal address and go on the next invoice."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(
        acme,
        SetBillingDetails(
            name="Ada Lovelace",
            email="billing@acme.example",
            company="ACME Holdings",
            address={
                "street": "1 Main St",
                "city": "Austin",
                "postal_code": "78701",
                "state": "TX",
                "country": "US",
            },
        ),
    )
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    assert plain(ledger.invoices(acme))[0]["billed_to"]["company"] == "ACME Holdings"
    for bad in (
        {"street": "1 Main St"},
        {"street": "x", "city": "y", "postal_code": "1", "country": "usa"},
    ):
        with pytest.raises(DomainError) as refused:
            details = {"name": "Ada", "company": "ACME", "address": bad}
            ledger.execute(acme, SetBillingDetails.parse(details))
        assert refused.value.code is ErrorCode.INVALID_INPUT


def test_inv_4_an_eu_business_with_a_vat_id_in_another_state_is_reverse_charged(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-4: an eu business with a vat id in another state is reverse charged."""
    at(ledger, clock, "2025-03-01T00:00:00Z")
    de = open_account(
        ledger, company="Beta GmbH", country="DE", currency="EUR", plan="ticket", seats=2
    )
    ledger.execute(de, SetVatId(vat_id="DE136695976"))
    ledger.execute(de, AddPaymentMethod(kind="card", token="tok"))
    invoice = plain(ledger.invoices(de))[0]
    assert (invoice["net"], invoice["vat"], invoice["vat_treatment"]) == (
        "30.00 EUR",
        "0.00 EUR",
        "reverse_charge",
    )


def test_inv_4_a_customer_in_the_sellers_country_pays_vat_even_with_a_vat_id(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-4: a customer in the sellers country pays vat even with a vat id."""
    at(ledger, clock, "2024-12-20T00:00:00Z")
    sk = open_account(
        ledger, company="Tatra s.r.o.", country="SK", currency="EUR", plan="ticket", seats=1
    )
    ledger.execute(sk, SetVatId(vat_id="SK2022749619"))
    ledger.execute(sk, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T00:00:00Z")
    # 20% in 2024, 23% from 2025-01-01, by the invoice's issue date.
    assert [(i["vat"], i["total"]) for i in plain(ledger.invoices(sk))] == [
        ("3.00 EUR", "18.00 EUR"),
        ("3.45 EUR", "18.45 EUR"),
    ]


def test_inv_5_a_vat_id_changes_no_issued_invoice_and_an_invalid_one_is_refused(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-5: a vat id changes no issued invoice and an invalid one is refused."""
    at(ledger, clock, "2025-03-01T00:00:00Z")
    fr = open_account(
        ledger, company="Gamma SAS", country="FR", currency="EUR", plan="ticket", seats=1
    )
    ledger.execute(fr, AddPaymentMethod(kind="card", token="tok"))
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        ledger.execute(fr, SetVatId(vat_id="FR00000000000"))
    assert refused.value.code is ErrorCode.INVALID_VAT_ID
    assert event_count(ledger) == before
    ledger.execute(fr, SetVatId(vat_id="FR40303265045"))
    at(ledger, clock, "2025-04-01T00:00:00Z")
    assert [i["vat"] for i in plain(ledger.invoices(fr))] == ["3.00 EUR", "0.00 EUR"]
    assert plain(ledger.refunds(fr)) == []


def test_login_1_a_shared_login_adds_one_seat_from_the_next_period_until_resolved(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LOGIN-1: a shared login adds one seat from the next period until resolved."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.execute(acme, ReportSharedLogin(login="support-desk"))
    assert totals(ledger, acme) == ["117.00 USD"]
    at(ledger, clock, "2025-02-20T00:00:00Z")
    ledger.execute(acme, ResolveSharedLogin(login="support-desk"))
    at(ledger, clock, "2025-03-15T10:00:00Z")
    assert totals(ledger, acme) == ["117.00 USD", "156.00 USD", "117.00 USD"]
    assert plain(ledger.invoices(acme))[1]["lines"][1]["rule"] == "LOGIN-1"


def test_liab_1_the_cap_is_the_months_fee_or_100_whichever_is_greater(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """LIAB-1: the cap is the months fee or 100 whichever is greater."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    monthly = open_account(ledger)
    small = open_account(ledger, company="Small", plan="ticket", seats=1)
    annual = open_account(ledger, company="Annual", cycle="annual", seats=10)
    trial = open_account(ledger, company="Trial")
    for account in (monthly, small, annual):
        ledger.execute(account, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-02-01T00:00:00Z")
    assert plain(ledger.liability_cap(monthly, "2025-02-01"))["cap"] == "117.00 USD"
    assert plain(ledger.liability_cap(small, "2025-02-01"))["cap"] == "100.00 USD"
    # 3900.00 / 12 = 325.00
    assert plain(ledger.liability_cap(annual, "2025-02-01"))["cap"] == "325.00 USD"
    assert plain(ledger.liability_cap(trial, "2025-02-01"))["cap"] == "100.00 USD"
    # Claim on Jan 15: the day before, no period was in force.
    assert plain(ledger.liability_cap(monthly, "2025-01-15"))["cap"] == "100.00 USD"


def test_time_2_events_carry_business_time_and_the_clocks_recording_time(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TIME-2: events carry business time and the clocks recording time."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger)
    at(ledger, clock, "2025-01-24T09:00:00Z")
    events = [e for e in ledger.events() if e.originator_id == acme]
    assert events[0].effective_at.isoformat() == "2025-01-10T09:00:00+00:00"
    assert events[0].recorded_at is not None
    assert events[0].recorded_at.isoformat() == "2025-01-10T09:00:00+00:00"
    assert events[-1].effective_at.isoformat() == "2025-01-24T09:00:00+00:00"


def test_time_3_work_due_at_one_instant_runs_in_the_order_accounts_were_opened(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TIME-3: work due at one instant runs in the order accounts were opened."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    first = open_account(ledger, company="First")
    second = open_account(ledger, company="Second")
    at(ledger, clock, "2025-01-12T10:00:00Z")
    ledger.execute(second, AddPaymentMethod(kind="card", token="tok2"))
    ledger.execute(first, AddPaymentMethod(kind="card", token="tok1"))
    at(ledger, clock, "2025-02-12T10:00:00Z")
    assert numbers(ledger, second) == ["2025-000001", "2025-000004"]
    assert numbers(ledger, first) == ["2025-000002", "2025-000003"]


def test_time_3_a_cancellation_taking_effect_runs_before_a_renewal_due_at_the_same_instant(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TIME-3: a cancellation taking effect runs before a renewal due at the same instant."""
    at(ledger, clock, "2025-11-29T00:00:00Z")
    acme = open_account(ledger)
    at(ledger, clock, "2025-11-30T00:00:00Z")
    ledger.execute(
        acme, AddPaymentMethod(kind="card", token="tok")
    )  # the next period starts 2025-12-30T00:00Z
    at(ledger, clock, "2025-12-23T12:00:00Z")
    ledger.execute(acme, Cancel(via="email"))  # takes effect 2025-12-30T00:00Z
    at(ledger, clock, "2025-12-31T00:00:00Z")
    assert ledger.account(acme)["status"] == "cancelled"
    assert totals(ledger, acme) == ["117.00 USD"]


def test_acc_1_slugs_are_unique(ledger: Ledger, clock: SimulatedClock) -> None:
    """ACC-1: slugs are unique."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    slugs = [ledger.account(open_account(ledger, company="ACME, Inc."))["slug"] for _ in range(3)]
    assert slugs == ["acme-inc", "acme-inc-2", "acme-inc-3"]


def test_acc_2_the_owner_keeps_a_seat(ledger: Ledger, clock: SimulatedClock) -> None:
    """ACC-2: the owner keeps a seat."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger, seats=2)
    with pytest.raises(DomainError) as refused:
        ledger.execute(acme, RemoveSeats(count=2))
    assert refused.value.code is ErrorCode.NO_SEATS_LEFT
    ledger.execute(acme, RemoveSeats(count=1))
    assert ledger.account(acme)["seats"] == 1
    with pytest.raises(DomainError) as refused:
        open_account(ledger, company="Nobody", seats=0)
    assert refused.value.code is ErrorCode.INVALID_INPUT


def test_acc_4_an_account_is_reactivated_only_when_every_reason_is_cleared(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """ACC-4: an account is reactivated only when every reason is cleared."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    acme = open_account(ledger)
    at(ledger, clock, "2025-01-12T09:00:00Z")
    ledger.execute(acme, Suspend(reason="terms_violation"))
    at(ledger, clock, "2025-01-25T09:00:00Z")  # the trial ends while suspended
    assert ledger.account(acme)["suspension_reasons"] == ["terms_violation", "trial_expired"]
    ledger.execute(acme, LiftSuspension(reason="terms_violation"))
    assert ledger.account(acme)["status"] == "suspended"
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    assert ledger.account(acme)["status"] == "active"
    assert totals(ledger, acme) == ["117.00 USD"]


def test_trial_1_moving_to_the_free_plan_ends_the_trial_and_stops_renewals(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-1, BILL-5: the free plan has no trial and no periods; a paid period runs out."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    trial = open_account(ledger, company="Trial")
    paying = open_account(ledger, company="Paying")
    ledger.execute(paying, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-12T09:00:00Z")
    ledger.execute(trial, ChangePlan(plan="free"))
    ledger.execute(paying, ChangePlan(plan="free"))
    at(ledger, clock, "2025-02-01T09:00:00Z")
    assert ledger.account(trial)["status"] == "active"
    assert "suspended" not in [n["kind"] for n in ledger.notifications(trial)]
    assert totals(ledger, paying) == ["117.00 USD"]
    assert plain(ledger.refunds(paying)) == []


def test_trial_1_a_free_account_moving_to_a_paid_plan_gets_its_trial(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """TRIAL-1: every paid plan starts with a free trial; with a card, it is charged at once."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    free = open_account(ledger, plan="free", company="Free")
    carded = open_account(ledger, plan="free", company="Carded", seats=2)
    ledger.execute(carded, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, "2025-01-20T09:00:00Z")
    ledger.execute(free, ChangePlan(plan="ticket"))
    ledger.execute(carded, ChangePlan(plan="ticket"))
    assert ledger.account(free)["status"] == "trialing"
    assert ledger.account(free)["trial_ends_at"] == "2025-02-03T09:00:00Z"
    assert plain(ledger.invoices(free)) == []
    assert totals(ledger, carded) == ["30.00 USD"]
    assert ledger.account(carded)["period_start"] == "2025-01-20T09:00:00Z"
