"""Per-subject data keys for crypto-shredding (GDPR-4), and the look-up from a data
subject's e-mail address to its id, in tables of their own beside the event store, never in
events.

Each (holder, scope) has at most one live AES-256-GCM key; the store seals a personal field
under it and records the key's id in the envelope. Shredding overwrites the key with NULL and
keeps a tombstone (who, which scope, when created, when destroyed), so a later write for the
same holder gets a fresh key and nothing sealed before can be opened again.

A subject's address is looked up by its digest, never stored in clear, and the row goes with
the erasure. Shredding a key or forgetting an address leaves the old bytes in the database
files until they are rewritten: every such change is logged (`personal_data_purges`) until
`purge` has made it unrecoverable from the storage too. On PostgreSQL that waits for every
snapshot that could still see the old row to end; `purge` reports that it is pending then,
and a later call finishes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from adapters.recorders import schema_ddl
from domain.personal import ENVELOPE_FIELD, Scope

KEY_BITS = 256
NONCE_BYTES = 12  # AES-GCM's standard nonce; random per field, never reused with a key
TABLE = "personal_data_keys"
DIRECTORY = "subject_directory"
PURGES = "personal_data_purges"
PURGE_LOCK_TIMEOUT = "5s"  # PostgreSQL: how long a purge waits for a table lock, else pending
CLAIM_ROUNDS = 10  # a claim withdrawn under a claimer is made again, so many times at most
PURGE_BUSY_MS = 200  # SQLite: how long a purge waits for readers to move on, else pending


def lookup(email: str) -> bytes:
    """The digest a subject's address is found by (case-insensitive, never in clear)."""
    return hashlib.sha256(b"seatledger-subject-address:" + email.casefold().encode()).digest()


@dataclass
class Held:
    """Keys one query found for some holders: every key by id (None once shredded) and the
    live one of each (holder, scope)."""

    secrets: dict[UUID, bytes | None] = field(default_factory=dict)
    live: dict[tuple[UUID, Scope], UUID] = field(default_factory=dict)

    def keep(self, key_id: UUID, holder: UUID, scope: Scope, secret: bytes | None) -> None:
        self.secrets[key_id] = secret
        if secret is not None:
            self.live[(holder, scope)] = key_id


class KeyStore(ABC):
    """The keys of (holder, scope) pairs. Inside `prefetched(holders)` a thread uses the
    keys of those holders as one query found them at its start (a batch of due work seals
    and opens many fields of many accounts); shredding in that thread drops what it held."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _held(self) -> Held | None:
        held: Held | None = getattr(self._local, "held", None)
        return held

    @contextmanager
    def prefetched(self, holders: Iterable[UUID]) -> Iterator[None]:
        assert self._held() is None, "one batch's keys at a time"
        self._local.held = self._keys_of(list(holders))
        try:
            yield
        finally:
            self._local.held = None

    def current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]:
        """The live key of (holder, scope), made on first use."""
        held = self._held()
        if held is not None and (holder, scope) in held.live:
            key_id = held.live[(holder, scope)]
            secret = held.secrets[key_id]
            assert secret is not None
            return key_id, secret
        key_id, secret = self._current(holder, scope, at)
        if held is not None:
            held.keep(key_id, holder, scope, secret)
        return key_id, secret

    def secret(self, key_id: UUID) -> bytes | None:
        """A key's bytes, or None once shredded (or never made)."""
        held = self._held()
        if held is not None and key_id in held.secrets:
            return held.secrets[key_id]
        return self._secret(key_id)

    def shred(self, holder: UUID, scope: Scope, at: datetime) -> int:
        """Destroys the live key of (holder, scope); how many were destroyed (0 or 1)."""
        held = self._held()
        if held is not None and (holder, scope) in held.live:
            held.secrets[held.live.pop((holder, scope))] = None
        return self._shred(holder, scope, at)

    def shred_scopes(self, holder: UUID, scopes: Iterable[Scope], at: datetime) -> None:
        """Destroys the live keys of these scopes of one holder (GDPR-4/5)."""
        for scope in scopes:
            self.shred(holder, scope, at)

    def claim_subject(self, email: str, subject_id: UUID, at: datetime) -> tuple[UUID, bool]:
        """The subject the address names: `subject_id` when the address was free (and the
        second value True: this call claimed it), else the subject that holds it."""
        return self._claim(lookup(email), subject_id, at)

    def find_subject(self, email: str) -> UUID | None:
        return self._find(lookup(email))

    def release_address(self, email: str, subject_id: UUID, at: datetime) -> None:
        """The address no longer names this subject."""
        self._release(lookup(email), subject_id, at)

    def forget_subject(self, subject_id: UUID, at: datetime) -> None:
        """GDPR-4: no address names the subject any more (it goes with the erasure)."""
        self._release(None, subject_id, at)

    def withdraw_claim(self, email: str, subject_id: UUID, version: int) -> None:
        """A claim made for a command that was refused goes, unless the subject has events
        after `version` (the one it had when the claim was made: another command recorded
        on it meanwhile, and may have taken the claim up). Nothing was recorded with it,
        so there is nothing to purge."""
        self._withdraw(lookup(email), subject_id, version)

    @abstractmethod
    def _withdraw(self, digest: bytes, subject_id: UUID, version: int) -> None: ...

    @abstractmethod
    def _claim(self, digest: bytes, subject_id: UUID, at: datetime) -> tuple[UUID, bool]: ...

    @abstractmethod
    def _find(self, digest: bytes) -> UUID | None: ...

    @abstractmethod
    def _release(self, digest: bytes | None, subject_id: UUID, at: datetime) -> None:
        """Deletes the subject's row of that digest (every row of it: None), logging it."""

    @abstractmethod
    def purge(self, at: datetime) -> bool:
        """Makes shredded keys and forgotten addresses unrecoverable from the storage files
        too; False while that is still pending (another session may still see them)."""

    @abstractmethod
    def purged(self, holder: UUID) -> bool:
        """Whether every key shredded and address forgotten of `holder` is purged."""

    @abstractmethod
    def _keys_of(self, holders: list[UUID]) -> Held:
        """Every key of these holders, in one query."""

    @abstractmethod
    def _current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]: ...

    @abstractmethod
    def _secret(self, key_id: UUID) -> bytes | None: ...

    @abstractmethod
    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int: ...

    @staticmethod
    def new_secret() -> bytes:
        return AESGCM.generate_key(bit_length=KEY_BITS)


class MemoryKeyStore(KeyStore):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._live: dict[tuple[UUID, Scope], UUID] = {}
        self._secrets: dict[UUID, bytes | None] = {}
        self._directory: dict[bytes, UUID] = {}

    def _current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]:
        with self._lock:
            key_id = self._live.get((holder, scope))
            if key_id is None:
                key_id = uuid4()
                self._live[(holder, scope)] = key_id
                self._secrets[key_id] = self.new_secret()
            secret = self._secrets[key_id]
            assert secret is not None
            return key_id, secret

    def _secret(self, key_id: UUID) -> bytes | None:
        with self._lock:
            return self._secrets.get(key_id)

    def _keys_of(self, holders: list[UUID]) -> Held:
        """Nothing to fetch: every look-up is in this process's memory already."""
        return Held()

    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int:
        with self._lock:
            key_id = self._live.pop((holder, scope), None)
            if key_id is None:
                return 0
            self._secrets[key_id] = None
            return 1

    def _claim(self, digest: bytes, subject_id: UUID, at: datetime) -> tuple[UUID, bool]:
        with self._lock:
            found = self._directory.get(digest)
            if found is None:
                self._directory[digest] = subject_id
                return subject_id, True
            return found, False

    def _find(self, digest: bytes) -> UUID | None:
        with self._lock:
            return self._directory.get(digest)

    def _release(self, digest: bytes | None, subject_id: UUID, at: datetime) -> None:
        with self._lock:
            for found, holder in list(self._directory.items()):
                if holder == subject_id and digest in (None, found):
                    del self._directory[found]

    def _withdraw(self, digest: bytes, subject_id: UUID, version: int) -> None:
        """One process holds the in-memory store: no other command can have taken it up."""
        with self._lock:
            if self._directory.get(digest) == subject_id:
                del self._directory[digest]

    def purge(self, at: datetime) -> bool:
        """Nothing is written anywhere but this process's memory."""
        return True

    def purged(self, holder: UUID) -> bool:
        return True


class SQLiteKeyStore(KeyStore):
    """Same file as the events. secure_delete zeroes a shredded key's or a forgotten
    address's old bytes in the page; a checkpoint then empties the write-ahead log that
    still held them, which it cannot do while a reader still uses an older frame."""

    def __init__(self, datastore: SQLiteDatastore, events_table: str) -> None:
        super().__init__()
        self._db = datastore
        self._events = events_table
        with self._db.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (key_id TEXT PRIMARY KEY, holder_id TEXT "
                "NOT NULL, scope TEXT NOT NULL, secret BLOB, created_at TEXT NOT NULL, "
                "shredded_at TEXT)"
            )
            c.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_live ON {TABLE} (holder_id, scope) "
                "WHERE shredded_at IS NULL"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {DIRECTORY} (lookup BLOB PRIMARY KEY, "
                "subject_id TEXT NOT NULL, claimed_at TEXT NOT NULL)"
            )
            c.execute(f"CREATE INDEX IF NOT EXISTS {DIRECTORY}_subject ON {DIRECTORY} (subject_id)")
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {PURGES} (id INTEGER PRIMARY KEY, holder_id TEXT "
                "NOT NULL, recorded_at TEXT NOT NULL, purged_at TEXT)"
            )

    def _current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]:
        with self._db.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {TABLE} (key_id, holder_id, scope, secret, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (str(uuid4()), str(holder), scope.value, self.new_secret(), at.isoformat()),
            )
            c.execute(
                f"SELECT key_id, secret FROM {TABLE} "
                "WHERE holder_id = ? AND scope = ? AND shredded_at IS NULL",
                (str(holder), scope.value),
            )
            row = c.fetchone()
        return UUID(row[0]), bytes(row[1])

    def _secret(self, key_id: UUID) -> bytes | None:
        with self._db.transaction(commit=False) as c:
            c.execute(f"SELECT secret FROM {TABLE} WHERE key_id = ?", (str(key_id),))
            row = c.fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def _keys_of(self, holders: list[UUID]) -> Held:
        held = Held()
        with self._db.transaction(commit=False) as c:
            c.execute(
                f"SELECT key_id, holder_id, scope, secret FROM {TABLE} WHERE holder_id IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps([str(h) for h in holders]),),
            )
            for key_id, holder, scope, secret in c.fetchall():
                found = None if secret is None else bytes(secret)
                held.keep(UUID(key_id), UUID(holder), Scope(scope), found)
        return held

    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int:
        with self._db.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete = ON")
            c.execute(
                f"UPDATE {TABLE} SET secret = NULL, shredded_at = ? "
                "WHERE holder_id = ? AND scope = ? AND shredded_at IS NULL",
                (at.isoformat(), str(holder), scope.value),
            )
            c.execute("SELECT changes()")
            count = int(c.fetchone()[0])
            if count:
                self._log_purge(c, holder, at)
        return count

    @staticmethod
    def _log_purge(c: Any, holder: UUID, at: datetime) -> None:
        c.execute(
            f"INSERT INTO {PURGES} (holder_id, recorded_at) VALUES (?, ?)",
            (str(holder), at.isoformat()),
        )

    def _claim(self, digest: bytes, subject_id: UUID, at: datetime) -> tuple[UUID, bool]:
        with self._db.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {DIRECTORY} (lookup, subject_id, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (digest, str(subject_id), at.isoformat()),
            )
            c.execute("SELECT changes()")
            made = int(c.fetchone()[0]) == 1
            c.execute(f"SELECT subject_id FROM {DIRECTORY} WHERE lookup = ?", (digest,))
            holder = UUID(c.fetchone()[0])
        return holder, made

    def _find(self, digest: bytes) -> UUID | None:
        with self._db.transaction(commit=False) as c:
            c.execute(f"SELECT subject_id FROM {DIRECTORY} WHERE lookup = ?", (digest,))
            row = c.fetchone()
        return None if row is None else UUID(row[0])

    def _release(self, digest: bytes | None, subject_id: UUID, at: datetime) -> None:
        with self._db.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete = ON")
            c.execute(
                f"DELETE FROM {DIRECTORY} WHERE subject_id = ? AND (? IS NULL OR lookup = ?)",
                (str(subject_id), digest, digest),
            )
            c.execute("SELECT changes()")
            if int(c.fetchone()[0]):
                self._log_purge(c, subject_id, at)

    def _withdraw(self, digest: bytes, subject_id: UUID, version: int) -> None:
        with self._db.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {DIRECTORY} WHERE lookup = ? AND subject_id = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {self._events} WHERE originator_id = ? "
                "AND originator_version > ?)",
                (digest, str(subject_id), subject_id.hex, version),  # the library keeps hex ids
            )

    def purge(self, at: datetime) -> bool:
        with self._db.transaction(commit=False) as c:
            c.execute(f"SELECT max(id) FROM {PURGES} WHERE purged_at IS NULL")
            last = c.fetchone()[0]
        if last is None:
            return True
        with self._db.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("PRAGMA busy_timeout")
            waited = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA busy_timeout = {PURGE_BUSY_MS}")
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = int(cursor.fetchone()[0])
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {waited}")
        if busy:
            return False  # a reader still uses a frame that may hold the old bytes
        with self._db.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {PURGES} SET purged_at = ? WHERE purged_at IS NULL AND id <= ?",
                (at.isoformat(), last),
            )
        return True

    def purged(self, holder: UUID) -> bool:
        with self._db.transaction(commit=False) as c:
            c.execute(
                f"SELECT 1 FROM {PURGES} WHERE holder_id = ? AND purged_at IS NULL LIMIT 1",
                (str(holder),),
            )
            return c.fetchone() is None


class PostgresKeyStore(KeyStore):
    """Same database and schema as the events. PostgreSQL never overwrites a row in place:
    `purge` rewrites the tables (VACUUM FULL) so no dead copy of a shredded key or a
    forgotten address remains. A rewrite keeps every row version that a snapshot still
    open could see: the purge log holds the transaction id of each destructive change, and
    `purge` rewrites only once no session's snapshot or transaction is that old (else it
    is pending, and the next call finishes it)."""

    def __init__(self, datastore: PostgresDatastore, events_table: str) -> None:
        super().__init__()
        self._db = datastore
        self._events = sql.Identifier(datastore.schema, events_table)
        self._table = sql.Identifier(datastore.schema, TABLE)
        self._directory = sql.Identifier(datastore.schema, DIRECTORY)
        self._purges = sql.Identifier(datastore.schema, PURGES)
        with schema_ddl(datastore), self._db.transaction(commit=True) as c:
            c.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (key_id uuid PRIMARY KEY, holder_id uuid "
                    "NOT NULL, scope text NOT NULL, secret bytea, created_at timestamptz NOT "
                    "NULL, shredded_at timestamptz)"
                ).format(self._table)
            )
            c.execute(
                sql.SQL(
                    "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (holder_id, scope) "
                    "WHERE shredded_at IS NULL"
                ).format(sql.Identifier(f"{TABLE}_live"), self._table)
            )
            c.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (lookup bytea PRIMARY KEY, subject_id uuid "
                    "NOT NULL, claimed_at timestamptz NOT NULL)"
                ).format(self._directory)
            )
            c.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (subject_id)").format(
                    sql.Identifier(f"{DIRECTORY}_subject"), self._directory
                )
            )
            c.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, holder_id uuid "
                    "NOT NULL, xid xid8 NOT NULL, recorded_at timestamptz NOT NULL, "
                    "purged_at timestamptz)"
                ).format(self._purges)
            )

    def _current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]:
        # One statement, one round trip: the key made now, or the live one already there.
        # The existing row is read in the statement's snapshot, so a first use racing this
        # one and committed meanwhile is found by the second read.
        live = sql.SQL(
            "SELECT key_id, secret FROM {} WHERE holder_id = %(holder)s AND scope = %(scope)s "
            "AND shredded_at IS NULL"
        ).format(self._table)
        made = sql.SQL(
            "WITH made AS (INSERT INTO {} (key_id, holder_id, scope, secret, created_at) "
            "VALUES (%(key)s, %(holder)s, %(scope)s, %(secret)s, %(at)s) "
            "ON CONFLICT DO NOTHING RETURNING key_id, secret) "
            "SELECT key_id, secret FROM made UNION ALL ({})"
        ).format(self._table, live)
        params = {
            "key": uuid4(),
            "holder": holder,
            "scope": scope.value,
            "secret": self.new_secret(),
            "at": at,
        }
        with self._db.get_connection() as conn:
            row = conn.execute(made, params, prepare=True).fetchone()
            if row is None:
                row = conn.execute(live, params).fetchone()
        assert row is not None
        return row["key_id"], bytes(row["secret"])

    def _secret(self, key_id: UUID) -> bytes | None:
        with self._db.get_connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT secret FROM {} WHERE key_id = %s").format(self._table),
                (key_id,),
                prepare=True,
            ).fetchone()
        return None if row is None or row["secret"] is None else bytes(row["secret"])

    def _keys_of(self, holders: list[UUID]) -> Held:
        held = Held()
        with self._db.get_connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT key_id, holder_id, scope, secret FROM {} WHERE holder_id = ANY(%s)"
                ).format(self._table),
                (holders,),
                prepare=True,
            ).fetchall()
        for row in rows:
            secret = None if row["secret"] is None else bytes(row["secret"])
            held.keep(row["key_id"], row["holder_id"], Scope(row["scope"]), secret)
        return held

    def _log_purge(self, c: Any, holder: UUID, at: datetime) -> None:
        """In the transaction of the destructive change: its id is what `purge` waits on."""
        c.execute(
            sql.SQL(
                "INSERT INTO {} (holder_id, xid, recorded_at) VALUES (%s, pg_current_xact_id(), %s)"
            ).format(self._purges),
            (holder, at),
        )

    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int:
        with self._db.transaction(commit=True) as c:
            c.execute(
                sql.SQL(
                    "UPDATE {} SET secret = NULL, shredded_at = %s "
                    "WHERE holder_id = %s AND scope = %s AND shredded_at IS NULL"
                ).format(self._table),
                (at, holder, scope.value),
            )
            count = c.rowcount
            if count:
                self._log_purge(c, holder, at)
            return count

    def _claim(self, digest: bytes, subject_id: UUID, at: datetime) -> tuple[UUID, bool]:
        # One statement, as for keys: the claim made now, or the holder already there; a
        # holder withdrawn between the two reads is claimed again on the next round.
        held = sql.SQL("SELECT subject_id, false AS made FROM {} WHERE lookup = %(lookup)s")
        claim = sql.SQL(
            "WITH made AS (INSERT INTO {} (lookup, subject_id, claimed_at) VALUES "
            "(%(lookup)s, %(subject)s, %(at)s) ON CONFLICT DO NOTHING RETURNING subject_id) "
            "SELECT subject_id, true AS made FROM made UNION ALL ({})"
        ).format(self._directory, held.format(self._directory))
        params = {"lookup": digest, "subject": subject_id, "at": at}
        with self._db.get_connection() as conn:
            for _ in range(CLAIM_ROUNDS):
                row = conn.execute(claim, params).fetchone()
                if row is None:
                    row = conn.execute(held.format(self._directory), params).fetchone()
                if row is not None:
                    return row["subject_id"], bool(row["made"])
        raise RuntimeError("an address's claim kept being withdrawn under it")

    def _find(self, digest: bytes) -> UUID | None:
        with self._db.get_connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT subject_id FROM {} WHERE lookup = %s").format(self._directory),
                (digest,),
            ).fetchone()
        return None if row is None else UUID(str(row["subject_id"]))

    def _release(self, digest: bytes | None, subject_id: UUID, at: datetime) -> None:
        with self._db.transaction(commit=True) as c:
            c.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE subject_id = %(subject)s "
                    "AND (%(lookup)s::bytea IS NULL OR lookup = %(lookup)s::bytea)"
                ).format(self._directory),
                {"subject": subject_id, "lookup": digest},
            )
            if c.rowcount:
                self._log_purge(c, subject_id, at)

    def _withdraw(self, digest: bytes, subject_id: UUID, version: int) -> None:
        with self._db.transaction(commit=True) as c:
            c.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE lookup = %(lookup)s AND subject_id = %(subject)s "
                    "AND NOT EXISTS (SELECT 1 FROM {} WHERE originator_id = %(subject)s "
                    "AND originator_version > %(version)s)"
                ).format(self._directory, self._events),
                {"lookup": digest, "subject": subject_id, "version": version},
            )

    def purge(self, at: datetime) -> bool:
        with self._db.get_connection() as conn:
            assert conn.autocommit, "VACUUM runs outside a transaction"
            row = conn.execute(
                sql.SQL(
                    "SELECT max(xid::text::bigint) AS last FROM {} WHERE purged_at IS NULL"
                ).format(self._purges)
            ).fetchone()
            last = None if row is None else row["last"]
            if last is None:
                return True
            if self._still_seen(conn, int(last)):
                return False
            try:
                conn.execute(
                    sql.SQL("SET lock_timeout = {}").format(sql.Literal(PURGE_LOCK_TIMEOUT))
                )
                for table in (self._table, self._directory):
                    conn.execute(sql.SQL("VACUUM FULL {}").format(table))
            except psycopg.errors.LockNotAvailable:
                return False  # a session holds the table: the next purge tries again
            finally:
                conn.execute("RESET lock_timeout")
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET purged_at = %s WHERE purged_at IS NULL "
                    "AND xid::text::bigint <= %s"
                ).format(self._purges),
                (at, last),
            )
        return True

    @staticmethod
    def _still_seen(conn: Any, xid: int) -> bool:
        """Whether a session of this database (or a standby's feedback, a prepared
        transaction, a replication slot) holds a snapshot or a transaction as old as the
        change `xid` (a full transaction id): VACUUM must keep the old row for it then.
        Ages compare 32-bit ids across wraparound; another role's sessions show theirs.
        Autovacuum's workers count too (an ANALYZE holds a snapshot): at worst a purge
        waits for the next run."""
        row = conn.execute(
            "WITH change AS (SELECT (%(xid)s %% 4294967296)::text::xid AS xid) "
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity, change WHERE pid <> "
            "pg_backend_pid() AND (datid IS NULL OR datid = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())) AND (age(backend_xmin) >= age(change.xid) OR "
            "age(backend_xid) >= age(change.xid))) OR EXISTS (SELECT 1 FROM "
            "pg_prepared_xacts, change WHERE age(transaction) >= age(change.xid)) OR EXISTS "
            "(SELECT 1 FROM pg_replication_slots, change WHERE age(xmin) >= age(change.xid)) "
            "AS seen",
            {"xid": xid},
        ).fetchone()
        return bool(row["seen"])

    def purged(self, holder: UUID) -> bool:
        with self._db.get_connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT 1 FROM {} WHERE holder_id = %s AND purged_at IS NULL LIMIT 1"
                ).format(self._purges),
                (holder,),
            ).fetchone()
        return row is None


def key_store_for(datastore: object, events_table: str) -> KeyStore:
    """The key store beside the event store of `datastore` (whose events are in
    `events_table`)."""
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteKeyStore(datastore, events_table)
    if isinstance(datastore, PostgresDatastore):
        return PostgresKeyStore(datastore, events_table)
    return MemoryKeyStore()


class EventSealer:
    """Seals one event's personal fields: AES-GCM under the (holder, scope) key, with the
    event's identity as associated data so a sealed field cannot be moved to another event."""

    def __init__(self, keys: KeyStore, holder: UUID, version: int, at: datetime) -> None:
        self._keys = keys
        self._holder = holder
        self._version = version
        self._at = at
        self._current: dict[Scope, tuple[UUID, bytes]] = {}

    def _aad(self, scope: Scope) -> bytes:
        return f"{self._holder}:{self._version}:{scope.value}".encode()

    def seal(self, scope: Scope, plain: Any) -> dict[str, Any]:
        if scope not in self._current:
            self._current[scope] = self._keys.current(self._holder, scope, self._at)
        key_id, secret = self._current[scope]
        nonce = os.urandom(NONCE_BYTES)
        data = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
        sealed = nonce + AESGCM(secret).encrypt(nonce, data, self._aad(scope))
        return {ENVELOPE_FIELD: base64.b64encode(sealed).decode(), "key": str(key_id)}

    def unseal(self, scope: Scope, envelope: dict[str, Any]) -> Any:
        secret = self._keys.secret(UUID(envelope["key"]))
        if secret is None:
            return None
        sealed = base64.b64decode(envelope[ENVELOPE_FIELD])
        try:
            data = AESGCM(secret).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._aad(scope)
            )
        except InvalidTag:
            raise ValueError("a sealed field does not belong to this event") from None
        return json.loads(data)
