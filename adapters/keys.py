"""Per-subject data keys for crypto-shredding (GDPR-4), in their own table beside the event
store, never in events.

Each (holder, scope) has at most one live AES-256-GCM key; the store seals a personal field
under it and records the key's id in the envelope. Shredding overwrites the key with NULL and
keeps a tombstone (who, which scope, when created, when destroyed), so a later write for the
same holder gets a fresh key and nothing sealed before can be opened again.
"""

from __future__ import annotations

import base64
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

    @abstractmethod
    def _keys_of(self, holders: list[UUID]) -> Held:
        """Every key of these holders, in one query."""

    @abstractmethod
    def _current(self, holder: UUID, scope: Scope, at: datetime) -> tuple[UUID, bytes]: ...

    @abstractmethod
    def _secret(self, key_id: UUID) -> bytes | None: ...

    @abstractmethod
    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int: ...

    @abstractmethod
    def compact(self) -> None:
        """Makes destroyed keys unrecoverable from the storage files too."""

    @staticmethod
    def new_secret() -> bytes:
        return AESGCM.generate_key(bit_length=KEY_BITS)


class MemoryKeyStore(KeyStore):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._live: dict[tuple[UUID, Scope], UUID] = {}
        self._secrets: dict[UUID, bytes | None] = {}

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

    def compact(self) -> None:
        """Nothing is written anywhere but this process's memory."""


class SQLiteKeyStore(KeyStore):
    """Same file as the events. secure_delete zeroes a shredded key's old bytes in the page;
    a checkpoint then empties the write-ahead log that still held them."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__()
        self._db = datastore
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
        return count

    def compact(self) -> None:
        with self._db.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresKeyStore(KeyStore):
    """Same database and schema as the events. PostgreSQL never overwrites a row in place:
    `compact` rewrites the table (VACUUM FULL) so no dead copy of a shredded key remains."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__()
        self._db = datastore
        self._table = sql.Identifier(datastore.schema, TABLE)
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

    def _shred(self, holder: UUID, scope: Scope, at: datetime) -> int:
        with self._db.transaction(commit=True) as c:
            c.execute(
                sql.SQL(
                    "UPDATE {} SET secret = NULL, shredded_at = %s "
                    "WHERE holder_id = %s AND scope = %s AND shredded_at IS NULL"
                ).format(self._table),
                (at, holder, scope.value),
            )
            return c.rowcount

    def compact(self) -> None:
        with self._db.get_connection() as conn:
            # VACUUM runs outside a transaction; the pool's connections are autocommit
            # already, and must stay as the pool gave them.
            assert conn.autocommit
            conn.execute(sql.SQL("VACUUM FULL {}").format(self._table))


def key_store_for(datastore: object) -> KeyStore:
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteKeyStore(datastore)
    if isinstance(datastore, PostgresDatastore):
        return PostgresKeyStore(datastore)
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
