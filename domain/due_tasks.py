"""The account's due work: each job's next task, gathered from the part of the account
whose rule it carries out, and each task carried out by that part (TIME-3); and due work
set aside for an operator, and released."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.model import Event, TEvent
from domain.numbering import Numbering
from domain.policy import Terms
from domain.schedule import SetAside, Task, TaskKind, held_work, released
from domain.suspension import AccountStatus


class DueTasks:
    """The account's part that schedules its work and carries it out."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        status: AccountStatus
        held: SetAside | None
        last_held: SetAside | None
        WorkSetAside: ClassVar[type[Event]]
        WorkReleased: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...

        # each job's next task, from the part whose rule it carries out
        def erasure_tasks(self) -> list[Task]: ...
        def deletion_task(self) -> Task: ...
        def cancellation_task(self) -> Task | None: ...
        def trial_expiry_task(self) -> Task | None: ...
        def pool_task(self) -> Task | None: ...
        def lifetime_billing_task(self) -> Task | None: ...
        def renewal_task(self) -> Task | None: ...
        def payment_task(self) -> Task | None: ...
        def inactivity_task(self) -> Task | None: ...

        # and what carries each out
        def activate_pool(self, at: datetime, terms: Terms) -> None: ...
        def exhaust_pool(self, at: datetime, terms: Terms, numbering: Numbering) -> None: ...
        def take_cancellation_effect(self, at: datetime) -> None: ...
        def expire_trial(self, at: datetime) -> None: ...
        def renew(self, at: datetime, terms: Terms, numbering: Numbering) -> None: ...
        def bill_lifetime_period(
            self, at: datetime, terms: Terms, numbering: Numbering
        ) -> None: ...
        def warn_of_inactivity(self, at: datetime) -> None: ...
        def delete(self, cause: str, at: datetime) -> None: ...

    def tasks(self) -> list[Task]:
        """Everything this account has due, each with a key naming what it does (TIME-3);
        nothing while work of it is set aside."""
        if self.held is not None:
            return []
        if self.status is AccountStatus.DELETED:
            return self.erasure_tasks()
        if self.status is AccountStatus.CANCELLED:
            return [self.deletion_task()]
        found = (
            self.cancellation_task(),
            self.trial_expiry_task(),
            self.pool_task(),
            self.lifetime_billing_task(),
            self.renewal_task(),
            self.payment_task(),
            self.inactivity_task(),
        )
        return [task for task in found if task is not None]

    def next_task(self) -> Task | None:
        tasks = self.tasks()
        return min(tasks) if tasks else None

    def run_task(self, task: Task, terms: Terms, numbering: Numbering) -> bool:
        """Does the task if it is still due as named; returns False (and records nothing) when
        it was already done, so running the scheduler twice changes nothing."""
        if task not in self.tasks():
            return False
        at = task.due_at
        match task.kind:
            case TaskKind.POOL_ACTIVATION:
                self.activate_pool(at, terms)
            case TaskKind.POOL_EXHAUSTION:
                self.exhaust_pool(at, terms, numbering)
            case TaskKind.CANCELLATION:
                self.take_cancellation_effect(at)
            case TaskKind.TRIAL_EXPIRY:
                self.expire_trial(at)
            case TaskKind.RENEWAL:
                self.renew(at, terms, numbering)
            case TaskKind.LIFETIME_BILLING:
                self.bill_lifetime_period(at, terms, numbering)
            case TaskKind.INACTIVITY_WARNING:
                self.warn_of_inactivity(at)
            case TaskKind.INACTIVITY_DELETION:
                self.delete("inactivity", at)
            case TaskKind.DELETION:
                self.delete("cancelled", at)
            case TaskKind.PAYMENT | TaskKind.ERASURE:
                # The ledger carries these out: it talks to the gateway, or destroys keys
                # before it records the erasure.
                return False
        return True

    def set_aside_work(self, task: Task, error: str, where: str, at: datetime) -> None:
        """Due work raised: it waits for an operator (see WorkSetAside)."""
        self.trigger(self.WorkSetAside, at, set_aside=held_work(self, task, error, where, at))

    def release_work(self, key: str, at: datetime) -> Task:
        """An operator releases the work set aside under `key`; the task, due again."""
        task = released(self, key)
        self.trigger(self.WorkReleased, at, key=key)
        return task
