"""Consent per purpose and retention deadlines, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    Cancel,
    RequestErasure,
    RequestRectification,
    WithdrawConsent,
)
from domain.errors import DomainError, ErrorCode
from domain.numbering import DocumentKind, InvoiceSeries
from domain.subjects import Purpose
from tests.helpers import at, consent, event_count, open_account


def test_gdpr_1_consent_is_given_and_withdrawn_per_purpose(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-1: voluntary, per purpose, withdrawable at any time."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    lead = consent(
        ledger, ["marketing", "customer_service"], email="lee@prospect.example", name="Lee P"
    )
    at(ledger, clock, "2025-06-01T00:00:00Z")
    marketing = WithdrawConsent(purposes=[Purpose.MARKETING])
    ledger.withdraw_consent(lead, marketing)
    assert ledger.subject(lead)["consents"] == ["customer_service"]
    assert ledger.retention(lead) == [
        {"category": "marketing", "due_on": "2025-06-01", "basis": "withdrawn"},
        {"category": "customer_service", "due_on": "2030-01-01", "basis": "consent"},
    ]
    before = event_count(ledger)
    refusals: list[tuple[Callable[[], object], ErrorCode]] = [
        (lambda: ledger.withdraw_consent(lead, marketing), ErrorCode.INVALID_INPUT),
        (lambda: ledger.withdraw_consent(uuid4(), marketing), ErrorCode.UNKNOWN_SUBJECT),
        (lambda: consent(ledger, ["newsletter"], subject=lead), ErrorCode.INVALID_INPUT),
        (lambda: consent(ledger, ["marketing"], name="No Mail"), ErrorCode.INVALID_INPUT),
        (
            lambda: consent(ledger, ["marketing"], email="new@prospect.example"),
            ErrorCode.INVALID_INPUT,
        ),
    ]
    for command, code in refusals:
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code is code
    assert event_count(ledger) == before


def test_gdpr_2_a_customers_consent_lasts_while_in_use_and_five_years_after(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-2: the end of use is the earlier of cancellation taking effect and deletion;
    GDPR-5: billing records 10 years after the end of the year of issue."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    acme = open_account(ledger)
    ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    ada = consent(ledger, ["marketing"], email="ada@acme.example", name="Ada L", account=acme)
    assert ledger.retention(ada) == [
        {"category": "marketing", "due_on": None, "basis": "consent"},
        {"category": "billing_records", "due_on": "2036-01-01", "basis": "statutory"},
        {"category": "account_content", "due_on": None, "basis": "in_use"},
    ]
    at(ledger, clock, "2025-12-23T15:00:00Z")
    ledger.execute(acme, Cancel(via="email"))  # takes effect 2025-12-30
    at(ledger, clock, "2026-02-01T00:00:00Z")
    assert ledger.retention(ada) == [
        {"category": "marketing", "due_on": "2030-12-30", "basis": "consent"},
        {"category": "billing_records", "due_on": "2036-01-01", "basis": "statutory"},
        {"category": "account_content", "due_on": "2026-01-29", "basis": "deleted"},
    ]


def test_idle_1_consent_changes_are_not_activity(ledger: Ledger, clock: SimulatedClock) -> None:
    """IDLE-1: consent changes do not reset the inactivity clock."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    free = open_account(ledger, plan="free")
    at(ledger, clock, "2025-01-20T00:00:00Z")
    consent(ledger, ["marketing"], email="ada@acme.example", name="Ada L", account=free)
    at(ledger, clock, "2025-01-29T00:00:00Z")
    assert ledger.notifications(free)[-1]["kind"] == "inactivity_warning"


def test_gdpr_1_a_subject_is_named_by_a_random_id_and_found_by_its_address(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-1: a consent given with an address the ledger knows is that subject's; the id
    says nothing about the person; a refused consent claims no address."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    lee = consent(ledger, ["marketing"], email="Lee@Prospect.example", name="Lee P")
    assert lee.version == 4  # random, not derived from the address
    again = consent(ledger, ["customer_service"], email="lee@prospect.example")
    assert again == lee
    assert ledger.find_subject("LEE@prospect.example") == lee
    assert ledger.subject(lee)["consents"] == ["customer_service", "marketing"]
    with pytest.raises(DomainError):
        consent(ledger, ["marketing"], email="refused@prospect.example")  # no name
    with pytest.raises(DomainError) as unknown:
        ledger.find_subject("refused@prospect.example")
    assert unknown.value.code is ErrorCode.UNKNOWN_SUBJECT


def test_gdpr_1_a_consent_by_id_needs_a_subject_and_a_refused_one_leaves_no_trace(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """Only the ledger makes a subject's id: a consent for an id it does not hold, or for
    the id of an account or an invoice series, is UNKNOWN_SUBJECT; a refused consent
    leaves no event, no look-up of its address and nothing to purge."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    acme = open_account(ledger)
    series = InvoiceSeries.id_for(DocumentKind.INVOICE, 2025)
    keys = ledger.store.keys
    before = event_count(ledger)
    for picked in (uuid4(), acme, series):
        with pytest.raises(DomainError) as refused:
            consent(ledger, ["marketing"], email="x@y.example", name="X Y", subject=picked)
        assert refused.value.code is ErrorCode.UNKNOWN_SUBJECT
    with pytest.raises(DomainError) as unknown_account:
        consent(ledger, ["marketing"], email="new@lead.example", name="New L", account=uuid4())
    assert unknown_account.value.code is ErrorCode.UNKNOWN_ACCOUNT
    assert event_count(ledger) == before
    assert keys.find_subject("x@y.example") is None
    assert keys.find_subject("new@lead.example") is None
    assert keys.purge(clock.now()) and keys.purged(acme)


def test_gdpr_1_a_claim_left_by_a_crash_is_taken_up_by_the_next_consent(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """A process that claimed an address and died before recording the subject left a
    claim naming an id with no events: the next consent with that address makes the
    subject under it."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    orphan = uuid4()
    assert ledger.store.keys.claim_subject("kai@lead.example", orphan, clock.now()) == (
        orphan,
        True,
    )
    with pytest.raises(DomainError):
        ledger.find_subject("kai@lead.example")  # no subject yet
    assert consent(ledger, ["marketing"], email="kai@lead.example", name="Kai L") == orphan
    assert ledger.find_subject("kai@lead.example") == orphan


def test_gdpr_1_a_refused_command_leaves_no_new_address_to_a_subject_it_knows(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """A consent for a known subject with a new address, refused (an unknown account), and
    a rectification of an erased subject, refused: neither address names anyone after."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    sam = consent(ledger, ["marketing"], email="sam@lead.example", name="Sam L")
    with pytest.raises(DomainError):
        consent(ledger, ["marketing"], email="sam.new@lead.example", account=uuid4(), subject=sam)
    assert ledger.store.keys.find_subject("sam.new@lead.example") is None
    assert ledger.find_subject("sam@lead.example") == sam
    ledger.subject_request(sam, RequestErasure())
    with pytest.raises(DomainError):
        ledger.subject_request(sam, RequestRectification(email="sam.later@lead.example"))
    assert ledger.store.keys.find_subject("sam.later@lead.example") is None
