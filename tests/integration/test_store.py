"""The store's write checks what a command only read: a stale read is refused like a
version clash, records nothing, and the command is retried from the store."""

from __future__ import annotations

import copy
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Barrier
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg.sql import SQL, Identifier
from pydantic import BaseModel
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from adapters.recorders import CheckedPostgresRecorder, Reads
from adapters.store_format import TABLE as FORMAT_TABLE
from adapters.store_format import StoreFormatError
from app import Ledger
from cli import app as cli_app
from domain.account import Account
from domain.commands import AddPaymentMethod, AddSeats, AnnouncePriceChange
from domain.model import Aggregate
from domain.pricing import PriceBook
from settings import Settings
from tests.helpers import event_count, open_account, pg_schema

AT = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_store")
    return url


def test_a_write_whose_read_went_stale_is_refused_and_records_nothing(any_store: str) -> None:
    ledger = Ledger(Settings(store=any_store), clock=SimulatedClock(AT))
    try:
        account_id = open_account(ledger)
        book = ledger.store.aggregate(PriceBook.ID)
        read_at = book.version
        ledger.announce_price_change(
            AnnouncePriceChange(
                plan="ticket",
                currency="USD",
                cycle="monthly",
                price="30.00 USD",
                effective_on="2025-03-01",
            )
        )
        assert ledger.store.aggregate(PriceBook.ID).version == read_at + 1
        account = ledger.store.aggregate(account_id)
        assert isinstance(account, Account)
        account.record_activity(AT)
        before = event_count(ledger)
        with pytest.raises(IntegrityError):
            ledger.store.save_checked(account, reads={PriceBook.ID: read_at})
        assert event_count(ledger) == before
        again = ledger.store.aggregate(account_id)
        assert isinstance(again, Account)
        again.record_activity(AT)
        ledger.store.save_checked(again, reads={PriceBook.ID: read_at + 1})
        assert event_count(ledger) == before + 1
    finally:
        ledger.close()


def test_a_command_on_a_stale_cache_is_retried_from_the_store(store: str) -> None:
    """Two ledgers on one store (two processes): the first's cached account is stale after
    the second's write; its next command clashes, reloads and keeps both changes."""
    first = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    second = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    try:
        account_id = open_account(first, seats=3)
        first.execute(account_id, AddSeats(count=1))  # the first ledger's cache now holds 4 seats
        second.execute(account_id, AddSeats(count=2))
        first.execute(account_id, AddSeats(count=1))
        assert first.account(account_id)["seats"] == 7
        assert second.account(account_id)["seats"] == 7
    finally:
        first.close()
        second.close()


def test_a_copy_of_an_aggregate_shares_only_what_cannot_change() -> None:
    ledger = Ledger(Settings(store="memory://"), clock=SimulatedClock(AT))
    try:
        account = ledger.store.aggregate(open_account(ledger))
        assert isinstance(account, Account)
        twin = copy.deepcopy(account)
        assert twin.seat_history == account.seat_history
        assert twin.seat_history is not account.seat_history
        assert twin.seat_history[0] is account.seat_history[0]  # a frozen value
        twin.record_activity(AT)
        assert twin.has_pending and not account.has_pending
        assert twin.version == account.version + 1
    finally:
        ledger.close()


def _mutables(value: object, found: dict[int, object]) -> dict[int, object]:
    """Every mutable object reachable from `value` (lists, dicts, sets, models that are
    not frozen), by identity. A frozen model is a value, shared by design: not entered."""
    if isinstance(value, BaseModel) and value.model_config.get("frozen"):
        return found
    if isinstance(value, list | dict | set | BaseModel):
        if id(value) in found:
            return found
        found[id(value)] = value
    if isinstance(value, dict):
        for item in value.values():
            _mutables(item, found)
    elif isinstance(value, list | set | tuple):
        for item in value:
            _mutables(item, found)
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            _mutables(item, found)
    return found


def test_a_copy_of_an_aggregate_reaches_no_mutable_object_of_its_original() -> None:
    """Whatever a command changes on its copy cannot reach the cached original: no list,
    dict, set or unfrozen model is reachable from both (a copy skips a field only when
    its annotation admits nothing mutable)."""
    ledger = Ledger(Settings(store="memory://"), clock=SimulatedClock(AT))
    try:
        account_id = open_account(ledger)
        ledger.execute(account_id, AddSeats(count=2))
        ledger.execute(account_id, AddPaymentMethod(kind="card", token="tok_visa"))
        account = ledger.store.aggregate(account_id)
        twin = copy.deepcopy(account)
        original = _mutables(account, {})
        shared = [v for k, v in _mutables(twin, {}).items() if k in original]
        assert shared == []
        assert len(original) > 3  # the walk found the account's lists and records
    finally:
        ledger.close()


def test_the_due_index_folds_without_personal_data_and_finds_the_same_work(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that did not write an account (cold cache) folds it for the due index with
    personal fields withheld: no key is looked up, and the task it finds is the one the
    whole account gives."""
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    try:
        account_id = open_account(ledger)
        whole = ledger.store.aggregate(account_id)
        assert isinstance(whole, Account) and whole.owner is not None
    finally:
        ledger.close()
    cold = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    try:

        def no_keys(*args: object, **kwargs: object) -> None:
            raise AssertionError("the due index looked up a key")

        monkeypatch.setattr(cold.store.keys, "secret", no_keys)
        monkeypatch.setattr(cold.store.keys, "current", no_keys)
        folded = cold.store.folded_facts([account_id])[account_id]
        assert isinstance(folded, Account) and folded.version == whole.version
        assert folded.owner is None  # sealed: withheld, as after erasure
        cold.due_work.index.catch_up()
        assert cold.due_work.index.peek() == whole.next_task().due_at  # type: ignore[union-attr]
    finally:
        cold.close()


@pytest.mark.postgres
def test_processes_starting_together_on_one_schema_all_start(pg_store: str) -> None:
    """An API, a scheduler and a projection starting at once on a new schema each create its
    tables, types and functions: racing threads (each a ledger with its own connections, as
    a process has) all start, and the store works afterwards."""
    starters = 8
    start = Barrier(starters)

    def open_ledger(_: int) -> None:
        start.wait()
        Ledger(Settings(store=pg_store), clock=SimulatedClock(AT)).close()

    with ThreadPoolExecutor(starters) as pool:
        list(pool.map(open_ledger, range(starters)))
    ledger = Ledger(Settings(store=pg_store), clock=SimulatedClock(AT))
    try:
        open_account(ledger)
        assert event_count(ledger) > 0
    finally:
        ledger.close()


def test_a_write_is_refused_when_any_one_of_its_reads_went_stale(any_store: str) -> None:
    ledger = Ledger(Settings(store=any_store), clock=SimulatedClock(AT))
    try:
        ids = [open_account(ledger, company=f"Co {n}") for n in range(3)]
        read = {i: ledger.store.aggregate(i).version for i in ids}
        ledger.execute(ids[2], AddSeats(count=1))  # the last of the three moves on

        def active() -> Account:
            writer = ledger.store.aggregate(ids[0])
            assert isinstance(writer, Account)
            writer.record_activity(AT)
            return writer

        before = event_count(ledger)
        with pytest.raises(IntegrityError):
            ledger.store.save_checked(active(), reads={i: read[i] for i in ids[1:]})
        assert event_count(ledger) == before
        current = {ids[1]: read[ids[1]], ids[2]: read[ids[2]] + 1}
        ledger.store.save_checked(active(), reads=current)
        assert event_count(ledger) == before + 1
    finally:
        ledger.close()


@pytest.mark.postgres
def test_the_write_functions_read_check_never_scans_the_log(pg_store: str) -> None:
    """The write function keeps its statements' plans (it is called on every command): the
    check of what a command read must be a look-up by key whatever plan PostgreSQL settles
    on, including a generic one made while the log was small (a join against the list of
    reads was a sequential scan then, and would have stayed one)."""
    ledger = Ledger(Settings(store=pg_store), clock=SimulatedClock(AT))
    try:
        account_id = open_account(ledger)
        version = ledger.store.aggregate(account_id).version
        recorder = ledger.store.recorder
        assert isinstance(recorder, CheckedPostgresRecorder)
        kwargs = recorder.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        holder = uuid4()

        def write(n: int) -> None:
            event = StoredEvent(originator_id=holder, originator_version=n, topic="p", state=b"")
            arguments = recorder.arguments([event], {account_id: version})
            conn.execute(recorder.invoke, arguments, prepare=True)

        with psycopg.connect(**kwargs, autocommit=True) as conn:
            # The plan PostgreSQL may settle on after five calls, made now on a small log.
            conn.execute(
                SQL("ALTER FUNCTION {}.{} SET plan_cache_mode = force_generic_plan").format(
                    Identifier(recorder.datastore.schema), Identifier(recorder.FUNCTION)
                )
            )
            with conn.transaction(force_rollback=True):
                write(1)
                scans = conn.execute(
                    "SELECT seq_scan FROM pg_stat_xact_user_tables "
                    "WHERE schemaname = %s AND relname = %s",
                    (recorder.datastore.schema, recorder.events_table_name),
                ).fetchone()
        assert scans is not None and scans["seq_scan"] == 0
    finally:
        ledger.close()


def test_a_command_reads_the_price_book_in_place_and_still_checks_it(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands read the cached price book without copying it; a price change by another
    process since is caught at the write, and the command is retried from the store."""
    first = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    second = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    try:
        account_id = open_account(first, seats=3)
        held = first.store.in_cache(PriceBook.ID)
        assert held is not None
        read = held.version
        first.execute(account_id, AddSeats(count=1))
        assert first.store.in_cache(PriceBook.ID) is held  # read, not replaced by a copy
        second.announce_price_change(
            AnnouncePriceChange(
                plan="all-inclusive",
                currency="USD",
                cycle="monthly",
                price="99.00 USD",
                effective_on="2025-06-01",
            )
        )
        outcomes: list[str] = []
        save = first.store.save_checked

        def observed(*aggregates: Aggregate, reads: Reads) -> None:
            try:
                save(*aggregates, reads=reads)
            except IntegrityError:
                outcomes.append(f"refused, price book read at {reads[PriceBook.ID]}")
                raise
            outcomes.append(f"saved, price book read at {reads[PriceBook.ID]}")

        monkeypatch.setattr(first.store, "save_checked", observed)
        first.execute(
            account_id, AddSeats(count=1)
        )  # its cached book is stale: clash, then a fresh read
        assert outcomes == [
            f"refused, price book read at {read}",
            f"saved, price book read at {read + 1}",
        ]
        assert first.account(account_id)["seats"] == 5
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_a_batch_of_aggregates_is_read_by_key_not_by_scanning_the_log(pg_store: str) -> None:
    """With no table statistics (autovacuum may be off), reading many aggregates at once
    must still look each one up by key: the batched read of the due index and of due work."""
    ledger = Ledger(Settings(store=pg_store), clock=SimulatedClock(AT))
    try:
        ids = [open_account(ledger, company=f"Co {n}") for n in range(3)]
        recorder = ledger.store.recorder
        assert isinstance(recorder, CheckedPostgresRecorder)
        kwargs = recorder.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        with (
            psycopg.connect(**kwargs, autocommit=True) as conn,
            conn.transaction(force_rollback=True),
        ):
            found = conn.execute(recorder.select_many, (ids,)).fetchall()
            scans = conn.execute(
                "SELECT seq_scan FROM pg_stat_xact_user_tables "
                "WHERE schemaname = %s AND relname = %s",
                (recorder.datastore.schema, recorder.events_table_name),
            ).fetchone()
        assert [row["originator_id"] for row in found][:1] == ids[:1]
        assert {row["originator_id"] for row in found} == set(ids)
        assert scans is not None and scans["seq_scan"] == 0
    finally:
        ledger.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_store_written_in_format_1_is_refused_at_start_with_its_version(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """A store of the format that named subjects by their e-mail (format 1) is refused with
    a message naming its format; a store of this format opens again."""
    store: str = request.getfixturevalue("sqlite_store" if kind == "sqlite" else "pg_store")
    ledger = Ledger(Settings(store=store), clock=SimulatedClock(AT))
    open_account(ledger)
    ledger.close()
    Ledger(Settings(store=store), clock=SimulatedClock(AT)).close()  # its own format: opens
    if kind == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            conn.execute(f"DROP TABLE {FORMAT_TABLE}")  # as a store written before formats
    else:
        database, schema = pg_schema(store)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(SQL("DROP TABLE {}").format(Identifier(schema, FORMAT_TABLE)))
    with pytest.raises(StoreFormatError, match=r"format 1;.*reads format 2"):
        Ledger(Settings(store=store), clock=SimulatedClock(AT))
    refused = CliRunner().invoke(cli_app, ["mail", "outbox", "--store", store])
    assert refused.exit_code == 2
    assert "holds events of format 1" in refused.stderr
