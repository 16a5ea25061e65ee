"""Concurrent writers lose nothing and double nothing: real threads against a real store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from uuid import UUID

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import AddPaymentMethod, AddSeats
from tests.helpers import at, open_account

THREADS = 16
ACCOUNTS_PER_THREAD = 4


def test_inv_1_invoice_numbers_stay_gapless_under_concurrent_writers(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """INV-1: invoice numbers stay gapless under concurrent writers."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    accounts = [
        open_account(ledger, company=f"Racer {n}") for n in range(THREADS * ACCOUNTS_PER_THREAD)
    ]
    start = Barrier(THREADS)

    def convert(batch: list[UUID]) -> None:
        start.wait()
        for account in batch:
            ledger.execute(account, AddPaymentMethod(kind="card", token=f"tok_{account.hex[:6]}"))

    with ThreadPoolExecutor(THREADS) as pool:
        batches = [accounts[n::THREADS] for n in range(THREADS)]
        for result in pool.map(convert, batches):
            assert result is None
    issued = sorted(
        number for a in accounts for number in (i["number"] for i in ledger.invoices(a))
    )
    expected = [f"2025-{n:06d}" for n in range(1, len(accounts) + 1)]
    assert issued == expected
    chained = ledger.verify()  # every race's loser was retried onto the winner's chain
    assert chained.ok, chained.summary()


def test_concurrent_seat_changes_on_one_account_lose_no_update(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-15T10:00:00Z")
    account = open_account(ledger, seats=1)
    start = Barrier(THREADS)
    per_thread = 5

    def add() -> None:
        start.wait()
        for _ in range(per_thread):
            ledger.execute(account, AddSeats(count=1))

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(add) for _ in range(THREADS)]:
            future.result()
    assert ledger.account(account)["seats"] == 1 + THREADS * per_thread
    chained = ledger.verify()
    assert chained.ok, chained.summary()
