"""How far each follower of the event log has read, beside the event store. The mail
outbox moves its position in the transaction that records what it read (`advance_in`); the
documents follower moves it after its work, so after a crash it re-reads only what it may
not have finished, and its work is safe to repeat (it records a document only where none
is recorded)."""

from __future__ import annotations

from typing import Any

from adapters.tables import Tables, values

TABLE = "follower_positions"


class Positions:
    """The `follower -> position` rows of one table, in the store's own database."""

    def __init__(self, tables: Tables, table: str = TABLE) -> None:
        self._tables = tables
        self._table = tables.name(table)
        with tables.creating(), tables.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} "
                "(follower TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )

    def position(self, follower: str) -> int:
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(f"SELECT position FROM {self._table} WHERE follower = %s"),
                (follower,),
            )
            row = c.fetchone()
        return 0 if row is None else int(values(row)[0])

    def advance(self, follower: str, position: int) -> None:
        with self._tables.transaction() as c:
            self.advance_in(c, follower, position)

    def advance_in(self, cursor: Any, follower: str, position: int) -> None:
        """In the caller's transaction, so that what was done up to `position` and the
        position itself commit together. Never backwards: a slower process racing a faster
        one keeps the further."""
        cursor.execute(
            self._tables.sql(
                f"INSERT INTO {self._table} (follower, position) VALUES (%s, %s) "
                f"ON CONFLICT (follower) DO UPDATE SET position = excluded.position "
                f"WHERE {self._table}.position < excluded.position"
            ),
            (follower, position),
        )
