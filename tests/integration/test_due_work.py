"""Scheduled work is idempotent: run twice, or restarted after a crash half-way, it changes
nothing the second time. The crash is real: a process killed with SIGKILL."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import AddPaymentMethod
from domain.schedule import TIME_3_ORDER, Task, TaskKind
from settings import Settings
from tests.crash_worker import RENEWAL
from tests.helpers import at, event_count, open_account
from tests.ledgers import utc

ACCOUNTS = 40
ROOT = Path(__file__).resolve().parents[2]


def worker(action: str, store: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker", action, store, str(ACCOUNTS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def outcome(store: str) -> dict[str, list[tuple[str, str, str]]]:
    """Per account (by slug): its invoices' number, total and status."""
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(RENEWAL))
    try:
        return {
            ledger.account(a)["slug"]: [
                (i["number"], i["total"], i["status"]) for i in ledger.invoices(a)
            ]
            for a in ledger.account_ids()
        }
    finally:
        ledger.close()


def payments(store: str) -> list[str]:
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(RENEWAL))
    try:
        return sorted(p["invoice"] for a in ledger.account_ids() for p in ledger.payments(a))
    finally:
        ledger.close()


def test_time_3_work_due_at_one_instant_sorts_in_the_rules_order_of_jobs() -> None:
    """TIME-3: pool activation and exhaustion, cancellations taking effect, trial expiries,
    renewals and lifetime billing, payment retries, inactivity warnings and deletions,
    erasures; each job its own kind, whose tasks' keys begin with it; an earlier instant
    runs first whatever its kind."""
    holder = uuid4()
    due = utc("2025-03-01T00:00:00Z")
    shuffled = [Task.of(kind, due, holder) for kind in reversed(TaskKind)]
    ranks = [(task.kind, task.kind.rank) for task in sorted(shuffled)]
    assert [rank for _, rank in ranks] == [0, 0, 1, 2, 3, 3, 4, 5, 5, 5, 6]
    steps = [{kind for kind, rank in ranks if rank == n} for n in range(len(TIME_3_ORDER))]
    assert steps == [set(step) for step in TIME_3_ORDER]
    assert steps[0] == {TaskKind("pool-activation"), TaskKind("pool-exhaustion")}
    assert steps[3] == {TaskKind.RENEWAL, TaskKind.LIFETIME_BILLING}
    assert all(t.key == f"{t.kind.value}:{holder}" for t in shuffled)
    earlier = Task.of(TaskKind.ERASURE, utc("2025-02-28T23:59:59Z"), holder)
    assert min([*shuffled, earlier]) == earlier


def test_running_due_work_twice_changes_nothing_the_second_time(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-15T10:00:00Z")
    for n in range(3):
        account = open_account(ledger, company=f"Twice {n}")
        ledger.execute(account, AddPaymentMethod(kind="card", token=f"tok{n}"))
    clock.set(RENEWAL)
    assert ledger.run_due(RENEWAL) == 3
    before = event_count(ledger)
    assert ledger.run_due(RENEWAL) == 0
    other_process_view = Ledger(ledger.settings, clock=clock, gateway=ledger.gateway)
    assert other_process_view.run_due(RENEWAL) == 0
    other_process_view.close()
    assert event_count(ledger) == before


def test_a_run_killed_half_way_and_restarted_ends_as_an_uninterrupted_run(
    store: str, tmp_path: Path
) -> None:
    # The reference: an uninterrupted run on its own store.
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    assert worker("setup", reference).wait(timeout=120) == 0
    assert worker("run", reference).wait(timeout=120) == 0

    assert worker("setup", store).wait(timeout=120) == 0
    victim = worker("run", store)
    assert victim.stdout is not None
    charged = 0
    for line in victim.stdout:
        charged += line.startswith("charged")
        if charged == ACCOUNTS // 2:
            victim.send_signal(signal.SIGKILL)
            break
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL

    # Killed half-way: half the renewal charges went through the gateway, and their
    # outcomes are not recorded (renewals and their payments are recorded by batch).
    assert len(payments(store)) < 2 * ACCOUNTS

    restart = worker("run", store)
    assert restart.wait(timeout=120) == 0
    assert outcome(store) == outcome(reference)
    paid = payments(store)
    assert len(paid) == len(set(paid)) == 2 * ACCOUNTS


def test_a_due_run_freezes_the_heap_it_found_and_a_failed_run_leaves_its_work_due(
    ledger: Ledger, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The objects alive when a run starts are frozen for the garbage collector while it
    runs (a full collection walked them all again and again), and unfrozen when it ends,
    also when a task fails. The failed run's work is still due for the next run (before,
    the index had let go of it until the process restarted)."""
    at(ledger, clock, "2025-01-15T10:00:00Z")
    account = open_account(ledger)
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok"))
    clock.set(RENEWAL)
    frozen_during: list[int] = []
    run_tasks = ledger.due_work._run_tasks

    def spy(*args: Any, **kwargs: Any) -> None:
        frozen_during.append(gc.get_freeze_count())
        raise RuntimeError("the task failed")

    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(ledger.due_work, "_run_tasks", spy)
    with pytest.raises(RuntimeError):
        ledger.run_due(RENEWAL)
    assert frozen_during and frozen_during[0] > 0
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(ledger.due_work, "_run_tasks", run_tasks)
    assert ledger.run_due(RENEWAL) == 1
    assert gc.get_freeze_count() == 0
