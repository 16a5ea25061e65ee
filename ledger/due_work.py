"""The due-work runner: every task the accounts and data subjects have due (domain.schedule),
carried out at its own due instant in TIME-3's order, exactly once, in batches; what the
domain raises on is set aside for an operator and everything else goes on."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from adapters.mail import Mailer
from domain.account import Account
from domain.dates import check_utc
from domain.errors import invalid
from domain.model import Aggregate
from domain.personal import Scope
from domain.schedule import Task, TaskKind
from domain.subjects import Subject
from ledger.mail_delivery import MailDelivery
from ledger.payments import PaymentCollection
from ledger.reading import Reader
from ledger.task_failures import FailedTask, TaskFailed, task_of
from ledger.unit import Transactor, Unit
from ledger.views import held_view, unreadable_view
from projections.due import DueIndex

DUE_BATCH_MAX = 100_000  # tasks one run carries out at most
DUE_RUN_BATCH = 500  # tasks of one kind and instant carried out in one transaction


class DueWork:
    def __init__(
        self,
        tx: Transactor,
        reader: Reader,
        index: DueIndex,
        payments: PaymentCollection,
        mail: MailDelivery,
    ) -> None:
        self.tx = tx
        self.reader = reader
        self.index = index
        self.payments = payments
        self.mail = mail
        self.keys = tx.store.keys
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def caught_up(self) -> Iterator[DueIndex]:
        """The due index, up to the end of the log, for as long as the block runs."""
        with self._lock:
            self.index.catch_up()
            yield self.index

    def next_due(self) -> datetime | None:
        with self.caught_up() as index:
            return index.peek()

    def run(
        self,
        until: datetime | None = None,
        *,
        actor: str | None = "scheduler",
        mailer: Mailer | None = None,
    ) -> int:
        """Runs every piece of scheduled work due up to `until`, each at its own due instant,
        in TIME-3's order. Idempotent: work already done is not found due again. A task
        that raises is set aside for an operator (a fact on its aggregate, WorkSetAside)
        and everything else goes on. With a mailer, the e-mails waiting are handed over
        before any personal data is erased, so an owner still hears that the account was
        deleted. Then what erasures left pending in the storage is purged, when it can be
        (adapters.keys). How many tasks were carried out."""
        until = check_utc(until or self.tx.now())
        done = 0
        with self._lock, _heap_frozen():
            seen: set[str] = set()
            while done < DUE_BATCH_MAX:
                self.index.catch_up()
                batch = self.index.pop_due_batch(until, min(DUE_RUN_BATCH, DUE_BATCH_MAX - done))
                if not batch:
                    break
                for _, task in batch:
                    assert task.key not in seen, f"task {task.key} came due twice in one run"
                    seen.add(task.key)
                try:
                    done += self._run_isolated(batch, actor, mailer)
                except BaseException:
                    self.index.requeue(batch)  # a failed run leaves its work due for the next
                    raise
                gc.freeze()  # what this batch left alive joins what the run found
        self.keys.purge(self.tx.now())
        return done

    def _run_isolated(
        self, batch: list[tuple[UUID, Task]], actor: str | None, mailer: Mailer | None
    ) -> int:
        """Carries out a batch; tasks the domain raised on are set aside and the batch runs
        again without them, from the start (what the failed attempt recorded is found
        done), so one bad account never stops the others. Bounded: each round sets at
        least one task aside. How many tasks were carried out."""
        pending = batch
        for _ in range(len(batch)):
            try:
                self._run_batch(pending, actor, mailer)
                return len(pending)
            except TaskFailed as failed:
                self._set_aside(failed.tasks, actor)
                gone = {task.aggregate_id for task in failed.tasks}
                pending = [item for item in pending if item[0] not in gone]
            if not pending:
                break
        return 0

    def _run_batch(
        self, batch: list[tuple[UUID, Task]], actor: str | None, mailer: Mailer | None
    ) -> None:
        aggregate_id, task = batch[0]
        if task.kind is TaskKind.ERASURE:
            if mailer is not None:
                self.mail.deliver(mailer)
            self._carry_out_erasure(aggregate_id, task, actor)
        else:
            self._run_tasks(batch, actor)

    def _run_tasks(self, batch: list[tuple[UUID, Task]], actor: str | None) -> None:
        """Work of one kind due at one instant, for many accounts in TIME-3's order: one
        transaction for the work (numbers taken in that order), then the charges it made
        due, recorded in one more (money moves only after its invoice is recorded)."""
        at = batch[0][1].due_at
        ids = [account_id for account_id, _ in batch]
        saved: dict[UUID, Account] = {}
        # The batch's keys in one query, not one per personal field it opens or seals.
        with self.keys.prefetched(ids):
            if batch[0][1].kind is not TaskKind.PAYMENT:

                def work(unit: Unit) -> None:
                    _preload(unit, ids)
                    for account_id, task in batch:
                        with task_of(account_id, task):
                            account = unit.account(account_id)
                            account.run_task(task, unit.terms, unit.numbering)

                _, _, changed = self.tx.transact(work, at=at, actor=actor)
                saved = {a.id: a for a in changed if isinstance(a, Account)}
            self.payments.collect(ids, at, actor, saved, tasks=dict(batch))

    def _carry_out_erasure(self, aggregate_id: UUID, task: Task, actor: str | None) -> None:
        """GDPR-2/5: destroys the keys whose retention ended, then records it. The keys go
        first: after a crash in between the data is already unreadable, and the task, still
        due, records the fact on the next run. The run purges the storage once, at its
        end."""
        with task_of(aggregate_id, task):
            found = self.tx.store.aggregate(aggregate_id)
        if isinstance(found, Subject):
            with task_of(aggregate_id, task):
                still_due = found.next_task(self.reader.linked_account(found)) == task
            if not still_due:
                return
            self.keys.shred_scopes(found.id, [Scope.SUBJECT], task.due_at)
            self.keys.forget_subject(found.id, task.due_at)

            def erase_subject(unit: Unit) -> None:
                subject = unit.get(aggregate_id, Subject)
                with task_of(aggregate_id, task):
                    subject.erase_on_lapse(unit.at)

            self.tx.transact(erase_subject, at=task.due_at, actor=actor)
        else:
            assert isinstance(found, Account)
            with task_of(aggregate_id, task):
                scopes = found.scopes_due(task.due_at)
            self.keys.shred_scopes(found.id, scopes, task.due_at)

            def erase_account(unit: Unit) -> None:
                account = unit.account(aggregate_id)
                with task_of(aggregate_id, task):
                    account.erase_personal_data(scopes, "retention_ended", unit.at)

            self.tx.transact(erase_account, at=task.due_at, actor=actor)

    def _set_aside(self, failed: list[FailedTask], actor: str | None) -> None:
        """Records on each aggregate that its task raised and waits for an operator
        (Account.WorkSetAside): nothing is due of it, in any process, until released.
        One that cannot even be loaded (its events cannot be read) is kept apart by this
        process's index instead, and shown as unreadable."""
        for item in failed:

            def work(unit: Unit, item: FailedTask = item) -> None:
                holder = unit.get(item.aggregate_id, Aggregate)
                assert isinstance(holder, Account | Subject)
                holder.set_aside_work(item.task, item.failure.error, item.failure.where, unit.at)

            try:
                self.tx.transact(work, actor=actor)
            except PersistenceError:
                raise
            except Exception:
                self.index.forget(item.aggregate_id)

    def failed(self) -> list[dict[str, Any]]:
        """Due work set aside because it raised, with its error's type and where it was
        raised, oldest failure first (for operators: API `admin`, CLI); then the
        aggregates whose events this code cannot read, which no work reaches until it
        can (after a fix and a restart: kind `unreadable`, not retried by key)."""
        with self.caught_up() as index:
            held = dict(index.held)
            unreadable = dict(index.unreadable)
        rows = [held_view(i, h) for i, h in sorted(held.items(), key=lambda i: i[1].at)]
        return rows + [unreadable_view(i, f) for i, f in unreadable.items()]

    def retry(self, key: str, *, actor: str | None = "operator") -> dict[str, Any]:
        """Releases a task that was set aside, now that its cause is fixed, and carries it
        out: at its own due instant, with the numbers it takes from its series then
        (README). Done once however often it is retried: a task done already is not
        found due again, and a released one is no longer set aside. The task as it stands
        after: done, or set aside again."""
        with self.caught_up() as index:
            holder = next((i for i, h in index.held.items() if h.key == key), None)
            if holder is None:
                raise invalid("key", "no due work set aside under this key")

            def release(unit: Unit) -> Task:
                found = unit.get(holder, Aggregate)
                assert isinstance(found, Account | Subject)
                return found.release_work(key, unit.at)

            task, _, _ = self.tx.transact(release, actor=actor)
            assert task is not None
            try:
                self._run_batch([(holder, task)], actor, None)
            except TaskFailed as failed:
                self._set_aside(failed.tasks, actor)
            index.catch_up()
            again = index.held.get(holder)
        self.keys.purge(self.tx.now())
        if again is not None and again.key == key:
            return held_view(holder, again)
        return {"key": key, "aggregate": str(holder), "state": "done"}


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Leaves the objects alive when a due-work run starts (the aggregate cache, the due
    index), and those each batch leaves alive (the run freezes them as it goes), out of the
    garbage collector's full collections until the run ends. A run makes many objects that
    live on, and each full collection walked all of them again (bench/README.md).
    Reference counting still frees what the run drops; afterwards the frozen objects are
    collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _preload(unit: Unit, ids: list[UUID]) -> None:
    """The batch's accounts folded from one query; when one of them cannot be folded (a
    stored event this code cannot read), each is loaded on its own instead, so that its
    failure names its own task."""
    try:
        unit.preload(ids)
    except PersistenceError:
        raise
    except Exception:
        return
