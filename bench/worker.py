"""What the benchmark runs in a process of its own: `python -m bench.worker replay STORE
UPTO` (a rebuild from zero, whose peak memory is then this process's alone), `decode STORE
UPTO` (the log read and decoded with nothing folded: the ceiling of any rebuild),
`library-batched DATABASE EVENTS_PER_UNIT BATCH` (the library's batched saves, away from
the benchmark's own heap) and `month-end STORE UNTIL` (the scheduler's due-work path, to be
killed)."""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import psycopg

from adapters.clock import SimulatedClock
from adapters.store import EventStoreApp
from app import Ledger
from bench import baselines
from projections.due import DueIndex
from projections.finance import FinanceProjection, view_for
from settings import Settings


def replay(store: str, upto: int) -> dict[str, float]:
    """Every projection rebuilt from zero up to log position `upto`: the finance tables
    into a fresh schema of the same database, and the due-work index in memory."""
    base, _, _ = store.partition("?")
    schema = f"replay_{uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    log = EventStoreApp(store, SimulatedClock(datetime.fromisoformat("2100-01-01T00:00Z")))
    finance = FinanceProjection(view_for(f"{base}?schema={schema}"))
    try:
        started = time.perf_counter()
        position = finance.catch_up(log, upto=upto)
        index = DueIndex(log)
        index.catch_up(upto=upto)
        seconds = time.perf_counter() - started
    finally:
        finance.finance.close()
        log.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return {"events": position, "seconds": seconds, "peak_mib": peak_kib() / 1024}


def decode(store: str, upto: int) -> dict[str, float]:
    """The ceiling of every rebuild through the chosen event model: the log up to `upto`
    read a page at a time and each event decoded as the finance fold decodes it (personal
    fields withheld, no chain digest), with nothing folded and nothing written."""
    log = EventStoreApp(store, SimulatedClock(datetime.fromisoformat("2100-01-01T00:00Z")))
    try:
        started = time.perf_counter()
        count = 0
        for notification in log.notifications(upto=upto):
            log.fact(notification)
            count += 1
        seconds = time.perf_counter() - started
    finally:
        log.close()
    return {"events": count, "seconds": seconds}


def library_batched(database: str, events_per_unit: float, batch: int) -> dict[str, float]:
    """`baselines.library_batched_writes` in a fresh process: the benchmark's own process
    holds the month-end cohort, whose heap the collector would walk on the library's time."""
    rate = baselines.library_batched_writes(database, events_per_unit, batch)
    return {"units": rate.count, "per_second": rate.per_second}


def peak_kib() -> int:
    """This process's own peak resident memory. Linux's `getrusage` carries the peak of the
    process that forked this one across `exec` (a worker started by the benchmark, which
    holds a 20,000-account cache, reported the benchmark's 1,363 MiB); `VmHWM` is the peak
    of this program's memory alone."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def month_end(store: str, until: str) -> None:
    """The scheduler's due-work path up to `until`, in a process a benchmark may kill."""
    at = datetime.fromisoformat(until)
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(at))
    try:
        ledger.run_due(at)
        print("done", flush=True)
    finally:
        ledger.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "replay":
        print(json.dumps(replay(args[0], int(args[1]))))
    elif command == "decode":
        print(json.dumps(decode(args[0], int(args[1]))))
    elif command == "library-batched":
        print(json.dumps(library_batched(args[0], float(args[1]), int(args[2]))))
    else:
        month_end(args[0], args[1])
