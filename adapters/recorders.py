"""The library's recorders, with one addition: a write can name the aggregates its command
only read, at the versions it read them, and is refused (IntegrityError, as for a version
clash) when any of them has moved on. A command may then read from the aggregate cache
without asking the store whether each aggregate is still current: the write itself checks,
in the same transaction, under the lock that keeps commit order.

On PostgreSQL the lock, the check, the insert and the notification are one function call,
one round trip, committed on its own (the library's own function leaves the table lock
out, and with it the guarantee that notification ids follow commit order)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

import psycopg
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteTrackingRecorder
from psycopg import postgres
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier
from psycopg.types.array import ListBinaryDumper

READS = "reads"  # the keyword a write carries its read versions under
STALE_READ = "a command read an aggregate that has changed since"

Reads = Mapping[UUID, int]


# Every statement planned for its own parameters and the tables as they are now. PostgreSQL
# otherwise settles, after five runs of a prepared statement, on a generic plan made while
# the events table was still small (a sequential scan) and keeps it for the connection's
# life; with autovacuum off nothing re-plans it, and each write then scans the whole log.
# No JIT: without statistics a look-up of a hundred aggregates is estimated dear enough to
# be compiled first, which costs more than the look-up.
CONNECTION_OPTIONS = "-c plan_cache_mode=force_custom_plan -c jit=off"
# The write function alone keeps generic plans (`SET plan_cache_mode = auto`): each of its
# statements has one right plan whatever the table's size (a look-up by the whole primary
# key is an index scan even on an empty table; a join against the read list was not), and
# planning them again on every call cost a fifth of the call.


def _column(type_name: str) -> type[list[Any]]:
    """A list that psycopg sends as a binary array of `type_name` with a dumper chosen once.
    A plain list has its elements inspected on every call to find the array's type, which
    cost more client time than the rest of a one-event write's encoding."""
    info = postgres.types[type_name]
    name = type_name.title()
    column: type[list[Any]] = type(f"{name}Column", (list,), {})
    dumper = type(
        f"{name}ColumnDumper",
        (ListBinaryDumper,),
        {"oid": info.array_oid, "element_oid": info.oid},
    )
    postgres.adapters.register_dumper(column, dumper)
    return column


UuidColumn, BigintColumn, TextColumn, ByteaColumn = map(_column, ["uuid", "int8", "text", "bytea"])


def configure_connections(datastore: PostgresDatastore) -> None:
    """Sets CONNECTION_OPTIONS (custom plans, no JIT) on every connection the datastore's
    pool will open."""
    assert datastore.pool.closed, "set before the pool opens its first connection"
    assert isinstance(datastore.pool.kwargs, dict)
    datastore.pool.kwargs["options"] = CONNECTION_OPTIONS


DDL_LOCK_CLASS = 5150  # advisory lock class of "creating a schema's tables"


@contextmanager
def schema_ddl(datastore: PostgresDatastore) -> Iterator[None]:
    """Holds the schema's DDL lock: processes starting together on one schema (an API and a
    scheduler) create its tables, types and functions one after the other. Concurrent
    `CREATE OR REPLACE FUNCTION`s fail ("tuple concurrently updated"), and so do concurrent
    `CREATE TYPE`s and `CREATE TABLE IF NOT EXISTS`s. Its own connection: the library's
    table creation spans several transactions."""
    kwargs = datastore.pool.kwargs
    assert isinstance(kwargs, dict)
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_advisory_lock(%s, hashtext(%s))", (DDL_LOCK_CLASS, datastore.schema)
        )
        yield


def _reads(kwargs: Mapping[str, Any]) -> Reads:
    reads: Reads = kwargs.get(READS) or {}
    return reads


class BatchReads(ApplicationRecorder):
    """Reads the events of many aggregates: one query on PostgreSQL (below), one per
    aggregate on the embedded stores, where a query is no round trip."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> Iterator[StoredEvent]:
        """The events of these aggregates, each one's in version order."""
        for originator_id in originator_ids:
            yield from self.select_events(originator_id)


class CheckedPostgresRecorder(PostgresApplicationRecorder, BatchReads):
    FUNCTION = "seatledger_append_events"

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        configure_connections(datastore)
        super().__init__(datastore, events_table_name=events_table_name)
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.events_table_name),
            "function": Identifier(self.FUNCTION),
            "event": Identifier(self.stored_event_type_name),
            "channel": Identifier(self.channel_name),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(ids uuid[], versions bigint[], "
                "topics text[], states bytea[], read_ids uuid[], read_versions bigint[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql "
                "SET plan_cache_mode = auto AS $BODY$ "
                "BEGIN "
                f"SET LOCAL lock_timeout = '{int(self.datastore.lock_timeout)}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "FOR i IN 1 .. coalesce(array_length(read_ids, 1), 0) LOOP "
                "IF EXISTS (SELECT 1 FROM {schema}.{table} WHERE originator_id = read_ids[i] "
                "AND originator_version = read_versions[i] + 1) THEN "
                f"RAISE unique_violation USING MESSAGE = '{STALE_READ}'; "
                "END IF; "
                "END LOOP; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} "
                "(originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(ids, versions, topics, states) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(**names)
        )
        # One cursor per connection for the writes, kept while the connection lives: a
        # cursor's dumpers are made and looked up anew for each new cursor, which cost more
        # client time than sending the call. The pool hands a connection to one thread at a
        # time, and its cursor goes with it.
        self._writers: WeakKeyDictionary[psycopg.Connection[Any], psycopg.Cursor[Any]] = (
            WeakKeyDictionary()
        )
        # Rendered once: psycopg would render a composed statement again on every call.
        self.invoke = (
            SQL("SELECT * FROM {schema}.{function}(%b, %b, %b, %b, %b, %b)")
            .format(**names)
            .as_string()
        )
        # One look-up by key per aggregate. With no table statistics PostgreSQL guesses that
        # a hundred ids match half the log: `originator_id = ANY(...)`, or a lateral join it
        # flattens, became a scan of all of it (a replay made 109 sequential scans of a
        # million-event log); `OFFSET 0` keeps the look-up a subquery of its own.
        self.select_many = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[]) WITH ORDINALITY AS r(id, n) CROSS JOIN LATERAL ("
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = r.id OFFSET 0) AS e ORDER BY r.n, e.originator_version"
        ).format(**names)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> Iterator[StoredEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_many, (list(originator_ids),), prepare=True)
            for row in curs.fetchall():
                yield StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )

    def create_table(self) -> None:
        with schema_ddl(self.datastore):
            super().create_table()

    @staticmethod
    def arguments(stored_events: Sequence[StoredEvent], reads: Reads) -> tuple[list[Any], ...]:
        """The write function's arguments: typed binary arrays, a column each (psycopg dumps
        them faster than an array of rows, and faster still when it need not look inside to
        learn their type)."""
        return (
            UuidColumn(e.originator_id for e in stored_events),
            BigintColumn(e.originator_version for e in stored_events),
            TextColumn(e.topic for e in stored_events),
            ByteaColumn(e.state for e in stored_events),
            UuidColumn(reads),
            BigintColumn(reads.values()),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn:
            assert conn.autocommit, "the function call is its own transaction"
            curs = self._writers.get(conn)
            if curs is None or curs.closed:
                curs = self._writers[conn] = conn.cursor(row_factory=tuple_row)
            curs.execute(self.invoke, self.arguments(stored_events, _reads(kwargs)), prepare=True)
            return [notification_id for (notification_id,) in curs.fetchall()]


class CheckedSQLiteRecorder(SQLiteApplicationRecorder, BatchReads):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The inserts take SQLite's write lock first; the check then reads under it.
        ids = super()._insert_events(c, stored_events, **kwargs)
        for holder, version in _reads(kwargs).items():
            c.execute(
                f"SELECT 1 FROM {self.events_table_name} "
                "WHERE originator_id = ? AND originator_version = ?",
                (holder.hex, version + 1),
            )
            if c.fetchone() is not None:
                raise IntegrityError(STALE_READ)
        return ids


class CheckedMemoryRecorder(POPOApplicationRecorder, BatchReads):
    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            for holder, version in _reads(kwargs).items():
                if version + 1 in self._stored_events_index[str(holder)]:
                    raise IntegrityError(STALE_READ)
            return super()._insert_events(stored_events, **kwargs)


# ------------------------------------------------------------------ views with tables


class SQLiteTablesView(SQLiteTrackingRecorder):
    """A projection's view on SQLite: its tracking record and tables of its own
    (`table_statements`, the view's), made together, with `?` placeholders."""

    marker = "?"

    def table_statements(self) -> list[str]:
        raise NotImplementedError  # the view names its tables

    def qualified(self, table: str) -> str:
        return table

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.table_statements()]


class PostgresTablesView(PostgresTrackingRecorder):
    """A projection's view on PostgreSQL: its tracking record and tables of its own, in the
    store's schema, made under the schema's DDL lock, with `%s` placeholders."""

    marker = "%s"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        configure_connections(datastore)
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(s).format() for s in self.table_statements())

    def table_statements(self) -> list[str]:
        raise NotImplementedError  # the view names its tables

    def qualified(self, table: str) -> str:
        return Identifier(self.datastore.schema, table).as_string()

    def create_table(self) -> None:
        with schema_ddl(self.datastore):
            super().create_table()
