"""What the benchmark runs in a process of its own: `python -m bench.worker replay STORE
UPTO` (a rebuild from zero, whose peak memory is then this process's alone) and
`python -m bench.worker month-end STORE` (the scheduler's due-work path, to be killed)."""

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
    if sys.argv[1] == "replay":
        print(json.dumps(replay(sys.argv[2], int(sys.argv[3]))))
    else:
        month_end(sys.argv[2], sys.argv[3])
