"""Bad input gets a clear code and message and records nothing; idempotency keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    AnnouncePriceChange,
    Cancel,
    ChangePlan,
    CorrectInvoice,
    RecordActivity,
    RemoveSeats,
    SetVatId,
)
from domain.errors import DomainError, ErrorCode
from tests.helpers import at, event_count, open_account

Refusal = Callable[[Ledger, UUID], Any]

REFUSALS: list[tuple[str, ErrorCode, Refusal]] = [
    (
        "bad e-mail",
        ErrorCode.INVALID_INPUT,
        lambda lg, _: open_account(lg, owner_email="not-an-email"),
    ),
    ("no owner name", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, owner_name=" ")),
    ("no company", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, company="")),
    ("bad country", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, country="Slovakia")),
    ("bad currency", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, currency="GBP")),
    ("bad cycle", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, cycle="weekly")),
    ("long trial", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, trial_days=15)),
    ("bad region", ErrorCode.INVALID_INPUT, lambda lg, _: open_account(lg, region="APAC")),
    (
        "zero seats added",
        ErrorCode.INVALID_INPUT,
        lambda lg, a: lg.execute(a, AddSeats.parse({"count": 0})),
    ),
    (
        "seats as text",
        ErrorCode.INVALID_INPUT,
        lambda lg, a: lg.execute(a, AddSeats.parse({"count": "2"})),
    ),
    (
        "float price",
        ErrorCode.INVALID_INPUT,
        lambda lg, _: lg.announce_price_change(
            AnnouncePriceChange.parse(
                {
                    "plan": "ticket",
                    "currency": "USD",
                    "cycle": "monthly",
                    "price": 1.5,
                    "effective_on": "2026-01-01",
                }
            )
        ),
    ),
    (
        "unknown account",
        ErrorCode.UNKNOWN_ACCOUNT,
        lambda lg, _: lg.execute(uuid4(), AddSeats(count=1)),
    ),
    ("unknown plan", ErrorCode.UNKNOWN_PLAN, lambda lg, _: open_account(lg, plan="platinum")),
    (
        "unknown plan change",
        ErrorCode.UNKNOWN_PLAN,
        lambda lg, a: lg.execute(a, ChangePlan(plan="platinum")),
    ),
    ("no seats left", ErrorCode.NO_SEATS_LEFT, lambda lg, a: lg.execute(a, RemoveSeats(count=3))),
    (
        "short notice",
        ErrorCode.PRICE_NOTICE_TOO_SHORT,
        lambda lg, _: lg.announce_price_change(
            AnnouncePriceChange(
                plan="ticket",
                currency="USD",
                cycle="monthly",
                price="9.00 USD",
                effective_on="2025-01-20",
            )
        ),
    ),
    (
        "invalid VAT ID",
        ErrorCode.INVALID_VAT_ID,
        lambda lg, a: lg.execute(a, SetVatId(vat_id="DE136695976")),
    ),
    (
        "nothing to correct",
        ErrorCode.INVALID_INPUT,
        lambda lg, a: lg.execute(a, CorrectInvoice(company="X")),
    ),
]


@pytest.mark.parametrize(("case", "code", "command"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_command_names_its_code_and_records_nothing(
    ledger: Ledger, clock: SimulatedClock, case: str, code: ErrorCode, command: Refusal
) -> None:
    at(ledger, clock, "2025-01-10T09:00:00Z")
    account = open_account(ledger)
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        command(ledger, account)
    assert refused.value.code is code, case
    assert refused.value.message
    assert event_count(ledger) == before


def test_acc_4_a_deleted_or_cancelled_account_takes_no_commands(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """ACC-4: a deleted or cancelled account takes no commands."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    account = open_account(ledger)
    ledger.execute(account, Cancel(via="button"))
    before = event_count(ledger)
    commands: list[Callable[[], None]] = [
        lambda: ledger.execute(account, AddSeats(count=1)),
        lambda: ledger.execute(account, Cancel(via="email")),
        lambda: ledger.execute(account, RecordActivity()),
        lambda: ledger.execute(account, AddPaymentMethod(kind="card", token="tok")),
    ]
    for command in commands:
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code is ErrorCode.ACCOUNT_CLOSED
    assert event_count(ledger) == before


def test_a_repeated_idempotency_key_returns_the_first_result_and_records_nothing(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-10T09:00:00Z")
    first = open_account(ledger, idempotency_key="open-acme-1")
    after_first = event_count(ledger)
    again = open_account(ledger, idempotency_key="open-acme-1")
    assert again == first
    assert event_count(ledger) == after_first
    ledger.execute(first, AddSeats(count=2), idempotency_key="seats-1")
    ledger.execute(first, AddSeats(count=2), idempotency_key="seats-1")
    assert ledger.account(first)["seats"] == 5


def test_an_idempotency_key_reused_for_another_request_is_refused(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-10T09:00:00Z")
    account = open_account(ledger)
    ledger.execute(account, AddSeats(count=1), idempotency_key="k")
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        ledger.execute(account, AddSeats(count=2), idempotency_key="k")
    assert refused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert event_count(ledger) == before
