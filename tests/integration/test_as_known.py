"""Bitemporal queries (TIME-2): every query answers as of a business instant (`as_of`) as
the ledger knew it at a recording instant (`known_at`). Events recorded after `known_at` are
ignored, and events effective after `as_of` too."""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.commands import AddPaymentMethod, CorrectInvoice
from domain.errors import DomainError, ErrorCode
from tests.helpers import at, open_account, plain
from tests.ledgers import utc

ISSUED = "2025-01-15T10:00:00Z"
CORRECTED = "2025-01-20T09:00:00Z"


def corrected(ledger: Ledger, clock: SimulatedClock) -> UUID:
    """INV-2: the January invoice, issued on the 15th, corrected on the 20th."""
    at(ledger, clock, ISSUED)
    nova = open_account(ledger, company="Nova SARL")
    ledger.execute(nova, AddPaymentMethod(kind="card", token="tok"))
    at(ledger, clock, CORRECTED)
    ledger.execute(nova, CorrectInvoice(company="Nova Research SARL"))
    return nova


def documents(ledger: Ledger, nova: UUID, **when: str) -> list[tuple[str, str, str]]:
    return [
        (d["number"], d["status"], d["billed_to"]["company"])
        for d in plain(ledger.invoices(nova, **when))
    ]


def test_time_2_the_invoice_as_known_before_and_after_its_correction(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    nova = corrected(ledger, clock)
    before = [("2025-000001", "paid", "Nova SARL")]
    after = [
        ("2025-000001", "credited", "Nova SARL"),
        ("CN-2025-000001", "paid", "Nova SARL"),
        ("2025-000002", "paid", "Nova Research SARL"),
    ]
    assert documents(ledger, nova, known_at="2025-01-18T00:00:00Z") == before
    assert documents(ledger, nova, known_at="2025-01-21T00:00:00Z") == after
    assert documents(ledger, nova) == after  # now
    # known later, but about a business time before the correction took effect
    assert documents(ledger, nova, as_of="2025-01-18T00:00:00Z") == before
    assert (
        documents(ledger, nova, as_of="2025-01-18T00:00:00Z", known_at="2025-01-21T00:00:00Z")
        == before
    )
    # the instant of the correction itself: recorded then, so known then
    assert documents(ledger, nova, known_at=CORRECTED) == after
    # before the account existed, there was nothing to know
    with pytest.raises(DomainError) as unknown:
        plain(ledger.invoices(nova, known_at="2025-01-15T09:59:59Z"))
    assert unknown.value.code is ErrorCode.UNKNOWN_ACCOUNT


def test_time_2_finance_reports_as_known_before_and_after_the_correction(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    corrected(ledger, clock)
    then = ledger.report("invoices", "2025-01", known_at="2025-01-18T00:00:00Z")
    now = ledger.report("invoices", "2025-01")
    assert [r["number"] for r in then.records()] == ["2025-000001"]
    assert [r["number"] for r in now.records()] == [
        "2025-000001",
        "CN-2025-000001",
        "2025-000002",
    ]
    trial = plain(ledger.ledger(as_of="2025-01-18T00:00:00Z", known_at="2025-01-18T00:00:00Z"))
    assert trial["balanced"] is True


def test_time_2_work_recorded_late_is_unknown_before_it_was_recorded(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """The scheduler was down: the February renewal, due on the 15th, was recorded on the
    20th. On the 18th nobody knew of it; from the 20th, it was known to have been due on the
    15th."""
    at(ledger, clock, ISSUED)
    nova = open_account(ledger, company="Nova SARL")
    ledger.execute(nova, AddPaymentMethod(kind="card", token="tok"))
    gateway.decline(nova)
    clock.set(utc("2025-02-20T12:00:00Z"))
    ledger.run_due()
    owed = "2025-02-16T00:00:00Z"
    assert len(plain(ledger.invoices(nova, as_of=owed, known_at="2025-02-18T00:00:00Z"))) == 1
    assert plain(ledger.balance(nova, as_of=owed, known_at="2025-02-18T00:00:00Z"))[
        "receivable"
    ] == ("0.00 USD")
    known = plain(ledger.balance(nova, as_of=owed, known_at="2025-02-21T00:00:00Z"))
    assert known["receivable"] == plain(ledger.invoices(nova))[1]["total"] != "0.00 USD"
    assert ledger.account(nova, as_of=owed, known_at="2025-02-21T00:00:00Z")["period_start"] == (
        "2025-02-15T10:00:00Z"
    )


@pytest.mark.parametrize(
    ("as_of", "known_at", "field"),
    [
        ("yesterday", None, "as_of"),
        ("2025-01-18T00:00:00", None, "as_of"),  # no offset: which instant?
        (None, "2025-13-01T00:00:00Z", "known_at"),
    ],
)
def test_an_instant_that_is_not_one_is_refused(
    mem_ledger: Ledger, clock: SimulatedClock, as_of: str | None, known_at: str | None, field: str
) -> None:
    nova = open_account(mem_ledger)
    with pytest.raises(DomainError) as refused:
        plain(mem_ledger.balance(nova, as_of=as_of, known_at=known_at))
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == field
