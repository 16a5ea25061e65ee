"""Consent per purpose and retention deadlines, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.errors import DomainError, ErrorCode
from tests.helpers import at, event_count, open_account


def test_gdpr_1_consent_is_given_and_withdrawn_per_purpose(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-1: voluntary, per purpose, withdrawable at any time."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    ledger.give_consent(
        "lead-1", ["marketing", "customer_service"], email="lee@prospect.example", name="Lee P"
    )
    at(ledger, clock, "2025-06-01T00:00:00Z")
    ledger.withdraw_consent("lead-1", ["marketing"])
    assert ledger.subject("lead-1")["consents"] == ["customer_service"]
    assert ledger.retention("lead-1") == [
        {"category": "marketing", "due_on": "2025-06-01", "basis": "withdrawn"},
        {"category": "customer_service", "due_on": "2030-01-01", "basis": "consent"},
    ]
    before = event_count(ledger)
    refusals: list[tuple[Callable[[], None], ErrorCode]] = [
        (lambda: ledger.withdraw_consent("lead-1", ["marketing"]), ErrorCode.INVALID_INPUT),
        (lambda: ledger.withdraw_consent("nobody", ["marketing"]), ErrorCode.UNKNOWN_SUBJECT),
        (lambda: ledger.give_consent("lead-1", ["newsletter"]), ErrorCode.INVALID_INPUT),
        (
            lambda: ledger.give_consent("lead-2", ["marketing"], name="No Mail"),
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
    ledger.add_payment_method(acme, "card", "tok")
    ledger.give_consent(
        "ada", ["marketing"], email="ada@acme.example", name="Ada L", account_id=acme
    )
    assert ledger.retention("ada") == [
        {"category": "marketing", "due_on": None, "basis": "consent"},
        {"category": "billing_records", "due_on": "2036-01-01", "basis": "statutory"},
        {"category": "account_content", "due_on": None, "basis": "in_use"},
    ]
    at(ledger, clock, "2025-12-23T15:00:00Z")
    ledger.cancel(acme, "email")  # takes effect 2025-12-30
    at(ledger, clock, "2026-02-01T00:00:00Z")
    assert ledger.retention("ada") == [
        {"category": "marketing", "due_on": "2030-12-30", "basis": "consent"},
        {"category": "billing_records", "due_on": "2036-01-01", "basis": "statutory"},
        {"category": "account_content", "due_on": "2026-01-29", "basis": "deleted"},
    ]


def test_idle_1_consent_changes_are_not_activity(ledger: Ledger, clock: SimulatedClock) -> None:
    """IDLE-1: consent changes do not reset the inactivity clock."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    free = open_account(ledger, plan="free")
    at(ledger, clock, "2025-01-20T00:00:00Z")
    ledger.give_consent(
        "owner", ["marketing"], email="ada@acme.example", name="Ada L", account_id=free
    )
    at(ledger, clock, "2025-01-29T00:00:00Z")
    assert ledger.notifications(free)[-1]["kind"] == "inactivity_warning"
