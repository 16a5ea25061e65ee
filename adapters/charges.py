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

    def answers(self, keys: list[str]) -> dict[str, ChargeResult]:
        """What the gateway answered to those of these attempts it was asked, one query."""
        if not keys:
            return {}
        marks = ", ".join(["%s"] * len(keys))
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"SELECT key, approved, reference FROM {self._table} WHERE key IN ({marks})"
                ),
                tuple(keys),
            )
            rows = [values(row) for row in c.fetchall()]
        return {
            str(key): ChargeResult(approved=bool(approved), reference=str(reference))
            for key, approved, reference in rows
        }

    def keep(self, answered: dict[str, ChargeResult], at: datetime) -> None:
        """The gateway's answers, in one transaction; the first one kept of a key stands
        (the gateway gives one per key)."""
        if not answered:
            return
        with self._tables.transaction() as c:
            for key, result in answered.items():
                c.execute(
                    self._tables.sql(
                        f"INSERT INTO {self._table} (key, approved, reference, answered_at) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
                    ),
                    (key, int(result.approved), result.reference, stamp(at)),
                )
