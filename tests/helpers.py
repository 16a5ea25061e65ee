"""Small helpers that make tests read as stories."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from adapters.clock import SimulatedClock
from app import Ledger
from tests.conftest import utc

T = TypeVar("T")


def at(ledger: Ledger, clock: SimulatedClock, instant: str) -> datetime:
    """Moves time to `instant`, running every piece of work due on the way at its own
    instant, the way the scheduler does."""
    target = utc(instant)
    while (due := ledger.next_due()) is not None and due <= target:
        clock.set(max(due, clock.now()))
        ledger.run_due(due)
    clock.set(target)
    return target


def open_account(ledger: Ledger, **overrides: Any) -> UUID:
    args: dict[str, Any] = {
        "owner_name": "Ada Lovelace",
        "owner_email": "ada@acme.example",
        "company": "ACME, Inc.",
        "country": "US",
        "currency": "USD",
        "plan": "all-inclusive",
        "cycle": "monthly",
        "seats": 3,
    }
    args.update(overrides)
    return ledger.open_account(**args)


def totals(ledger: Ledger, account_id: UUID) -> list[str]:
    return [i["total"] for i in ledger.invoices(account_id)]


def numbers(ledger: Ledger, account_id: UUID) -> list[str]:
    return [i["number"] for i in ledger.invoices(account_id)]


def kinds(ledger: Ledger, account_id: UUID) -> list[str]:
    return [n["kind"] for n in ledger.notifications(account_id)]


def event_count(ledger: Ledger) -> int:
    return sum(1 for _ in ledger.events())


def eventually(check: Callable[[], T], timeout: float = 30.0) -> T:
    """Polls `check` until it answers something truthy (which it returns), for work another
    thread or process is doing."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def pg_schema(store: str) -> tuple[str, str]:
    """A PostgreSQL store URL's database URL and schema."""
    database, _, query = store.partition("?")
    return database, query.split("schema=")[1].split("&")[0]
