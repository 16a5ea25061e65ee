"""Operational tables beside the event store (the mail outbox, the gateway's answers): in the
store's own database and schema, written in SQL that SQLite and PostgreSQL both take, and
in an SQLite database in memory for the in-memory store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.recorders import schema_ddl

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(STAMP)


def values(row: Any) -> tuple[Any, ...]:
    """A row as a tuple, whichever driver fetched it (psycopg's rows are mappings)."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


class _Memory:
    """For the in-memory event store: the tables live as long as the process."""

    def __init__(self) -> None:
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        self._connection.isolation_level = None
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")


class Tables:
    """Transactions on the store's database, table names in its schema, and SQL written
    with `%s` placeholders whichever driver runs it."""

    def __init__(self, datastore: object) -> None:
        self._postgres = isinstance(datastore, PostgresDatastore)
        self._marker = "%s" if self._postgres else "?"
        self.transaction: Callable[[], AbstractContextManager[Any]]
        if isinstance(datastore, SQLiteDatastore | PostgresDatastore):
            self.transaction = partial(datastore.transaction, commit=True)
        else:
            self.transaction = _Memory().transaction
        self._prefix = f'"{datastore.schema}".' if isinstance(datastore, PostgresDatastore) else ""
        self._datastore = datastore

    def name(self, table: str) -> str:
        return self._prefix + table

    def sql(self, text: str) -> str:
        return text.replace("%s", self._marker)

    def creating(self) -> AbstractContextManager[Any]:
        """Holds the schema's DDL lock on PostgreSQL while the tables are made."""
        if isinstance(self._datastore, PostgresDatastore):
            return schema_ddl(self._datastore)
        return nullcontext()
