"""A separate process for the read side's crash tests:

- `python -m tests.read_worker follow STORE` keeps the read index up with the log, one
  notification per transaction, until it is killed;
- `python -m tests.read_worker setup STORE N` opens N ticket-plan accounts (monthly, USD)
  and two that a ticket/USD/monthly price change does not affect;
- `python -m tests.read_worker announce STORE BATCHES` announces a price change for them,
  two accounts per batch, printing `batch N` after each batch is recorded; after BATCHES
  batches it prints `stopped` and waits to be killed.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from adapters.clock import SimulatedClock
from adapters.store import EventStoreApp
from app import Ledger
from domain.commands import AnnouncePriceChange
from projections.read_index import ReadIndex, index_view_for
from settings import Settings
from tests.helpers import opening

START = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
ANNOUNCED = datetime(2025, 1, 20, 10, 0, tzinfo=UTC)
KEY = "price-change-2025-03"
CHANGE = AnnouncePriceChange.parse(
    {
        "plan": "ticket",
        "currency": "USD",
        "cycle": "monthly",
        "price": "20.00 USD",
        "effective_on": "2025-03-01",
    }
)
BATCH = 2


def follow(store_url: str) -> None:
    store = EventStoreApp(store_url, SimulatedClock(START))
    index = ReadIndex(index_view_for(store_url))
    while True:
        index.catch_up(store, page_size=1, chunk=1)
        threading.Event().wait(0.05)


def setup(store_url: str, count: int) -> None:
    ledger = Ledger(Settings(store=store_url), clock=SimulatedClock(START))
    try:
        for n in range(count):
            ledger.open_account(
                opening(company=f"Ticket {n}", plan="ticket", owner_email=f"t{n}@notice.example")
            )
        ledger.open_account(opening(company="Chat", plan="ticket-chat"))
        ledger.open_account(opening(company="Annual", plan="ticket", cycle="annual"))
    finally:
        ledger.close()


def announce(store_url: str, batches: int) -> None:
    ledger = Ledger(Settings(store=store_url), clock=SimulatedClock(ANNOUNCED))
    ledger.price_notices.batch = BATCH
    done = 0

    def recorded(count: int) -> None:
        nonlocal done
        done += 1
        print(f"batch {done}: {count}", flush=True)
        if done == batches:
            print("stopped", flush=True)
            threading.Event().wait()  # until killed

    ledger.price_notices.announce(CHANGE, idempotency_key=KEY, on_batch=recorded)
    print("done", flush=True)
    ledger.close()


if __name__ == "__main__":
    action, store_url, *rest = sys.argv[1:]
    if action == "follow":
        follow(store_url)
    elif action == "setup":
        setup(store_url, int(rest[0]))
    else:
        announce(store_url, int(rest[0]))
