"""Scheduled work and its order (TIME-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from domain.errors import invalid


class TaskKind(IntEnum):
    """TIME-3: work due at the same instant runs in this order."""

    POOL = 0  # prepaid-pool activation and exhaustion
    CANCELLATION = 1  # cancellations taking effect
    TRIAL_EXPIRY = 2
    RENEWAL = 3  # renewals and lifetime-deal billing
    PAYMENT = 4  # first attempts not yet made, and retries
    INACTIVITY = 5  # inactivity warnings and deletions (and CANCEL-3 deletions)
    ERASURE = 6


@dataclass(frozen=True, order=True, slots=True)
class Task:
    """One piece of due work. `key` names what it does, so running it twice is a no-op."""

    due_at: datetime
    kind: TaskKind
    key: str


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
