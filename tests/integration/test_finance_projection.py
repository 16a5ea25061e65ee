"""The finance projection: balanced postings over random histories, identical tables from a
rebuild, racing followers that record each event once, and a `seatledger project` process
killed (SIGKILL) mid-run and restarted that ends with exactly the tables of a clean
rebuild."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.accounting import Entries, Posting, Schedule
from projections.finance import APPLICATION, FinanceProjection, FinanceView, view_for
from projections.reports import Month, balances
from settings import Settings
from simulation import DEFAULT_START, simulate
from tests.helpers import eventually

REPO = Path(__file__).resolve().parents[2]


def simulated(store: str, accounts: int, months: int, seed: int) -> Ledger:
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    simulate(ledger, clock, accounts=accounts, months=months, seed=seed)
    return ledger


def rebuilt(ledger: Ledger) -> dict[str, list[tuple[str, ...]]]:
    """The tables folded from zero into a fresh (in-memory) view."""
    projection = FinanceProjection(view_for("memory://"))
    projection.catch_up(ledger.store)
    return projection.finance.dump()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    accounts=st.integers(min_value=1, max_value=8),
    months=st.integers(min_value=1, max_value=8),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_postings_sum_to_zero_per_currency_over_random_histories(
    accounts: int, months: int, seed: int
) -> None:
    ledger = simulated("memory://", accounts, months, seed)
    try:
        facts = ledger.facts()
        month = Month.of(DEFAULT_START.date())
        for _ in range(months + 1):
            for currency, totals in balances(facts, month.end, month.cutoff).items():
                assert sum(totals.values(), Decimal(0)) == 0, (currency, str(month), totals)
            revenue = ledger.report("revenue", str(month))
            assert all(r["reconciles"] for r in revenue.summary.values()), revenue.summary
            month = month.next
    finally:
        ledger.close()


@given(
    cents=st.integers(min_value=-(10**7), max_value=10**7),
    start=st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(min_value=0, max_value=800),
    issued_after=st.integers(min_value=0, max_value=900),
)
def test_recognition_by_month_adds_up_to_the_whole_line(
    cents: int, start: date, days: int, issued_after: int
) -> None:
    schedule = Schedule(
        document="2025-000001",
        line=0,
        account_id=uuid4(),
        currency="EUR",
        revenue_account="revenue:ticket",
        amount=Decimal(cents) / 100,
        start=start,
        end=start + timedelta(days=days),
        issued_on=start + timedelta(days=issued_after),
        rule="BILL-2",
    )
    month, months = Month.of(start), []
    last = Month.of(max(schedule.end, schedule.issued_on))
    while (month.year, month.month) <= (last.year, last.month):
        months.append(
            schedule.recognised_before(month.end) - schedule.recognised_before(month.first)
        )
        month = month.next
    assert sum(months, Decimal(0)) == schedule.amount
    assert schedule.recognised_before(start) == 0


def test_a_rebuild_from_zero_gives_identical_tables(store: str) -> None:
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())

    def follow(day: int) -> None:
        if day % 9 == 0:
            ledger.catch_up_finance()

    try:
        # the live view follows the log in many small steps, as queries come
        simulate(
            ledger,
            clock,
            accounts=12,
            months=6,
            seed=3,
            on_day=lambda day, _: follow(day),
        )
        ledger.catch_up_finance()
        live = ledger.finance.finance.dump()
        assert live["fin_postings"] and live["fin_mrr"] and live["fin_schedules"]
        assert live == rebuilt(ledger)
        assert rebuilt(ledger) == rebuilt(ledger)
    finally:
        ledger.close()


def test_racing_followers_record_every_event_once(store: str) -> None:
    ledger = simulated(store, accounts=10, months=4, seed=5)
    followers = [FinanceProjection(view_for(store)) for _ in range(4)]
    try:
        barrier = threading.Barrier(len(followers))
        errors: list[BaseException] = []

        def follow(projection: FinanceProjection) -> None:
            try:
                barrier.wait()
                projection.catch_up(ledger.store)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=follow, args=(p,)) for p in followers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert followers[0].finance.dump() == rebuilt(ledger)
    finally:
        for projection in followers:
            projection.finance.close()
        ledger.close()


def reached(view: FinanceView, position: int) -> bool:
    return (view.max_tracking_id(APPLICATION) or 0) >= position


def projector(store: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        # one event per transaction (as the PostgreSQL runner does), so that a kill can land
        # between any two events and overshoots the poll by tens of events, not hundreds
        [sys.executable, "-m", "cli", "project", "--store", store, "--page-size", "1"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_projection_process_killed_and_restarted_neither_loses_nor_repeats(
    store: str,
) -> None:
    ledger = simulated(store, accounts=40, months=9, seed=11)
    view = view_for(store)
    try:
        end = ledger.store.recorder.max_notification_id() or 0
        assert end > 1000
        kills = []
        for fraction in (0.1, 0.3, 0.5, 0.7):
            process = projector(store)
            eventually(partial(reached, view, int(end * fraction)), 120)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills.append(view.max_tracking_id(APPLICATION) or 0)
        assert all(position < end for position in kills), f"a kill came too late: {kills}"
        assert kills == sorted(kills)
        process = projector(store)
        try:
            eventually(lambda: view.max_tracking_id(APPLICATION) == end, 120)
        finally:
            process.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.SIGINT)
            process.wait(timeout=30)
        assert view.dump() == rebuilt(ledger)
    finally:
        view.close()
        ledger.close()


def test_the_ledger_query_is_balanced_for_every_public_scenario() -> None:
    from scenario import run_file, scenario_files

    files = scenario_files([REPO.parent / "shared" / "scenarios"])
    assert files
    seen = []

    def check(ledger: Ledger) -> None:
        view = ledger.ledger()
        assert view["balanced"] is True, view
        month = Month.of(ledger.now().date())
        revenue = ledger.report("revenue", str(month))
        assert all(r["reconciles"] for r in revenue.summary.values())
        seen.append(view)

    for path in files:
        assert run_file(path, inspect=check).passed, path
    assert len(seen) == len(files)


def test_simulate_command_writes_a_reproducible_history(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        store = ["--store", f"sqlite:///{tmp_path / run / 'ledger.db'}"]
        cli = [sys.executable, "-m", "cli"]
        sizes = ["--accounts", "6", "--months", "7", "--seed", "1"]
        subprocess.run(
            [*cli, "simulate", *store, *sizes], cwd=REPO, check=True, capture_output=True
        )
        outputs.append(
            [
                subprocess.run(
                    [*cli, "report", name, "--month", month, "--format", "csv", *store],
                    cwd=REPO,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                for name, month in (("invoices", "2019-09"), ("trial_balance", "2019-12"))
            ]
        )
    assert outputs[0] == outputs[1]
    assert all(text.count("\n") > 2 for text in outputs[0]), outputs[0]


def test_entries_with_one_leg_missing_are_not_balanced() -> None:
    """Double entry is asserted where the postings are made (Books.apply): this is the
    check it asserts, shown to tell a one-legged entry from a balanced one."""
    account, at = uuid4(), DEFAULT_START
    debit = Posting(account, at, "EUR", "receivable", Decimal("12.30"), "INV-1")
    credit = Posting(account, at, "EUR", "revenue", Decimal("-12.30"), "INV-1")
    other = Posting(account, at, "USD", "revenue", Decimal("-12.30"), "INV-1")
    entries = Entries.none()
    entries.postings += [debit, credit]
    assert entries.balanced()
    entries.postings.append(other)
    assert not entries.balanced()
