"""One bad account never stops the others: due work that raises is set aside with its error,
shown to operators, and runs exactly once when they retry it."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from api import create_app
from app import Ledger
from cli import app as cli_app
from domain.account import Account, SeatRole
from domain.commands import AddPaymentMethod, AnnouncePriceChange, CorrectInvoice
from domain.errors import DomainError, ErrorCode
from domain.schedule import TaskKind
from domain.subjects import Subject
from settings import ApiToken, Permission, Settings
from tests.helpers import at, event_count, numbers, open_account, plain

# Far beyond SEATS_MAX: written as a stored fact, as a store of older, looser code might
# hold it; renewing it overflows the 28 digits of the decimal context.
POISON_SEATS = 6_500_000_000_000_000_000_000_000
ADMIN = {"Authorization": "Bearer ops-secret"}
TOKENS = {"ops": ApiToken(secret="ops-secret", scopes=[Permission.ADMIN])}


def poison(ledger: Ledger, account_id: UUID) -> None:
    account = ledger.store.aggregate(account_id)
    assert isinstance(account, Account)
    account.trigger(Account.SeatsAdded, ledger.now(), count=POISON_SEATS, role=SeatRole.AGENT)
    ledger.store.save_checked(account, reads={})


def three_renewing_at_once(ledger: Ledger, clock: SimulatedClock) -> list[UUID]:
    """Three accounts whose first periods start, and so renew, at the same instant; the
    middle one poisoned after its first charge, and a price change to renew at."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    ids = [open_account(ledger, company=f"Co {n}", plan="ticket", seats=2) for n in range(3)]
    for account_id in ids:
        ledger.execute(account_id, AddPaymentMethod(kind="card", token="tok"))
    ledger.announce_price_change(
        AnnouncePriceChange(
            plan="ticket",
            currency="USD",
            cycle="monthly",
            price="16.00 USD",
            effective_on="2025-02-10",
        )
    )
    poison(ledger, ids[1])
    return ids


def test_a_poisoned_account_due_with_healthy_ones_is_set_aside_and_they_are_invoiced(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """Renewals due at one instant for three accounts, the middle one's raising: the other
    two are renewed and charged, in TIME-3's order (INV-1: numbers follow opening order,
    the poisoned one takes none), month after month; the failure waits for an operator."""
    first, bad, last = three_renewing_at_once(ledger, clock)
    at(ledger, clock, "2025-04-10T09:00:00Z")
    assert numbers(ledger, first) == ["2025-000001", "2025-000004", "2025-000006", "2025-000008"]
    assert numbers(ledger, bad) == ["2025-000002"]
    assert numbers(ledger, last) == ["2025-000003", "2025-000005", "2025-000007", "2025-000009"]
    assert [i["status"] for i in plain(ledger.invoices(last))] == ["paid"] * 4
    [failed] = ledger.failed_work()
    assert failed["aggregate"] == str(bad)
    assert (failed["kind"], failed["state"], failed["attempts"]) == ("renewal", "set_aside", 1)
    assert failed["due_at"] == "2025-02-10T09:00:00Z"
    assert failed["error"] == "InvalidOperation"
    assert failed["where"].startswith("domain/")
    before = event_count(ledger)
    assert ledger.run_due(clock.now()) == 0  # set aside: not tried again by itself
    assert event_count(ledger) == before


def test_a_retried_task_that_still_raises_stays_set_aside_and_one_fixed_runs_once(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """An operator retries: while the cause stands the task stays set aside (attempts
    count up); once it is fixed, the retry carries the task out at its own due instant,
    exactly once, and the account's later work follows (README: a late retry's number)."""
    _, bad, _ = three_renewing_at_once(ledger, clock)
    at(ledger, clock, "2025-02-10T09:00:00Z")
    [failed] = ledger.failed_work()
    again = ledger.retry_due_work(failed["key"])
    assert (again["state"], again["attempts"]) == ("set_aside", 2)
    account = ledger.store.aggregate(bad)
    assert isinstance(account, Account)
    account.trigger(Account.SeatsRemoved, ledger.now(), by_role={SeatRole.AGENT: POISON_SEATS})
    ledger.store.save_checked(account, reads={})  # the fix: the stray seats taken away
    done = ledger.retry_due_work(failed["key"])
    assert done == {"key": failed["key"], "aggregate": str(bad), "state": "done"}
    assert [type(e).__name__ for e in ledger.store.events.get(bad)].count("WorkReleased") == 2
    renewed = plain(ledger.invoices(bad))[-1]
    assert (renewed["number"], renewed["issued_at"]) == ("2025-000006", "2025-02-10T09:00:00Z")
    assert renewed["total"] == "32.00 USD" and renewed["status"] == "paid"
    before = event_count(ledger)
    with pytest.raises(DomainError) as refused:
        ledger.retry_due_work(failed["key"])  # done: nothing is set aside under it now
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert event_count(ledger) == before
    at(ledger, clock, "2025-03-10T09:00:00Z")
    assert len(numbers(ledger, bad)) == 3  # March renewed with the others
    assert ledger.failed_work() == []


def test_operators_see_and_retry_set_aside_work_over_the_api_and_the_command_line(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    _, bad, _ = three_renewing_at_once(ledger, clock)
    at(ledger, clock, "2025-02-10T09:00:00Z")
    client = TestClient(create_app(ledger, TOKENS))
    listed = client.get("/due-work/set-aside", headers=ADMIN)
    assert listed.status_code == 200
    [row] = listed.json()["items"]
    assert row["aggregate"] == str(bad)
    retried = client.post("/due-work/retries", json={"key": row["key"]}, headers=ADMIN)
    assert (retried.status_code, retried.json()["attempts"]) == (200, 2)
    unknown = client.post("/due-work/retries", json={"key": "renewal:nothing"}, headers=ADMIN)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "INVALID_INPUT")
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["due", "failed", "--store", ledger.settings.store])
    assert shown.exit_code == 0, shown.output
    assert "InvalidOperation" in shown.stdout and str(bad)[:8] in shown.stdout


def test_a_failure_recording_one_payment_leaves_the_others_charged_and_recorded(
    ledger: Ledger, clock: SimulatedClock, gateway: SandboxGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renewals are recorded, the gateway charges all three, then recording the middle
    one's payment raises: the other two payments are recorded all the same, and what is
    set aside is the middle one's payment (its next task), once. Retried days later, it
    records what the gateway answered then, without charging again."""
    first, bad, last = three_renewing_at_once(ledger, clock)
    account = ledger.store.aggregate(bad)
    assert isinstance(account, Account)
    account.trigger(Account.SeatsRemoved, ledger.now(), by_role={SeatRole.AGENT: POISON_SEATS})
    ledger.store.save_checked(account, reads={})  # renewals are healthy this time
    recorded = Account.record_payment

    def refuses_for_bad(self: Account, **fields: Any) -> None:
        if self.id == bad:
            raise KeyError("a payment this code cannot record")
        recorded(self, **fields)

    monkeypatch.setattr(Account, "record_payment", refuses_for_bad)
    at(ledger, clock, "2025-02-10T09:00:00Z")
    assert [i["status"] for i in plain(ledger.invoices(first))] == ["paid", "paid"]
    assert [i["status"] for i in plain(ledger.invoices(last))] == ["paid", "paid"]
    assert [i["status"] for i in plain(ledger.invoices(bad))] == ["paid", "open"]
    [failed] = ledger.failed_work()
    assert (failed["aggregate"], failed["kind"], failed["error"]) == (
        str(bad),
        "payment",
        "KeyError",
    )
    with pytest.raises(DomainError) as held:  # no command moves money on top of it
        ledger.execute(bad, CorrectInvoice(name="Ada Corrected"))
    assert held.value.code is ErrorCode.WORK_SET_ASIDE
    monkeypatch.undo()
    charged = gateway.charges
    gateway.forget()  # days later: the processor no longer knows the attempt's key
    assert ledger.retry_due_work(failed["key"])["state"] == "done"
    assert [i["status"] for i in plain(ledger.invoices(bad))] == ["paid", "paid"]
    assert len(plain(ledger.payments(bad))) == 2  # the charge recorded once
    assert gateway.charges == charged  # and made once: the answer kept was used


def test_a_task_set_aside_by_one_process_is_left_alone_by_another(
    sqlite_store: str, clock: SimulatedClock
) -> None:
    """Two ledgers on one store (an API and a scheduler): the one that did not set the task
    aside, whose index had it due already, leaves it alone too."""
    first = Ledger(Settings(store=sqlite_store), clock=clock, gateway=SandboxGateway())
    second = Ledger(Settings(store=sqlite_store), clock=clock, gateway=SandboxGateway())
    try:
        _, bad, _ = three_renewing_at_once(first, clock)
        assert second.next_due() is not None  # the second's index holds the renewals
        at(first, clock, "2025-02-10T09:00:00Z")
        assert [row["aggregate"] for row in first.failed_work()] == [str(bad)]
        before = event_count(second)
        second.run_due(clock.now())
        assert event_count(second) == before
        assert second.failed_work()[0]["attempts"] == 1
    finally:
        first.close()
        second.close()


def test_an_account_whose_events_cannot_be_read_is_set_apart_and_the_others_renewed(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """A stored event this code cannot read (an upcaster that went wrong, say) on one
    account: the others renew on time; its renewal, which raises when it comes due (it
    cannot load the account, nor record on it that it was set aside), is kept apart and
    operators see the account as unreadable."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    ids = [open_account(ledger, company=f"Co {n}", plan="ticket", seats=2) for n in range(3)]
    for account_id in ids:
        ledger.execute(account_id, AddPaymentMethod(kind="card", token="tok"))
    first, bad, last = ids
    assert ledger.next_due() is not None  # the scheduler has the renewals in hand
    version = ledger.store.aggregate(bad).version
    unreadable = StoredEvent(
        originator_id=bad,
        originator_version=version + 1,
        topic=get_topic(Account.SeatsAdded),
        state=b'{"count": "many"}',
    )
    ledger.store.recorder.insert_events([unreadable])
    at(ledger, clock, "2025-02-10T09:00:00Z")
    assert numbers(ledger, first) == ["2025-000001", "2025-000004"]
    assert numbers(ledger, last) == ["2025-000003", "2025-000005"]
    [row] = ledger.failed_work()
    assert (row["kind"], row["aggregate"], row["error"]) == (
        "unreadable",
        str(bad),
        "ValidationError",
    )
    reads = TestClient(create_app(ledger, TOKENS), raise_server_exceptions=False)
    trial_balance = reads.get("/ledger", headers=ADMIN)  # folds every event, this one too
    assert trial_balance.status_code == 500
    assert trial_balance.headers["content-type"] == "application/problem+json"
    assert "many" not in trial_balance.text
    log = ledger.store.recorder
    before = log.max_notification_id()  # (an event count decodes every event, this one too)
    assert ledger.run_due(clock.now()) == 0  # its renewal, raising, is not tried again
    assert log.max_notification_id() == before


def test_work_set_aside_as_its_rank_in_time_3_is_read_as_its_own_kind_of_job(
    sqlite_store: str, clock: SimulatedClock
) -> None:
    """WorkSetAside v1 recorded the task's TIME-3 rank (3: renewals and lifetime billing);
    stored so, it is upcast, never rewritten: the kind is read from the task's key."""
    ledger = Ledger(Settings(store=sqlite_store), clock=clock, gateway=SandboxGateway())
    _, bad, _ = three_renewing_at_once(ledger, clock)
    at(ledger, clock, "2025-02-10T09:00:00Z")
    [failed] = ledger.failed_work()
    ledger.close()
    with sqlite3.connect(sqlite_store[len("sqlite:///") :]) as conn:
        [(version, state)] = conn.execute(
            "SELECT originator_version, state FROM stored_events WHERE topic = ?",
            (get_topic(Account.WorkSetAside),),
        ).fetchall()
        v1 = json.loads(state)
        assert (v1.pop("class_version"), v1["set_aside"]["kind"]) == (2, "renewal")
        v1["set_aside"]["kind"] = 3
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (json.dumps(v1).encode(), bad.hex, version),
        )
    reopened = Ledger(Settings(store=sqlite_store), clock=clock, gateway=SandboxGateway())
    try:
        account = reopened.store.aggregate(bad)
        assert isinstance(account, Account) and account.held is not None
        assert account.held.kind is TaskKind.RENEWAL
        assert reopened.failed_work() == [failed]
        again = reopened.retry_due_work(failed["key"])  # still poisoned: its attempts go on
        assert (again["kind"], again["attempts"]) == ("renewal", 2)
    finally:
        reopened.close()


def test_a_subjects_erasure_set_aside_as_its_rank_is_read_as_an_erasure() -> None:
    """Subject.WorkSetAside v1, likewise: rank 6 was the erasures'."""
    subject_id = uuid4()
    v1: dict[str, Any] = {
        "effective_at": "2031-01-01T00:00:00Z",
        "set_aside": {
            "key": f"erasure:{subject_id}:2031-01-01T00:00:00+00:00",
            "kind": 6,
            "due_at": "2031-01-01T00:00:00Z",
            "error": "KeyError",
            "where": "domain/subjects.py:1",
            "at": "2031-01-01T00:00:00Z",
            "attempts": 1,
        },
    }
    Subject.WorkSetAside.upcast_v1_v2(v1)
    event = Subject.WorkSetAside.model_validate(
        {**v1, "originator_id": subject_id, "originator_version": 3}
    )
    assert event.set_aside.kind is TaskKind.ERASURE
    assert event.set_aside.task.key.startswith("erasure:")
