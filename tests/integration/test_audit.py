"""The tamper-evident log (domain.integrity): one changed byte in one stored event, edited
straight in SQLite or PostgreSQL, is named by `verify`; an untouched store, and a store after
an erasure, verify."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from uuid import UUID

import psycopg
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from app import Ledger
from cli import app as cli_app
from domain.commands import AddPaymentMethod, AddSeats, RemoveSeats, RequestErasure
from domain.integrity import LogSeal
from settings import Settings
from tests.helpers import at, consent, open_account, pg_schema

EFFECTIVE = b'"effective_at":"'


def stored_state(store: str, aggregate: UUID, version: int) -> bytes:
    if urlparse(store).scheme == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            row = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id = ? "
                "AND originator_version = ?",
                (aggregate.hex, version),
            ).fetchone()
        return bytes(row[0])
    database, schema = pg_schema(store)
    with psycopg.connect(database) as conn:
        found = conn.execute(
            f'SELECT state FROM "{schema}".seatledger_events WHERE originator_id = %s '
            "AND originator_version = %s",
            (aggregate, version),
        ).fetchone()
    assert found is not None
    return bytes(found[0])


def write_state(store: str, aggregate: UUID, version: int, state: bytes) -> None:
    if urlparse(store).scheme == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            changed = conn.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = ?",
                (state, aggregate.hex, version),
            ).rowcount
    else:
        database, schema = pg_schema(store)
        with psycopg.connect(database) as conn:
            changed = conn.execute(
                f'UPDATE "{schema}".seatledger_events SET state = %s WHERE originator_id = %s '
                "AND originator_version = %s",
                (state, aggregate, version),
            ).rowcount
    assert changed == 1


def change_one_byte(store: str, aggregate: UUID, version: int) -> None:
    """The first digit of the event's effective time, one higher: still valid JSON."""
    state = bytearray(stored_state(store, aggregate, version))
    index = state.index(EFFECTIVE) + len(EFFECTIVE) + 3  # the year's last digit
    state[index] = ord("0") + (state[index] - ord("0") + 1) % 10
    write_state(store, aggregate, version, bytes(state))


def history(ledger: Ledger, clock: SimulatedClock) -> UUID:
    """An account with a few months of events, sealed once in the middle."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    account = open_account(ledger, seats=2)
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_ok"))
    at(ledger, clock, "2025-02-15T00:00:00Z")
    ledger.execute(account, AddSeats(count=1))
    assert ledger.checkpoint() is not None
    at(ledger, clock, "2025-04-01T00:00:00Z")
    ledger.execute(account, RemoveSeats(count=1))
    return account


def test_an_untouched_store_verifies(ledger: Ledger, clock: SimulatedClock) -> None:
    history(ledger, clock)
    sealed = ledger.checkpoint()
    assert sealed is not None and len(sealed["root"]) == 64
    result = ledger.verify()
    assert result.ok, result.summary()
    assert result.checkpoints == 2
    assert result.events > 20
    assert result.unsealed == 0


def test_two_processes_writing_one_account_keep_one_chain(
    store: str, clock: SimulatedClock
) -> None:
    """Each ledger has its own cache of chain heads; a write after the other one's reads
    the predecessor's digest back from the store."""
    first, second = (Ledger(Settings(store=store), clock=clock) for _ in range(2))
    try:
        account = history(first, clock)
        for turn in range(6):
            (first if turn % 2 else second).execute(account, AddSeats(count=1))
        assert second.account(account)["seats"] == 2 + 6
        result = first.verify()
        assert result.ok, result.summary()
    finally:
        first.close()
        second.close()


def test_a_checkpoint_with_nothing_new_records_nothing(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    history(mem_ledger, clock)
    assert mem_ledger.checkpoint() is not None
    position = mem_ledger.store.recorder.max_notification_id()
    assert mem_ledger.checkpoint() is None
    assert mem_ledger.store.recorder.max_notification_id() == position


def test_the_scheduler_seals_at_most_once_per_interval(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    account = history(mem_ledger, clock)
    every = timedelta(hours=1)
    first = mem_ledger.checkpoint(every=every)  # the last one was in February
    assert first is not None
    clock.set(clock.now() + timedelta(minutes=10))
    mem_ledger.execute(account, AddSeats(count=1))
    assert mem_ledger.checkpoint(every=every) is None
    clock.set(clock.now() + timedelta(minutes=50))
    second = mem_ledger.checkpoint(every=every)
    assert second is not None and second["position"] > first["position"]


def test_one_changed_byte_in_a_middle_event_is_named(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    account = history(ledger, clock)
    ledger.checkpoint()
    change_one_byte(store, account, 3)
    result = ledger.verify()
    assert not result.ok
    first = result.first
    assert first is not None
    assert (first.aggregate, first.version) == (str(account), 3)
    assert "v4 recorded" in first.problem
    # every finding is about that one event
    assert {(f.aggregate, f.version) for f in result.findings} == {(str(account), 3)}


def test_one_changed_byte_in_a_sealed_head_is_named(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    account = history(ledger, clock)
    ledger.checkpoint()
    head = ledger.load(account).version
    change_one_byte(store, account, head)
    result = ledger.verify()
    assert result.first is not None
    assert (result.first.aggregate, result.first.version) == (str(account), head)
    assert "sealed" in result.first.problem


def test_a_deleted_event_is_named_as_missing(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    account = history(ledger, clock)
    if urlparse(store).scheme == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            conn.execute(
                "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 2",
                (account.hex,),
            )
    else:
        database, schema = pg_schema(store)
        with psycopg.connect(database) as conn:
            conn.execute(
                f'DELETE FROM "{schema}".seatledger_events WHERE originator_id = %s '
                "AND originator_version = 2",
                (account,),
            )
    result = ledger.verify()
    assert (str(account), 2) in {(f.aggregate, f.version) for f in result.findings}


def test_an_altered_checkpoint_root_fails_verification(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    state = stored_state(store, LogSeal.ID, 2)
    root = state.split(b'"root":"')[1][:64]
    write_state(store, LogSeal.ID, 2, state.replace(root, b"f" * 64))
    result = ledger.verify()
    assert any("root is not the root" in f.problem for f in result.findings)


def test_an_altered_earlier_checkpoint_is_named_by_the_seals_own_chain(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    assert ledger.checkpoint() is not None  # LogSeal v3 follows v2
    state = stored_state(store, LogSeal.ID, 2)
    root = state.split(b'"root":"')[1][:64]
    write_state(store, LogSeal.ID, 2, state.replace(root, b"f" * 64))
    result = ledger.verify()
    assert result.first is not None
    assert (result.first.aggregate, result.first.version) == (str(LogSeal.ID), 2)


def test_a_checkpoint_that_is_no_longer_one_fails_verification(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    state = stored_state(store, LogSeal.ID, 2)
    write_state(store, LogSeal.ID, 2, state.replace(b'"changed":', b'"chunged":'))
    result = ledger.verify()
    assert (str(LogSeal.ID), 2, "not a checkpoint") in {
        (f.aggregate, f.version, f.problem) for f in result.findings
    }


def test_gdpr_4_erasure_keeps_the_log_verifiable(ledger: Ledger, clock: SimulatedClock) -> None:
    """GDPR-4: digests are over the sealed (ciphertext) fields, so destroying a subject's
    key changes no stored byte that a digest covers."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    lena = consent(ledger, ["marketing"], email="lena@example.com", name="Lena Lead")
    ledger.checkpoint()
    ledger.subject_request(lena, RequestErasure())
    at(ledger, clock, "2025-03-10T00:00:00Z")
    assert ledger.subject(lena)["erased"]
    ledger.checkpoint()
    result = ledger.verify()
    assert result.ok, result.summary()


def test_audit_verify_command_exits_non_zero_and_names_the_event(
    sqlite_store: str, clock: SimulatedClock
) -> None:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    account = history(ledger, clock)
    ledger.close()
    runner = CliRunner()
    clean = runner.invoke(cli_app, ["audit", "verify", "--store", sqlite_store])
    assert clean.exit_code == 0, clean.output
    change_one_byte(sqlite_store, account, 3)
    broken = runner.invoke(cli_app, ["audit", "verify", "--store", sqlite_store])
    assert broken.exit_code == 1
    assert f"event {account} v3" in broken.output


def test_audit_verify_over_a_store_per_region_names_the_store_that_fails(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    """RES-1: where each region has a store, the auditor verifies them in one command:
    each store's summary by its address, and a failure exits 1 and says whose it is."""
    stores = [f"sqlite:///{tmp_path}/eu.db", f"sqlite:///{tmp_path}/us.db"]
    accounts = []
    for store in stores:
        own = SimulatedClock(clock.now())
        ledger = Ledger(Settings(store=store), clock=own)
        accounts.append(history(ledger, own))
        ledger.close()
    runner = CliRunner()
    options = [f"--store={store}" for store in stores]
    clean = runner.invoke(cli_app, ["audit", "verify", *options])
    assert clean.exit_code == 0, clean.output
    summary = json.loads(clean.stdout)
    assert summary["ok"] is True and list(summary["stores"]) == stores
    change_one_byte(stores[1], accounts[1], 3)
    broken = runner.invoke(cli_app, ["audit", "verify", *options])
    assert broken.exit_code == 1
    found = json.loads(broken.stdout)
    assert found["ok"] is False
    assert found["stores"][stores[0]]["ok"] is True
    assert f"event {accounts[1]} v3" in found["stores"][stores[1]]["first_bad_event"]


# ---------------------------------------------------------------- replay


def edit_live_posting(store: str) -> tuple[str, str]:
    """Changes the amount of one live posting row; returns its key."""
    if urlparse(store).scheme == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            position, seq = conn.execute(
                "SELECT position, seq FROM fin_postings ORDER BY position DESC, seq LIMIT 1"
            ).fetchone()
            conn.execute(
                "UPDATE fin_postings SET amount = '999.99' WHERE position = ? AND seq = ?",
                (position, seq),
            )
        return str(position), str(seq)
    database, schema = pg_schema(store)
    with psycopg.connect(database) as conn:
        found = conn.execute(
            f'SELECT position, seq FROM "{schema}".fin_postings ORDER BY position DESC, seq LIMIT 1'
        ).fetchone()
        assert found is not None
        conn.execute(
            f"UPDATE \"{schema}\".fin_postings SET amount = '999.99' "
            "WHERE position = %s AND seq = %s",
            found,
        )
    return str(found[0]), str(found[1])


def test_a_replay_of_an_untouched_ledger_matches_the_live_projection(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    result = ledger.replay()
    assert result.identical, result.differences[:3]
    assert result.position == ledger.store.recorder.max_notification_id()
    assert len(result.tables["fin_postings"]) > 10
    assert "fin_books" in result.compared
    # the read index the lists are paged from is rebuilt and compared too
    assert {"ix_accounts", "ix_pools", "ix_subjects", "ix_deadlines"} <= set(result.compared)
    assert len(result.tables["ix_accounts"]) == len(ledger.account_ids())


def test_a_changed_row_of_the_read_index_is_reported_by_table_and_key(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    ledger.replay()  # the index caught up
    account = str(ledger.account_ids()[0])
    edit = "UPDATE {table} SET status = 'deleted' WHERE account_id = {marker}"
    if urlparse(store).scheme == "sqlite":
        with sqlite3.connect(store[len("sqlite:///") :]) as conn:
            conn.execute(edit.format(table="ix_accounts", marker="?"), (account,))
    else:
        database, schema = pg_schema(store)
        with psycopg.connect(database) as conn:
            conn.execute(edit.format(table=f'"{schema}".ix_accounts', marker="%s"), (account,))
    result = ledger.replay()
    assert [(d.table, d.key) for d in result.differences] == [("ix_accounts", (account,))]
    assert "deleted" in str(result.differences[0].live)


def test_a_changed_live_row_is_reported_by_table_and_key(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    ledger.catch_up_finance()
    key = edit_live_posting(store)
    result = ledger.replay()
    assert [(d.table, d.key) for d in result.differences] == [("fin_postings", key)]
    difference = result.differences[0]
    assert difference.live is not None and "999.99" in difference.live
    assert difference.replayed is not None and "999.99" not in difference.replayed


def test_replay_until_an_instant_rebuilds_the_log_as_recorded_by_then(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    history(ledger, clock)
    full = ledger.replay()
    february = ledger.replay("2025-02-20T00:00:00Z")
    assert february.identical
    assert 0 < february.position < full.position
    assert "fin_books" not in february.compared
    assert len(february.tables["fin_postings"]) < len(full.tables["fin_postings"])


def test_audit_replay_is_deterministic_and_exits_non_zero_on_a_difference(
    sqlite_store: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    history(ledger, clock)
    ledger.close()
    runner = CliRunner()
    outputs = [tmp_path / "first.json", tmp_path / "second.json"]
    for output in outputs:
        done = runner.invoke(
            cli_app, ["audit", "replay", "--store", sqlite_store, "--output", str(output)]
        )
        assert done.exit_code == 0, done.output
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert json.loads(outputs[0].read_text())["identical"] is True
    position, seq = edit_live_posting(sqlite_store)
    broken = runner.invoke(cli_app, ["audit", "replay", "--store", sqlite_store])
    assert broken.exit_code == 1
    differences = json.loads(broken.stdout)["differences"]
    assert [(d["table"], d["key"]) for d in differences] == [
        ("fin_postings", {"position": position, "seq": seq})
    ]
