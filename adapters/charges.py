"""What the payment gateway answered, kept the moment it answers, beside the events.

The ledger asks the gateway to charge an attempt once, under the attempt's key
(`charge:{invoice}:{attempt}`). Recording the answer as a payment is a second step, which
can fail (the account's due work is then set aside) or be cut off by a crash; the attempt
is carried out again later, maybe days later, when a processor may no longer remember the
key. Kept here, the answer is used again instead of asking twice: money moves once per
attempt whatever happens between the gateway's answer and its record.
"""

from __future__ import annotations

from datetime import datetime

from adapters.gateway import ChargeResult
from adapters.tables import Tables, stamp, values

TABLE = "gateway_answers"


class ChargeLog:
    def __init__(self, datastore: object) -> None:
        self._tables = Tables(datastore)
        self._table = self._tables.name(TABLE)
        with self._tables.creating(), self._tables.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY, "
                "approved INTEGER NOT NULL, reference TEXT NOT NULL, answered_at TEXT NOT NULL)"
            )

    def answer(self, key: str) -> ChargeResult | None:
        """What the gateway answered to this attempt, if it was asked."""
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(f"SELECT approved, reference FROM {self._table} WHERE key = %s"),
                (key,),
            )
            row = c.fetchone()
        if row is None:
            return None
        approved, reference = values(row)
        return ChargeResult(approved=bool(approved), reference=str(reference))

    def keep(self, key: str, result: ChargeResult, at: datetime) -> None:
        """The gateway's answer; the first one kept stands (the gateway gives one per key)."""
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"INSERT INTO {self._table} (key, approved, reference, answered_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
                ),
                (key, int(result.approved), result.reference, stamp(at)),
            )
