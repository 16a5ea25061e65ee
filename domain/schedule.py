"""Scheduled work and its order (TIME-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.errors import invalid


class TaskKind(StrEnum):
    """Each kind of scheduled job. Its value begins the key of each of its tasks (keys are
    stored, in WorkSetAside, and named by operators' retries); its rank is TIME-3's order."""

    POOL_ACTIVATION = "pool-activation"
    POOL_EXHAUSTION = "pool-exhaustion"
    CANCELLATION = "cancellation"  # a cancellation taking effect
    TRIAL_EXPIRY = "trial-expiry"
    RENEWAL = "renewal"
    LIFETIME_BILLING = "lifetime-billing"
    PAYMENT = "payment"  # a first attempt not yet made, or a retry
    INACTIVITY_WARNING = "inactivity-warning"
    INACTIVITY_DELETION = "inactivity-deletion"
    DELETION = "deletion"  # CANCEL-3: after a cancellation took effect
    ERASURE = "erasure"

    @property
    def rank(self) -> int:
        """TIME-3: work due at the same instant runs in this order, lowest first."""
        return _RANKS[self]


# TIME-3: prepaid-pool activation and exhaustion, cancellations taking effect, trial
# expiries, renewals and lifetime-deal billing, payment retries, inactivity warnings and
# deletions, erasures. Kinds of one step share a rank.
TIME_3_ORDER: tuple[tuple[TaskKind, ...], ...] = (
    (TaskKind.POOL_ACTIVATION, TaskKind.POOL_EXHAUSTION),
    (TaskKind.CANCELLATION,),
    (TaskKind.TRIAL_EXPIRY,),
    (TaskKind.RENEWAL, TaskKind.LIFETIME_BILLING),
    (TaskKind.PAYMENT,),
    (TaskKind.INACTIVITY_WARNING, TaskKind.INACTIVITY_DELETION, TaskKind.DELETION),
    (TaskKind.ERASURE,),
)
_RANKS = {kind: rank for rank, step in enumerate(TIME_3_ORDER) for kind in step}
assert set(_RANKS) == set(TaskKind), "every kind of job has its place in TIME-3's order"


@dataclass(frozen=True, slots=True)
class Task:
    """One piece of due work. `key` names what it does, so running it twice is a no-op.
    Tasks order by TIME-3: by instant, then by their kind's rank (then by key)."""

    due_at: datetime
    kind: TaskKind
    key: str

    @classmethod
    def of(cls, kind: TaskKind, due_at: datetime, holder: UUID, *naming: object) -> Task:
        """The task of this kind for `holder`, its key the kind, the holder and `naming`."""
        return cls(due_at, kind, ":".join((kind.value, str(holder), *map(str, naming))))

    @property
    def order(self) -> tuple[datetime, int, str]:
        return (self.due_at, self.kind.rank, self.key)

    def __lt__(self, other: Task) -> bool:
        return self.order < other.order


class SetAside(BaseModel):
    """Due work that raised while the ledger carried it out, set aside for an operator:
    the task, the error's type and where in the ledger's code it was raised (never its
    message, which may quote data), when, and how many times it has raised."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: TaskKind
    due_at: datetime
    error: str
    where: str
    at: datetime
    attempts: int

    @property
    def task(self) -> Task:
        return Task(self.due_at, self.kind, self.key)


def upcast_set_aside(state: dict[str, Any]) -> None:
    """Work set aside before each job had its own kind recorded the kind as its TIME-3
    rank (a number shared by several jobs); the kind is the start of its key."""
    held = state["set_aside"]
    held["kind"] = TaskKind(held["key"].partition(":")[0]).value


class Holds(Protocol):
    """An aggregate whose due work can be set aside (an account, a data subject)."""

    held: SetAside | None
    last_held: SetAside | None


def held_work(holder: Holds, task: Task, error: str, where: str, at: datetime) -> SetAside:
    """The task set aside, counting the times it raised: again after a release, or more."""
    before = holder.held or holder.last_held
    attempts = before.attempts + 1 if before is not None and before.key == task.key else 1
    return SetAside(
        key=task.key,
        kind=task.kind,
        due_at=task.due_at,
        error=error,
        where=where,
        at=at,
        attempts=attempts,
    )


def released(holder: Holds, key: str) -> Task:
    """The task an operator releases: the one set aside under `key`."""
    if holder.held is None or holder.held.key != key:
        raise invalid("key", "no due work is set aside under this key")
    return holder.held.task
