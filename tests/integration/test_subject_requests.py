"""Subject requests (GDPR-3), the export they yield, and the deadlines that fall due."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from app import Ledger
from cli import app
from domain.commands import (
    AddPaymentMethod,
    ObjectToProcessing,
    RequestAccess,
    RequestErasure,
    RequestRectification,
    RequestRestriction,
    WithdrawConsent,
)
from domain.errors import DomainError, ErrorCode
from domain.subjects import Purpose, Right
from settings import Settings
from tests.helpers import at, consent, event_count, open_account


def test_gdpr_3_requests_are_recorded_with_a_one_month_deadline_and_answered(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-3: rectification records the new value; restriction and objection are recorded
    and visible; every request carries its deadline (one month, Art. 12(3)) and answer."""
    at(ledger, clock, "2025-01-31T10:00:00Z")
    lee = consent(ledger, ["marketing"], email="lee@prospect.example", name="Lee Prospect")
    ledger.subject_request(lee, RequestRectification(email="lee.p@prospect.example"))
    ledger.subject_request(lee, RequestRestriction())
    ledger.subject_request(lee, ObjectToProcessing(purposes=[Purpose.MARKETING]))
    view = ledger.subject(lee)
    assert (view["name"], view["email"]) == ("Lee Prospect", "lee.p@prospect.example")
    assert ledger.find_subject("lee.p@prospect.example") == lee  # the new address names Lee
    with pytest.raises(DomainError):
        ledger.find_subject("lee@prospect.example")  # and the old one no longer does
    assert view["restricted"] is True
    assert view["objections"] == ["marketing"]
    assert [(r["right"], r["due_on"], r["answer"]) for r in view["requests"]] == [
        ("rectification", "2025-02-28", "rectified"),
        ("restriction", "2025-02-28", "restricted"),
        ("objection", "2025-02-28", "objection recorded"),
    ]
    before = event_count(ledger)
    refusals: list[tuple[Callable[[], object], ErrorCode]] = [
        (lambda: RequestRectification.parse({}), ErrorCode.INVALID_INPUT),
        (lambda: RequestRectification.parse({"email": "not-mail"}), ErrorCode.INVALID_INPUT),
        (
            lambda: ledger.subject_request(uuid4(), RequestRestriction()),
            ErrorCode.UNKNOWN_SUBJECT,
        ),
        (lambda: RequestAccess.parse({"right": "erasure"}), ErrorCode.INVALID_INPUT),
    ]
    for command, code in refusals:
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code is code
    assert event_count(ledger) == before


def test_gdpr_3_access_portability_and_information_yield_the_export_and_no_other_right(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-3: the rights that yield a machine-readable export are access and portability
    (and information); every other request is answered with the subject as it now is."""
    exported = {right for right in Right if right.yields_export}
    assert exported == {Right.ACCESS, Right.PORTABILITY, Right.INFORMATION}
    at(mem_ledger, clock, "2025-01-10T00:00:00Z")
    lee = consent(mem_ledger, ["marketing"], email="lee@prospect.example", name="Lee P")
    for right in ("access", "portability", "information"):
        answer = mem_ledger.subject_request(lee, RequestAccess.parse({"right": right}))
        assert set(answer) >= {"subject", "retention", "events"}, right
        assert answer["subject"]["requests"][-1]["right"] == right
    for request in (RequestRestriction(), ObjectToProcessing(purposes=[Purpose.MARKETING])):
        answer = mem_ledger.subject_request(lee, request)
        assert "events" not in answer and answer["requests"][-1]["right"] == request.right


def test_gdpr_3_access_exports_everything_held_on_the_subject(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-3: access and portability yield a machine-readable export: the subject, its
    retention, its recorded facts and those of its account (invoices included)."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    account = open_account(ledger, owner_email="ada@acme.example")
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_acme"))
    ada = consent(
        ledger, ["customer_service"], email="ada@acme.example", name="Ada L", account=account
    )
    export = ledger.subject_request(ada, RequestAccess(right="portability"))
    assert json.loads(json.dumps(export)) == export
    assert export["subject"]["email"] == "ada@acme.example"
    assert export["subject"]["requests"][0]["right"] == "portability"
    assert export["account"]["owner"]["email"] == "ada@acme.example"
    assert [i["number"] for i in export["account"]["invoices"]] == ["2025-000001"]
    assert {e["type"] for e in export["events"]} >= {"Subject.ConsentGiven"}
    assert "Account.Opened" in {e["type"] for e in export["account"]["events"]}
    assert export["retention"][0] == {
        "category": "customer_service",
        "due_on": None,
        "basis": "consent",
    }


def test_gdpr_3_the_command_line_exports_a_subject(tmp_path: Path) -> None:
    """GDPR-3: `seatledger subject export ID` prints the export as JSON."""
    store = f"sqlite:///{tmp_path}/ledger.db"
    ledger = Ledger(Settings(store=store))
    lee = consent(ledger, ["marketing"], email="lee@prospect.example", name="Lee P")
    ledger.close()
    runner = CliRunner()
    result = runner.invoke(app, ["subject", "export", str(lee), "--store", store])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subject"]["email"] == "lee@prospect.example"
    missing = runner.invoke(app, ["subject", "export", str(uuid4()), "--store", store])
    assert missing.exit_code == 2
    assert "UNKNOWN_SUBJECT" in missing.stderr


def test_gdpr_2_what_falls_due_before_a_date(ledger: Ledger, clock: SimulatedClock) -> None:
    """GDPR-2/3: the data-protection officer's list: every deadline before a date, earliest
    first, with whether the scheduler already did the work."""
    at(ledger, clock, "2025-01-01T00:00:00Z")
    lee = consent(ledger, ["marketing"], email="lee@prospect.example", name="Lee P")
    kim = consent(ledger, ["marketing"], email="kim@prospect.example", name="Kim P")
    at(ledger, clock, "2025-02-01T00:00:00Z")
    ledger.withdraw_consent(kim, WithdrawConsent(purposes=[Purpose.MARKETING]))
    ledger.subject_request(lee, RequestRestriction())
    at(ledger, clock, "2025-02-02T00:00:00Z")
    assert ledger.falls_due("2030-01-01").items == [
        {
            "subject": str(kim),
            "category": "marketing",
            "due_on": "2025-02-01",
            "basis": "withdrawn",
            "done": True,
        },
        {
            "subject": str(lee),
            "category": "request:restriction",
            "due_on": "2025-03-01",
            "basis": "request",
            "done": True,
        },
    ]
    assert [i["subject"] for i in ledger.falls_due("2030-01-02").items][-1] == str(lee)
    assert ledger.falls_due("2030-01-02").items[-1]["done"] is False


def test_gdpr_4_a_repeated_erasure_request_destroys_nothing_new(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    """GDPR-4 with idempotency: repeating an erasure request with its key returns the first
    answer; data given after the first request (a new consent) is not destroyed by it."""
    at(mem_ledger, clock, "2025-01-01T00:00:00Z")
    lee = consent(mem_ledger, ["marketing"], email="lee@prospect.example", name="Lee P")
    mem_ledger.subject_request(lee, RequestErasure(), idempotency_key="erase-lee-1")
    assert mem_ledger.subject(lee)["erased"] is True
    at(mem_ledger, clock, "2025-02-01T00:00:00Z")
    consent(mem_ledger, ["marketing"], email="lee@new.example", name="Lee Again", subject=lee)
    before = event_count(mem_ledger)
    mem_ledger.subject_request(lee, RequestErasure(), idempotency_key="erase-lee-1")
    assert event_count(mem_ledger) == before
    view = mem_ledger.subject(lee)
    assert (view["name"], view["email"], view["erased"]) == ("Lee Again", "lee@new.example", False)
