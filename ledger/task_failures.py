"""Due work the domain raised on: which task of which aggregate, and why. One bad account
never stops work for the others: its failure is caught here, named, and set aside."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from adapters.failures import Failure
from domain.schedule import Task


@dataclass(frozen=True)
class FailedTask:
    """One task the domain raised on: its aggregate, the task, the error."""

    aggregate_id: UUID
    task: Task
    failure: Failure


class TaskFailed(Exception):
    """The domain raised while carrying out due work: a defect or bad data of those
    aggregates, not of the store (whose errors end the run, to be run again)."""

    def __init__(self, tasks: list[FailedTask]) -> None:
        assert tasks, "a failure names its tasks"
        super().__init__("; ".join(f"{t.task.key}: {t.failure.error}" for t in tasks))
        self.tasks = tasks


@contextlib.contextmanager
def task_of(aggregate_id: UUID, task: Task | None) -> Iterator[None]:
    """Whatever the domain raises inside names the aggregate's due task, when there is one
    (a command's own charges raise as they are); the store's errors raise as they are."""
    try:
        yield
    except (TaskFailed, PersistenceError):
        raise
    except Exception as error:
        if task is None:
            raise
        raise TaskFailed([FailedTask(aggregate_id, task, Failure.of(error))]) from error
