"""The scheduler: one active per database, its job kept in that database, catch-up after
downtime, and a `seatledger scheduler` process killed (SIGKILL) in the middle of a month's
renewals that, restarted, ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from eventsourcing.utils import get_topic

from adapters.clock import SimulatedClock
from app import Ledger
from domain.account import Account
from domain.commands import AddPaymentMethod
from scheduler import JOB_ID, JOB_TABLE, LOCK_POLL_SECONDS, Scheduler
from settings import Settings
from tests.helpers import eventually, open_account, pg_schema
from tests.ledgers import utc

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = 40
RENEWALS_EACH = 2
INVOICE_TOPIC = get_topic(Account.InvoiceIssued)


def test_one_scheduler_is_active_per_database_and_another_takes_over(
    store: str, clock: SimulatedClock
) -> None:
    ledgers = [Ledger(Settings(store=store), clock=clock) for _ in range(2)]
    first, second = (Scheduler(ledger, every_seconds=3600).start() for ledger in ledgers)
    try:
        eventually(lambda: first.active or second.active)
        time.sleep(LOCK_POLL_SECONDS * 1.5)  # the other one has tried, and waits
        assert [first.active, second.active].count(True) == 1
        active, waiting = (first, second) if first.active else (second, first)
        eventually(lambda: active.runs == 1)  # the catch-up run at activation
        active.stop()
        eventually(lambda: waiting.active, timeout=LOCK_POLL_SECONDS * 5)
        eventually(lambda: waiting.runs == 1)
    finally:
        first.stop()
        second.stop()
        for ledger in ledgers:
            ledger.close()


def test_the_job_is_kept_in_the_same_database(store: str, clock: SimulatedClock) -> None:
    ledger = Ledger(Settings(store=store), clock=clock)
    scheduler = Scheduler(ledger, every_seconds=3600).start()
    try:
        eventually(lambda: scheduler.active)
        if store.startswith("sqlite"):
            path = store[len("sqlite:///") :]
            with sqlite3.connect(path) as conn:
                rows = conn.execute(f"SELECT id FROM {JOB_TABLE}").fetchall()
        else:
            database, schema = pg_schema(store)
            with psycopg.connect(database) as conn:
                rows = conn.execute(f'SELECT id FROM "{schema}".{JOB_TABLE}').fetchall()
        assert rows == [(JOB_ID,)]
    finally:
        scheduler.stop()
        ledger.close()


def test_after_downtime_the_missed_work_is_done_at_its_own_instants(
    store: str, clock: SimulatedClock
) -> None:
    ledger = Ledger(Settings(store=store), clock=clock)
    account = open_account(ledger)
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_catch_up"))
    clock.set(utc("2019-03-20T12:00:00Z"))  # the scheduler was down for two renewals
    scheduler = Scheduler(ledger, every_seconds=3600).start()
    try:
        eventually(lambda: scheduler.runs == 1)
    finally:
        scheduler.stop()
    issued = [(i["issued_at"], i["status"]) for i in ledger.invoices(account)]
    assert issued == [
        ("2019-01-01T00:00:00Z", "paid"),
        ("2019-02-01T00:00:00Z", "paid"),
        ("2019-03-01T00:00:00Z", "paid"),
    ]
    sealed = ledger.verify()  # the run sealed what it did
    assert sealed.ok and sealed.checkpoints == 1 and sealed.unsealed == 0
    ledger.close()


# ---------------------------------------------------------------- kill -9 on PostgreSQL


def prepare(store: str, start: datetime) -> None:
    """ACCOUNTS monthly accounts, opened one second apart at `start`, each with a card: their
    first invoice is paid at opening and RENEWALS_EACH renewals are due by now."""
    clock = SimulatedClock(start)
    ledger = Ledger(Settings(store=store), clock=clock)
    for n in range(ACCOUNTS):
        account = open_account(
            ledger, owner_email=f"owner{n}@kill.example", company=f"Kill {n}", seats=1 + n % 3
        )
        ledger.execute(account, AddPaymentMethod(kind="card", token=f"tok_{n}"))
        clock.set(clock.now() + timedelta(seconds=1))
    ledger.close()


def invoices_in(store: str) -> int:
    database, schema = pg_schema(store)
    with psycopg.connect(database) as conn:
        row = conn.execute(
            f'SELECT count(*) FROM "{schema}".seatledger_events WHERE topic = %s',
            (INVOICE_TOPIC,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def reached(store: str, count: int) -> bool:
    return invoices_in(store) >= count


def scheduler_process(store: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "scheduler", "--store", store, "--every", "1"],
        cwd=REPO,
        env={**os.environ, "SEATLEDGER_STORE": store},
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
    )


def finished(store: str) -> bool:
    ledger = Ledger(Settings(store=store))
    try:
        due = ledger.next_due()
        return due is not None and due > ledger.now()
    finally:
        ledger.close()


def outcome(store: str) -> dict[str, Any]:
    ledger = Ledger(Settings(store=store))
    try:
        found: dict[str, Any] = {}
        for account_id in ledger.account_ids():
            account = ledger.account(account_id)
            found[account["slug"]] = {
                "invoices": [
                    (i["number"], i["issued_at"], i["total"], i["status"])
                    for i in ledger.invoices(account_id)
                ],
                "payments": [(p["status"], p["amount"]) for p in ledger.payments(account_id)],
                "events": [
                    type(e).__name__ for e in ledger.events() if e.originator_id == account_id
                ],
            }
        return found
    finally:
        ledger.close()


def run_to_the_end(store: str) -> None:
    """A scheduler process until nothing is due; what it logged, if it never gets there."""
    with tempfile.TemporaryFile() as log:
        process = scheduler_process(store, log)
        try:
            eventually(lambda: finished(store), timeout=240)
        except AssertionError:
            log.seek(0)
            raise AssertionError(log.read().decode(errors="replace")[-4000:]) from None
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@pytest.mark.postgres
def test_a_scheduler_killed_mid_run_and_restarted_charges_nobody_twice(
    pg_store: str, pg_database: str
) -> None:
    # a second schema in the same database for the uninterrupted run
    twin = pg_store.replace("schema=", "schema=twin_")
    _, twin_schema = pg_schema(twin)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{twin_schema}"')
    try:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=70)
        for store in (pg_store, twin):
            prepare(store, start)
        opening = invoices_in(pg_store)
        assert opening == ACCOUNTS
        total = ACCOUNTS * (1 + RENEWALS_EACH)

        kills = []
        for fraction in (0.2, 0.45, 0.7):
            process = scheduler_process(pg_store)
            threshold = opening + int(ACCOUNTS * RENEWALS_EACH * fraction)
            eventually(partial(reached, pg_store, threshold), 120)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills.append(invoices_in(pg_store))
        assert all(count < total for count in kills), f"every kill landed mid-run: {kills}"
        run_to_the_end(pg_store)
        run_to_the_end(twin)

        interrupted, uninterrupted = outcome(pg_store), outcome(twin)
        assert interrupted == uninterrupted
        numbers = sorted(n for a in interrupted.values() for n, *_ in a["invoices"])
        assert len(numbers) == total
        assert numbers == sorted(set(numbers))  # no duplicate
        assert all(
            [status for status, _ in account["payments"]].count("succeeded")
            == len(account["invoices"])
            for account in interrupted.values()
        )
        killed = Ledger(Settings(store=pg_store))
        try:  # the killed processes left every chain whole, and their checkpoints verify
            chained = killed.verify()
        finally:
            killed.close()
        assert chained.ok and chained.checkpoints >= 1, chained.summary()
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{twin_schema}" CASCADE')
