"""Which format of stored events a store holds, so that code never reads a store written in
another.

Format 2 named data subjects by random ids: format 1 wrote a subject's key (often an
e-mail address) in clear into its events, which no upcaster can take back out of immutable
history. No store held production data then, so a format-1 store is refused at start with
a clear message rather than migrated. A store records its format once, when the first
process opens it empty.
"""

from __future__ import annotations

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from adapters.recorders import schema_ddl

FORMAT = 2
TABLE = "seatledger_store_format"


class StoreFormatError(RuntimeError):
    """The store was written in a format this code does not read."""


def check_format(datastore: object, recorder: ApplicationRecorder) -> None:
    """Records FORMAT in an empty store; refuses a store of another format."""
    if isinstance(datastore, PostgresDatastore):
        found = _postgres(datastore, recorder)
    elif isinstance(datastore, SQLiteDatastore):
        found = _sqlite(datastore, recorder)
    else:
        return  # the in-memory store starts empty with every process
    if found != FORMAT:
        raise StoreFormatError(
            f"this store holds events of format {found}; this seatledger reads format "
            f"{FORMAT} only (data subjects named by random ids). Format {found} stores "
            "cannot be migrated: start from an empty store"
        )


def _empty(recorder: ApplicationRecorder) -> bool:
    return not recorder.max_notification_id()


def _sqlite(datastore: SQLiteDatastore, recorder: ApplicationRecorder) -> int:
    with datastore.transaction(commit=True) as c:
        c.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (format INTEGER NOT NULL)")
        c.execute(f"SELECT format FROM {TABLE}")
        row = c.fetchone()
        if row is not None:
            return int(row[0])
        if not _empty(recorder):
            return 1  # events written before stores recorded their format
        c.execute(f"INSERT INTO {TABLE} (format) VALUES (?)", (FORMAT,))
        return FORMAT


def _postgres(datastore: PostgresDatastore, recorder: ApplicationRecorder) -> int:
    table = sql.Identifier(datastore.schema, TABLE)
    # the schema's DDL lock: two processes opening one empty store record it once
    with schema_ddl(datastore), datastore.transaction(commit=True) as c:
        c.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (format integer NOT NULL)").format(table))
        c.execute(sql.SQL("SELECT format FROM {}").format(table))
        row = c.fetchone()
        if row is not None:
            return int(row["format"])
        if not _empty(recorder):
            return 1
        c.execute(sql.SQL("INSERT INTO {} (format) VALUES (%s)").format(table), (FORMAT,))
        return FORMAT
