"""BILL-6's notices in bounded batches: each batch its own transaction, every affected owner
told once, and an announcement killed (SIGKILL) between batches goes on where it stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import suppress
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from adapters.clock import SimulatedClock
from app import Ledger
from domain.catalog import Cycle
from domain.commands import AnnouncePriceChange, Cancel
from domain.pricing import PriceNotice
from ledger.unit import Unit
from settings import Settings
from tests import read_worker
from tests.helpers import at, open_account

REPO = Path(__file__).resolve().parents[2]


class Stopped(Exception):
    pass


def told(ledger: Ledger, account: UUID) -> int:
    return sum(n["kind"] == "price_change" for n in ledger.notifications(account))


def test_bill_6_an_announcement_tells_each_affected_owner_once_a_batch_per_transaction(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-15T10:00:00Z")
    affected = [open_account(ledger, company=f"T{n}", plan="ticket") for n in range(5)]
    other_plan = open_account(ledger, company="Chat", plan="ticket-chat")
    other_cycle = open_account(ledger, company="Annual", plan="ticket", cycle="annual")
    cancelled = open_account(ledger, company="Gone", plan="ticket")
    ledger.execute(cancelled, Cancel(via="button"))
    at(ledger, clock, "2025-01-20T10:00:00Z")
    ledger.price_notices.batch = 2
    counts: list[int] = []
    ledger.price_notices.announce(read_worker.CHANGE, on_batch=counts.append)

    assert [told(ledger, a) for a in affected] == [1] * 5
    assert [told(ledger, a) for a in (other_plan, other_cycle, cancelled)] == [0, 0, 0]
    assert counts == [2, 4, 5]  # three transactions of at most two accounts
    notice = ledger.store.aggregate(PriceNotice.id_for(0))
    assert isinstance(notice, PriceNotice)
    assert (notice.finished, notice.notified, notice.version) == (True, 5, 4)

    later = open_account(ledger, company="Later", plan="ticket")  # opened after it
    assert ledger.send_price_notices() == 0
    assert told(ledger, later) == 0
    again = {**read_worker.CHANGE.model_dump(mode="json"), "price": "21.00 USD"}
    ledger.announce_price_change(AnnouncePriceChange.parse(again))
    assert [told(ledger, a) for a in [*affected, later]] == [2, 2, 2, 2, 2, 1]


def test_bill_6_an_announcement_killed_between_batches_goes_on_where_it_stopped_and_tells_nobody_twice(  # noqa: E501
    store: str,
) -> None:
    read_worker.setup(store, 7)
    announcing = subprocess.Popen(
        [sys.executable, "-m", "tests.read_worker", "announce", store, "2"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert announcing.stdout is not None
        lines = []
        while (line := announcing.stdout.readline().strip()) != "stopped":
            assert line, f"the announcement ended before it was stopped: {announcing.stderr}"
            lines.append(line)
        assert lines == ["batch 1: 2", "batch 2: 4"]
    finally:
        announcing.send_signal(signal.SIGKILL)
        announcing.wait(timeout=30)

    ledger = Ledger(Settings(store=store), clock=SimulatedClock(read_worker.ANNOUNCED))
    try:
        opened = ledger.account_ids()
        affected, unaffected = opened[:7], opened[7:]
        assert [told(ledger, a) for a in affected] == [1, 1, 1, 1, 0, 0, 0]
        # the client repeats the command under its key: nothing is recorded again, and the
        # notices go on from the fifth account
        ledger.announce_price_change(read_worker.CHANGE, idempotency_key=read_worker.KEY)
        assert [told(ledger, a) for a in affected] == [1] * 7
        assert [told(ledger, a) for a in unaffected] == [0, 0]
        assert ledger.send_price_notices() == 0
        notice = ledger.store.aggregate(PriceNotice.id_for(0))
        assert isinstance(notice, PriceNotice)
        assert (notice.finished, notice.notified) == (True, 7)
    finally:
        ledger.close()


def test_bill_6_the_scheduler_finishes_an_announcement_that_was_cut_off(store: str) -> None:
    """What a run of the scheduler does for an announcement whose process died and whose
    client never repeated it."""
    read_worker.setup(store, 3)
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(read_worker.ANNOUNCED))
    try:
        ledger.price_notices.batch = 1

        def cut_off(count: int) -> None:
            raise Stopped  # the process stops after the first batch

        with suppress(Stopped):
            ledger.price_notices.announce(read_worker.CHANGE, on_batch=cut_off)
        opened = ledger.account_ids()
        assert [told(ledger, a) for a in opened[:3]] == [1, 0, 0]
    finally:
        ledger.close()
    restarted = Ledger(Settings(store=store), clock=SimulatedClock(read_worker.ANNOUNCED))
    try:
        assert restarted.send_price_notices() == 2
        assert [told(restarted, a) for a in restarted.account_ids()] == [1, 1, 1, 0, 0]
    finally:
        restarted.close()


def test_bill_6_a_change_announced_before_notices_went_in_batches_reads_as_notified(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """A price book change recorded without a notice (as before batches) is read as told at
    once, not as a defect."""
    at(ledger, clock, "2025-01-15T10:00:00Z")

    def announce_as_before(unit: Unit) -> None:
        unit.price_book().announce(
            unit.terms.catalog,
            plan="ticket",
            currency="USD",
            cycle=Cycle.MONTHLY,
            price=Decimal("21.00"),
            effective_on=date(2025, 3, 1),
            at=unit.at,
        )

    ledger.tx.transact(announce_as_before)
    found = ledger.price_change(0)
    assert found is not None
    assert (found["notices_finished"], found["accounts_gone_through"]) == (True, None)
    assert found["price"] == {"amount": "21.00", "currency": "USD"}
    assert ledger.price_change(1) is None
