"""`audit explain`: every invoice line and every posting names its TERMS.md rule and the
events it came from."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from app import Ledger
from cli import app as cli_app
from domain.commands import AddPaymentMethod, AddSeats
from domain.errors import DomainError, ErrorCode
from settings import Settings
from tests.helpers import at, open_account
from tests.integration.test_as_known import corrected


def test_bill_4_an_upgrade_invoice_names_its_rule_and_the_seat_change_behind_it(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    at(mem_ledger, clock, "2025-01-15T10:00:00Z")
    acme = open_account(mem_ledger, cycle="annual", country="DE", currency="EUR", seats=2)
    mem_ledger.execute(acme, AddPaymentMethod(kind="card", token="tok"))
    at(mem_ledger, clock, "2025-03-01T00:00:00Z")
    mem_ledger.execute(acme, AddSeats(count=1))
    number = mem_ledger.invoices(acme)[-1]["number"]
    trail = mem_ledger.explain(number)
    seats_added = [c for c in trail["caused_by"] if c["event"] == "Account.SeatsAdded"]
    assert len(seats_added) == 1
    issued = trail["issued_by"]
    assert issued["event"] == "Account.InvoiceIssued"
    assert issued["version"] > seats_added[0]["version"]
    [line] = trail["lines"]
    assert line["rule"] == "BILL-4"
    assert seats_added[0]["version"] in line["events"]
    assert trail["tax"]["rule"] == "INV-4" and trail["tax"]["rate"] == "19%"
    by_account = {p["ledger_account"]: p for p in trail["postings"] if p["rule"] != "PAY-2"}
    assert by_account["deferred_revenue"]["rule"] == "BILL-4"
    assert by_account["vat_payable:DE"]["rule"] == "INV-4"
    assert by_account["receivable"]["rule"] == "INV-1"
    assert all(p["event"] == issued["version"] for p in by_account.values())
    payments = [p for p in trail["postings"] if p["rule"] == "PAY-2"]
    assert len(payments) == 2  # Dr cash clearing, Cr receivable
    paid_by = trail["events"][str(payments[0]["event"])]
    assert paid_by["event"] == "Account.PaymentSucceeded"
    assert [r["rule"] for r in trail["recognition"]] == ["BILL-4"]
    assert all(len(ref["digest"]) == 64 for ref in trail["events"].values())


def test_inv_2_a_reissue_and_its_credit_note_trace_to_the_correction(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    corrected(mem_ledger, clock)
    reissue = mem_ledger.explain("2025-000002")
    credit_note = mem_ledger.explain("CN-2025-000001")
    assert reissue["document"]["reissue_of"] == "2025-000001"
    assert credit_note["document"]["credits"] == "2025-000001"
    for trail in (reissue, credit_note):
        assert trail["issued_by"]["event"] == "Account.InvoiceCorrected"
        assert {p["event"] for p in trail["postings"]} == {trail["issued_by"]["version"]}
    assert [s["rule"] for s in reissue["settlements"]] == ["INV-2"]


@pytest.mark.parametrize(
    ("number", "code"),
    [("2025-000099", ErrorCode.UNKNOWN_DOCUMENT), ("INV/7", ErrorCode.INVALID_INPUT)],
)
def test_explaining_a_document_that_is_not_there_is_refused(
    mem_ledger: Ledger, clock: SimulatedClock, number: str, code: ErrorCode
) -> None:
    corrected(mem_ledger, clock)
    with pytest.raises(DomainError) as refused:
        mem_ledger.explain(number)
    assert refused.value.code is code


def test_audit_explain_prints_the_trail(sqlite_store: str, clock: SimulatedClock) -> None:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    corrected(ledger, clock)
    ledger.close()
    shown = CliRunner().invoke(
        cli_app, ["audit", "explain", "2025-000001", "--store", sqlite_store]
    )
    assert shown.exit_code == 0, shown.output
    assert "BILL-2" in shown.output and "Account.PeriodStarted" in shown.output
    # amounts as people read them ("30.00 USD"), not the JSON money objects
    assert re.search(r"total [0-9]+\.[0-9]{2} [A-Z]{3}", shown.output), shown.output
    assert "{" not in shown.output
    missing = CliRunner().invoke(
        cli_app, ["audit", "explain", "2025-000099", "--store", sqlite_store]
    )
    assert missing.exit_code == 2 and "UNKNOWN_DOCUMENT" in missing.output
