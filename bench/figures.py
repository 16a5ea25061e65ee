"""The ledger's figures, each measured on its own schema of the benchmark database."""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from threading import Barrier
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx2
import psycopg

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from adapters.store_format import FORMAT
from app import Ledger
from bench import baselines
from domain.catalog import Cycle
from domain.commands import AddPaymentMethod, AddSeats, OpenAccount, Owner, RemoveSeats
from domain.invoicing import PaymentMethodKind
from ledger.due_work import DUE_RUN_BATCH
from settings import Settings
from simulation import DEFAULT_START, Simulation

ROOT = Path(__file__).resolve().parent.parent
SEED = 8  # every simulated history in the benchmark comes from this seed
COMMAND_ACCOUNTS = 50
API_REQUESTS = 1000
API_PORT = 8765
API_SECRET = "bench-token"
KILLS = 5
T = TypeVar("T")
EVENTS_PER_RENEWAL = 4  # a renewal writes about this many: period, invoice, number, payment


ONE_MORE = AddSeats(count=1)
ONE_LESS = RemoveSeats(count=1)


def opening(company: str, *, seats: int) -> OpenAccount:
    """A ticket-plan account of a US company, monthly (its owner's address from its name)."""
    local = company.lower().replace(" ", "")
    return OpenAccount(
        owner=Owner(name=f"{company} Owner", email=f"{local}@bench.example"),
        company=company,
        country="US",
        currency="USD",
        plan="ticket",
        cycle=Cycle.MONTHLY,
        seats=seats,
    )


def card(token: str) -> AddPaymentMethod:
    return AddPaymentMethod(kind=PaymentMethodKind.CARD, token=token)


def schema_url(database: str) -> str:
    schema = f"b_{uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{database}?schema={schema}&pool_size=2&max_overflow=30"


@contextmanager
def ledger_on(store: str, clock: SimulatedClock) -> Iterator[Ledger]:
    ledger = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    try:
        yield ledger
    finally:
        ledger.close()


def simulated(store: str, accounts: int, months: int, *, cohort: bool) -> tuple[Ledger, Any]:
    """A ledger holding `seatledger simulate`'s history for this seed and size."""
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    simulation = Simulation(ledger, clock, SEED)
    simulation.run(accounts, months, cohort=cohort)
    return ledger, simulation


def live_accounts(ledger: Ledger) -> list[UUID]:
    return [a for a in ledger.account_ids() if ledger.account(a)["status"] == "active"]


def seat_changes(ledger: Ledger, accounts: list[UUID], count: int) -> float:
    """`count` seat changes, one transaction each, alternately adding and removing a seat
    on each account in turn: commands per second."""
    started = time.perf_counter()
    for n in range(count):
        account = accounts[n % len(accounts)]
        ledger.execute(account, ONE_MORE if (n // len(accounts)) % 2 == 0 else ONE_LESS)
    return count / (time.perf_counter() - started)


def raw_around(database: str, measure: Callable[[], T]) -> tuple[T, float]:
    """`measure()` and the raw one-row loop's rate (the mean of a run just before and one
    just after it): the rate of these shared machines drifts by a fifth between minutes,
    so a write figure is compared with the limit as it was while it ran."""
    before = baselines.raw_inserts(database).per_second
    value = measure()
    after = baselines.raw_inserts(database).per_second
    return value, (before + after) / 2


def commands(database: str, count: int) -> dict[str, Any]:
    store = schema_url(database)
    ledger, _ = simulated(store, COMMAND_ACCOUNTS, 1, cohort=False)
    try:
        accounts = live_accounts(ledger)
        rate, raw = raw_around(database, lambda: seat_changes(ledger, accounts, count))
        return {"commands": count, "per_second": rate, "raw_per_second": raw}
    finally:
        ledger.close()


def month_end(database: str, accounts: int) -> tuple[dict[str, Any], Ledger, Simulation]:
    """A cohort's first renewals, all due at one instant, through `run_due` (the scheduler's
    path); the ledger and simulation stay open for the replay history."""
    store = schema_url(database)
    ledger, simulation = simulated(store, accounts, 1, cohort=True)
    due = ledger.next_due()
    assert due is not None
    simulation.clock.set(max(due, simulation.clock.now()))
    before = _invoice_count(ledger)
    position = _position(ledger)

    def run() -> tuple[int, float]:
        started = time.perf_counter()
        done = ledger.run_due(due)
        return done, time.perf_counter() - started

    (done, seconds), raw = raw_around(database, run)
    renewals = _invoice_count(ledger) - before
    events = _position(ledger) - position
    assert ledger.run_due(due) == 0, "a second run found work the first one did"
    return (
        {
            "accounts": accounts,
            "renewals": renewals,
            "tasks": done,
            "events": events,
            "seconds": seconds,
            "per_second": renewals / seconds,
            "raw_per_second": raw,
        },
        ledger,
        simulation,
    )


def _position(ledger: Ledger) -> int:
    return ledger.store.recorder.max_notification_id() or 0


def library_batched_ceiling(database: str, events_per_renewal: float) -> dict[str, Any]:
    """What the chosen library alone reaches when it saves as many events per renewal as
    the month-end run wrote, a due-work batch per transaction, against the raw loop run
    around it: the most any renewal through that library can reach on this machine."""
    found, raw = raw_around(
        database,
        lambda: _worker("library-batched", database, str(events_per_renewal), str(DUE_RUN_BATCH)),
    )
    return {
        "events_per_renewal": events_per_renewal,
        "per_second": found["per_second"],
        "raw_per_second": raw,
    }


def _invoice_count(ledger: Ledger) -> int:
    return sum(len(ledger.invoices(a)) for a in ledger.account_ids())


def replay_history(ledger: Ledger, simulation: Simulation, events: int) -> int:
    """Lives the cohort on, a month at a time, until the log holds `events`."""
    while _position(ledger) < events:
        simulation.run(0, 1)
    return _position(ledger)


def _worker(*args: str) -> dict[str, Any]:
    """What `python -m bench.worker ARGS` measured in a process of its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.worker", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def _over_the_log(command: str, store: str, upto: int) -> dict[str, Any]:
    """A worker's pass over the log up to `upto`, with its rate in events per second."""
    found = _worker(command, store, str(upto))
    found["per_second"] = found["events"] / found["seconds"]
    return found


def replay(store: str, upto: int) -> dict[str, Any]:
    """Every projection rebuilt from zero, in a process of its own."""
    return _over_the_log("replay", store, upto)


def decode_ceiling(store: str, upto: int) -> dict[str, Any]:
    """The log read and decoded with nothing folded or written, in a process of its own."""
    return _over_the_log("decode", store, upto)


def as_of(database: str, events: int, queries: int) -> dict[str, Any]:
    """An account with `events` events (seat changes a minute apart), asked for its balance
    and invoices as of random past instants."""
    store = schema_url(database)
    clock = SimulatedClock(DEFAULT_START)
    with ledger_on(store, clock) as ledger:
        account = ledger.open_account(opening("Bench", seats=2))
        ledger.execute(account, card("tok_bench"))
        start = clock.now()
        for n in range(events - 2):
            clock.set(start + timedelta(minutes=n + 1))
            ledger.execute(account, ONE_MORE if n % 2 == 0 else ONE_LESS)
        end = clock.now()
        rng = random.Random(SEED)
        timings = []
        for _ in range(queries):
            instant = start + (end - start) * rng.random()
            began = time.perf_counter()
            ledger.balance(account, as_of=instant)
            ledger.invoices(account, as_of=instant)
            timings.append((time.perf_counter() - began) * 1000)
        count = sum(1 for _ in ledger.store.recorder.select_events(account))
    timings.sort()
    return {
        "account_events": count,
        "queries": queries,
        "median_ms": statistics.median(timings),
        "p99_ms": timings[max(0, int(len(timings) * 0.99) - 1)],
    }


def api(store: str, account: UUID) -> dict[str, Any]:
    """Sequential GETs of one account over one keep-alive connection to `seatledger serve`."""
    tokens = json.dumps({"bench": {"secret": API_SECRET, "scopes": ["write"]}})
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--store",
            store,
            "--port",
            str(API_PORT),
            "--no-scheduler",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SEATLEDGER_API_TOKENS": tokens},
    )
    try:
        base = f"http://127.0.0.1:{API_PORT}"
        headers = {"Authorization": f"Bearer {API_SECRET}"}
        with httpx2.Client(base_url=base, headers=headers) as client:
            _wait_until(lambda: client.get(f"/accounts/{account}").status_code == 200)
            timings = []
            for _ in range(API_REQUESTS):
                began = time.perf_counter()
                response = client.get(f"/accounts/{account}")
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    timings.sort()
    return {
        "requests": API_REQUESTS,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[max(0, int(len(timings) * 0.99) - 1)],
    }


def _wait_until(ready: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the API did not answer")


def concurrent_writers(database: str, threads: int, accounts: int, commands: int) -> dict[str, Any]:
    """`threads` writers, `commands` seat additions spread over `accounts` accounts, every
    one of which also converts (a card: an invoice numbered from the one series)."""
    store = schema_url(database)
    clock = SimulatedClock(DEFAULT_START)
    with ledger_on(store, clock) as ledger:
        ids = [ledger.open_account(opening(f"Racer {n}", seats=1)) for n in range(accounts)]
        start = Barrier(threads)

        def write(lane: int) -> int:
            start.wait()
            rng = random.Random(lane)
            done = 0
            for n in range(lane, commands, threads):
                if n < accounts:
                    ledger.execute(ids[n], card(f"tok_{n}"))
                else:
                    ledger.execute(ids[rng.randrange(len(ids))], ONE_MORE)
                done += 1
            return done

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            done = sum(pool.map(write, range(threads)))
        seconds = time.perf_counter() - started
        seats = sum(ledger.account(a)["seats"] for a in ids)
        numbers = sorted(i["number"] for a in ids for i in ledger.invoices(a))
        year = numbers[0][:4]
        expected = [f"{year}-{n:06d}" for n in range(1, len(numbers) + 1)]
        verified = ledger.verify()
    added = done - accounts
    return {
        "threads": threads,
        "accounts": accounts,
        "commands": done,
        "per_second": done / seconds,
        "lost_updates": accounts + added - seats,
        "invoices": len(numbers),
        "number_gaps": len(set(expected) - set(numbers)),
        "duplicate_numbers": len(numbers) - len(set(numbers)),
        "log_verified": verified.ok,
    }


def killed_month_end(database: str, accounts: int) -> dict[str, Any]:
    """The same cohort twice: one month-end run uninterrupted, one killed (SIGKILL) `KILLS`
    times part-way and restarted; afterwards both must hold the same invoices."""
    reference, _ = simulated(schema_url(database), accounts, 1, cohort=True)
    victim, _ = simulated(schema_url(database), accounts, 1, cohort=True)
    due = reference.next_due()
    assert due is not None and victim.next_due() == due
    # Both runs in a worker process: the same code path and the same fresh sandbox gateway
    # (the simulation's own gateway still declines the cards it was told to).
    assert _month_end_process(reference.settings.store, due).wait(timeout=600) == 0
    store = victim.settings.store
    # Each kill lands after about a tenth of the run's events, so five land part-way.
    kill_after = max(10, accounts * EVENTS_PER_RENEWAL // (2 * KILLS))
    kills = 0
    while kills < KILLS:
        before = _position(victim)
        process = _month_end_process(store, due)
        while process.poll() is None:
            if _position(victim) - before >= kill_after:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        process.wait(timeout=120)
        if process.returncode == -signal.SIGKILL:
            kills += 1
        else:
            break  # the run finished before a kill could land
    assert _month_end_process(store, due).wait(timeout=600) == 0
    expected, found = _invoices_by_slug(reference), _invoices_by_slug(victim)
    reference.close()
    victim.close()
    missing = sum(len(set(v) - set(found.get(k, []))) for k, v in expected.items())
    extra = sum(len(set(v) - set(expected.get(k, []))) for k, v in found.items())
    flat = [i for v in found.values() for i in v]
    differing = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    return {
        "accounts": accounts,
        "kills": kills,
        "invoices": len(flat),
        "same_invoices_as_uninterrupted": expected == found,
        "missing": missing,
        "extra": extra,
        "duplicates": len(flat) - len(set(flat)),
        "differing_accounts": {k: [expected.get(k), found.get(k)] for k in differing[:5]},
    }


def _month_end_process(store: str, due: datetime) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.worker", "month-end", store, due.isoformat()],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _invoices_by_slug(ledger: Ledger) -> dict[str, list[tuple[str, str, str]]]:
    fresh = Ledger(ledger.settings, clock=SimulatedClock(ledger.now()))
    try:
        return {
            fresh.account(a)["slug"]: [
                (i["number"], i["total"], i["status"]) for i in fresh.invoices(a)
            ]
            for a in fresh.account_ids()
        }
    finally:
        fresh.close()


# ------------------------------------------------------------------ paged reads (issue 22)

# The store of the read figures is built once (a `seatledger simulate` history of this seed)
# and kept as a `pg_dump` under var/, named by this version: bump it when the simulation,
# the event format or the read index's tables change, so that a stale copy is not reused.
READS_STORE_VERSION = 1
READS_MONTHS = 3
READS_SCHEMA = "bench_reads"
READS_CACHE = ROOT / "var" / "bench"
READ_REQUESTS = 300
READ_WARM_UP = 20
READ_PATHS = {
    "accounts": "/accounts?limit=100",
    "credit_windows": "/credit-windows?limit=2",
}


def reads_store(database: str, accounts: int) -> tuple[str, dict[str, Any]]:
    """A store of `accounts` simulated accounts (READS_MONTHS of history, seed SEED) in the
    schema READS_SCHEMA of `database`, its read index caught up: restored from the cached
    dump when there is one, else simulated and dumped for the next run."""
    store = f"{database}?schema={READS_SCHEMA}&pool_size=2&max_overflow=30"
    name = f"reads-v{READS_STORE_VERSION}-format{FORMAT}-{accounts}-seed{SEED}.dump"
    cache = READS_CACHE / name
    started = time.perf_counter()
    if cache.exists():
        subprocess.run(["pg_restore", "--no-owner", "-d", database, str(cache)], check=True)
        built = False
    else:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{READS_SCHEMA}"')
        ledger, _ = simulated(store, accounts, READS_MONTHS, cohort=False)
        try:
            ledger.accounts(limit=1)  # the read index, caught up: it is kept with the store
        finally:
            ledger.close()
        READS_CACHE.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        subprocess.run(
            ["pg_dump", "-Fc", "-n", READS_SCHEMA, "-f", str(partial), database], check=True
        )
        partial.rename(cache)
        built = True
    seconds = time.perf_counter() - started
    with ledger_on(store, SimulatedClock(DEFAULT_START)) as ledger:
        view = ledger.listings.caught_up()
        found = {
            "accounts": len(ledger.account_ids()),
            "open_pools": len(view.open_pools(0, accounts)),
            "events": _position(ledger),
        }
    return store, {"built": built, "seconds": seconds, "cache": name, **found}


def reads(database: str, accounts: int) -> dict[str, Any]:
    """`/accounts?limit=100` and `/credit-windows?limit=2` on a store of `accounts`
    accounts, through `seatledger serve` over one keep-alive connection: READ_REQUESTS
    sequential GETs of each after READ_WARM_UP, their latencies in milliseconds."""
    store, shape = reads_store(database, accounts)
    tokens = json.dumps({"bench": {"secret": API_SECRET, "scopes": ["write", "finance:read"]}})
    server = subprocess.Popen(
        [
            *[sys.executable, "-m", "cli", "serve", "--store", store],
            *["--port", str(API_PORT), "--no-scheduler"],
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SEATLEDGER_API_TOKENS": tokens},
    )
    found: dict[str, Any] = {"store": shape}
    try:
        base = f"http://127.0.0.1:{API_PORT}"
        headers = {"Authorization": f"Bearer {API_SECRET}"}
        with httpx2.Client(base_url=base, headers=headers, timeout=60) as client:
            _wait_until(lambda: client.get("/accounts?limit=1").status_code == 200)
            for name, path in READ_PATHS.items():
                for _ in range(READ_WARM_UP):
                    client.get(path)
                timings = []
                for _ in range(READ_REQUESTS):
                    began = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, response.text
                page = response.json()
                timings.sort()
                found[name] = {
                    "requests": READ_REQUESTS,
                    "items": len(page["items"]),
                    "more": page["next_cursor"] is not None,
                    "p50_ms": statistics.median(timings),
                    "p99_ms": timings[max(0, int(len(timings) * 0.99) - 1)],
                    "max_ms": timings[-1],
                }
    finally:
        server.terminate()
        server.wait(timeout=30)
    return found
