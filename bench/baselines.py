"""The physical limits every ledger figure is compared with, measured in the same run on
the same server: what PostgreSQL does with no ledger in the way."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

RAW_ROW_BYTES = 120  # the size of a small event row, as in the reference loop
RAW_INSERTS = 3000  # one-row transactions the raw loop commits
LIBRARY_COMMANDS = 1000  # load-trigger-save commands through the library as it ships
LIBRARY_READ_EVENTS = 100_000  # events the library's own paged read decodes
LIBRARY_BATCHED_UNITS = 10_000  # aggregates the library's batched-write ceiling saves


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def raw_inserts(url: str, count: int = RAW_INSERTS) -> Rate:
    """A plain psycopg loop: one ~120-byte row per transaction, committed (fsync on) into
    an ordinary table. Not a temporary one: a temporary table's rows are not written to
    the WAL, so its commits are not flushed (measured here: ~3,000 against ~2,150 commits/s
    on a logged table), and every event the ledger commits is."""
    table = f"raw_rows_{uuid4().hex[:8]}"
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body bytea)")
        conn.commit()
        try:
            body = os.urandom(RAW_ROW_BYTES)
            started = time.perf_counter()
            for _ in range(count):
                conn.execute(f"INSERT INTO {table} (body) VALUES (%s)", (body,))
                conn.commit()
            return Rate(count, time.perf_counter() - started)
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE {table}")
            conn.commit()


def copy_out(url: str, table: str) -> Rate:
    """Server-side COPY of a whole table to /dev/null: how fast the server reads rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert rows is not None
        started = time.perf_counter()
        conn.execute(f"COPY (SELECT * FROM {table}) TO '/dev/null'")
        return Rate(int(rows[0]), time.perf_counter() - started)


class Counter(Aggregate):
    """The smallest aggregate the library can save: one integer, one event per command."""

    def __init__(self) -> None:
        self.value = 0

    @event("Incremented")
    def increment(self) -> None:
        self.value += 1


def _library_env(url: str, schema: str, db_functions: bool) -> dict[str, str]:
    parsed = psycopg.conninfo.conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parsed.get("dbname", "postgres")),
        "POSTGRES_HOST": str(parsed.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parsed.get("port", "5432")),
        "POSTGRES_USER": str(parsed.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parsed.get("password", "")),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y" if db_functions else "n",
        "CREATE_TABLE": "y",
    }


def _schema(url: str) -> str:
    schema = f"bench_{uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def library_commands(url: str, *, db_functions: bool, count: int = LIBRARY_COMMANDS) -> Rate:
    """The eventsourcing library with its own settings: load an aggregate, trigger one
    event, save, one transaction per command."""
    app: Application[Any] = Application(env=_library_env(url, _schema(url), db_functions))
    try:
        ids = []
        for _ in range(20):
            counter = Counter()
            app.save(counter)
            ids.append(counter.id)
        started = time.perf_counter()
        for n in range(count):
            counter = app.repository.get(ids[n % len(ids)])
            counter.increment()
            app.save(counter)
        return Rate(count, time.perf_counter() - started)
    finally:
        app.close()


def library_batched_writes(
    url: str, events_per_unit: float, batch: int, units: int = LIBRARY_BATCHED_UNITS
) -> Rate:
    """The ceiling the library itself puts on due work done in batches: `batch` of its
    smallest aggregates saved per transaction (its default settings, which lock the table
    for commit order), each given `events_per_unit` events on average, with no domain
    rules, no sealing and no digests. Units (renewals) per second."""
    app: Application[Any] = Application(env=_library_env(url, _schema(url), False))
    try:
        counters = [Counter() for _ in range(units)]
        for start in range(0, units, batch):
            app.save(*counters[start : start + batch])
        total = round(units * events_per_unit)
        started = time.perf_counter()
        for start in range(0, units, batch):
            chunk = counters[start : start + batch]
            for n, counter in enumerate(chunk, start):
                # Spread `total` events over the units: n's share is the step of n * total / units.
                for _ in range((n + 1) * total // units - n * total // units):
                    counter.increment()
            app.save(*chunk)
        return Rate(units, time.perf_counter() - started)
    finally:
        app.close()


def library_reads(url: str, count: int = LIBRARY_READ_EVENTS) -> Rate:
    """The library's paged `select_notifications` with `mapper.to_domain_event` on each
    notification, over events of its own smallest aggregate."""
    app: Application[Any] = Application(env=_library_env(url, _schema(url), True))
    try:
        per_aggregate = 1000
        for _ in range(count // per_aggregate):
            counter = Counter()
            for _ in range(per_aggregate - 1):
                counter.increment()
            app.save(counter)
        started = time.perf_counter()
        read, position = 0, 0
        while True:
            page = app.recorder.select_notifications(
                start=position, limit=1000, inclusive_of_start=False
            )
            for notification in page:
                app.mapper.to_domain_event(notification)
            read += len(page)
            if len(page) < 1000:
                break
            position = page[-1].id
        return Rate(read, time.perf_counter() - started)
    finally:
        app.close()
