"""Small helpers that make tests read as stories."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import GiveConsent, OpenAccount
from domain.money import Money
from tests.ledgers import utc

T = TypeVar("T")

# What a test renders for a person to look at (pages, PDFs, charts) is kept here.
ARTEFACTS = Path(__file__).resolve().parent.parent / "var" / "artefacts"


def at(ledger: Ledger, clock: SimulatedClock, instant: str) -> datetime:
    """Moves time to `instant`, running every piece of work due on the way at its own
    instant, the way the scheduler does."""
    target = utc(instant)
    while (due := ledger.next_due()) is not None and due <= target:
        clock.set(max(due, clock.now()))
        ledger.run_due(due)
    clock.set(target)
    return target


def opening(**overrides: Any) -> OpenAccount:
    """OpenAccount for a US company on all-inclusive, monthly, three seats; `owner_name`
    and `owner_email` stand for the owner's fields. Checked as the API checks a body."""
    owner = {
        "name": overrides.pop("owner_name", "Ada Lovelace"),
        "email": overrides.pop("owner_email", "ada@acme.example"),
    }
    args: dict[str, Any] = {
        "owner": owner,
        "company": "ACME, Inc.",
        "country": "US",
        "currency": "USD",
        "plan": "all-inclusive",
        "cycle": "monthly",
        "seats": 3,
    }
    args.update(overrides)
    return OpenAccount.parse(args)


def open_account(
    ledger: Ledger,
    *,
    actor: str | None = None,
    idempotency_key: str | None = None,
    **overrides: Any,
) -> UUID:
    command = opening(**overrides)
    return ledger.open_account(command, actor=actor, idempotency_key=idempotency_key)


def consent(
    ledger: Ledger,
    purposes: list[str],
    *,
    email: str | None = None,
    name: str | None = None,
    account: UUID | None = None,
    subject: UUID | None = None,
) -> UUID:
    """GDPR-1: a consent, by the subject `subject`, else the one `email` names or a new one."""
    command = GiveConsent.parse(
        {"purposes": purposes, "email": email, "name": name, "account": account}
    )
    return ledger.give_consent(command, subject)


def totals(ledger: Ledger, account_id: UUID) -> list[str]:
    return [i["total"] for i in plain(ledger.invoices(account_id))]


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


def plain(view: Any) -> Any:
    """A query's answer with its money written as the stories write it ("30.00 USD"), so
    a test reads like the rule it checks; the API's shape is {amount, currency}."""
    text = Money.text_of(view)
    if text is not None:
        return text
    if isinstance(view, dict):
        return {key: plain(value) for key, value in view.items()}
    if isinstance(view, list):
        return [plain(item) for item in view]
    return view
