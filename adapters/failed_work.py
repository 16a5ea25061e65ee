"""Due work set aside: a task that raised while the ledger carried it out, kept here with
its error so that an operator sees it and, once the cause is fixed, retries it; until then
the scheduler leaves it alone and carries out everything else.

A row names the task (its key, kind, instant and aggregate) and the error by its type and
where it was raised, never by its message: a message may quote the data it choked on, and
personal data never reaches unsealed storage. The task's key makes the retry safe: work
already done is not found due again (`Account.run_task`), so however often a task is
retried, it is carried out once.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.tables import Tables, stamp, values
from domain.schedule import Task, TaskKind

TABLE = "due_work_set_aside"
ROOT = Path(__file__).resolve().parent.parent
LISTED_MAX = 10_000  # rows one listing returns at most


class State(StrEnum):
    SET_ASIDE = "set_aside"  # raised; waits for an operator
    DONE = "done"  # retried and carried out (or found done already)


def _ours(path: Path) -> bool:
    """A frame of the ledger's own code (not of a library installed beside it)."""
    resolved = path.resolve()
    return resolved.is_relative_to(ROOT) and "site-packages" not in resolved.parts


@dataclass(frozen=True, slots=True)
class Failure:
    """What one task raised: the exception's type and where in the ledger's code."""

    error: str
    where: str

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if _ours(Path(f.filename))]
        last = (ours or frames)[-1] if frames else None
        where = ""
        if last is not None:
            path = Path(last.filename).resolve()
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
            where = f"{shown}:{last.lineno} in {last.name}"
        return cls(error=type(error).__name__, where=where)


@dataclass(frozen=True, slots=True)
class SetAside:
    key: str
    aggregate_id: UUID
    kind: TaskKind
    due_at: datetime
    state: State
    attempts: int
    error: str
    where: str
    failed_at: str
    done_at: str | None

    @property
    def task(self) -> Task:
        return Task(self.due_at, self.kind, self.key)

    def view(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "aggregate": str(self.aggregate_id),
            "kind": self.kind.name.lower(),
            "due_at": stamp(self.due_at),
            "state": self.state.value,
            "attempts": self.attempts,
            "error": self.error,
            "where": self.where,
            "failed_at": self.failed_at,
            "done_at": self.done_at,
        }


def _set_aside(row: tuple[Any, ...]) -> SetAside:
    key, aggregate, kind, due_at, state, attempts, error, location, failed_at, done_at = row
    return SetAside(
        key=str(key),
        aggregate_id=UUID(str(aggregate)),
        kind=TaskKind(int(kind)),
        due_at=datetime.fromisoformat(str(due_at).replace("Z", "+00:00")),
        state=State(state),
        attempts=int(attempts),
        error=str(error),
        where=str(location),
        failed_at=str(failed_at),
        done_at=str(done_at) if done_at else None,
    )


COLUMNS = "key, aggregate_id, kind, due_at, state, attempts, error, location, failed_at, done_at"


class FailedWork:
    """The set-aside tasks, in the event store's own database."""

    def __init__(self, datastore: object) -> None:
        self._tables = Tables(datastore)
        self._table = self._tables.name(TABLE)
        with self._tables.creating(), self._tables.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY, "
                "aggregate_id TEXT NOT NULL, kind INTEGER NOT NULL, due_at TEXT NOT NULL, "
                "state TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, "
                "location TEXT NOT NULL, failed_at TEXT NOT NULL, done_at TEXT)"
            )

    def set_aside(self, aggregate_id: UUID, task: Task, failure: Failure, at: datetime) -> None:
        """The task raised: it waits for an operator (again, if a retry raised too)."""
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"INSERT INTO {self._table} ({COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, 1, %s, %s, %s, NULL) ON CONFLICT (key) DO UPDATE SET "
                    "state = excluded.state, attempts = "
                    f"{self._table}.attempts + 1, error = excluded.error, location = "
                    "excluded.location, failed_at = excluded.failed_at, done_at = NULL"
                ),
                (
                    task.key,
                    str(aggregate_id),
                    int(task.kind),
                    stamp(task.due_at),
                    State.SET_ASIDE.value,
                    failure.error,
                    failure.where,
                    stamp(at),
                ),
            )

    def done(self, key: str, at: datetime) -> None:
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"UPDATE {self._table} SET state = %s, done_at = %s WHERE key = %s"
                ),
                (State.DONE.value, stamp(at), key),
            )

    def held(self) -> set[str]:
        """The keys of the tasks waiting for an operator: the scheduler skips them."""
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(f"SELECT key FROM {self._table} WHERE state = %s"),
                (State.SET_ASIDE.value,),
            )
            return {str(values(row)[0]) for row in c.fetchall()}

    def find(self, key: str) -> SetAside | None:
        found = self._select("WHERE key = %s", (key,))
        return found[0] if found else None

    def listed(self, state: State | None = None) -> list[SetAside]:
        """Every set-aside task (of one state), oldest failure first."""
        if state is None:
            return self._select("", ())
        return self._select("WHERE state = %s", (state.value,))

    def _select(self, where: str, params: tuple[Any, ...]) -> list[SetAside]:
        with self._tables.transaction() as c:
            c.execute(
                self._tables.sql(
                    f"SELECT {COLUMNS} FROM {self._table} {where} "
                    f"ORDER BY failed_at, key LIMIT {LISTED_MAX}"
                ),
                params,
            )
            rows = [values(row) for row in c.fetchall()]
        return [_set_aside(row) for row in rows]
