"""How far each follower of the event log has read, beside the event store: a follower that
does its work first and moves its position after re-reads, after a crash, only what it may
not have finished, so its work must be safe to repeat (the documents follower's is: it
records a document only where none is recorded)."""

from __future__ import annotations

from adapters.tables import Tables, values

TABLE = "follower_positions"


class Positions:
    def __init__(self, datastore: object) -> None:
        self._tables = Tables(datastore)
        self._table = self._tables.name(TABLE)
        with self._tables.creating(), self._tables.transaction() as c:
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
        """Never backwards: a slower process racing a faster one keeps the further."""
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"INSERT INTO {self._table} (follower, position) VALUES (%s, %s) "
                    f"ON CONFLICT (follower) DO UPDATE SET position = excluded.position "
                    f"WHERE {self._table}.position < excluded.position"
                ),
                (follower, position),
            )
