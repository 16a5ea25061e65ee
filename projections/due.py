"""Which account or data subject has work due next: an in-memory index that follows the
notification log.

It is derived data: rebuilt from the log at start-up and kept current by reading only the
notifications it has not seen, whichever process wrote them.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import get_topic

from adapters.failures import Failure
from adapters.store import EventStoreApp
from domain.account import Account
from domain.model import Aggregate
from domain.schedule import SetAside, Task, TaskKind
from domain.subjects import Subject

LOG_PAGE_SIZE = 500
FOLD_BATCH = 100  # aggregates folded from one query when the log showed they changed
ACCOUNT_TOPIC_PREFIX = get_topic(Account) + "."
SUBJECT_TOPIC_PREFIX = get_topic(Subject) + "."
OPENED_TOPIC = get_topic(Account.Opened)

HeapEntry = tuple[datetime, int, int, UUID, str]  # due, TIME-3 rank, order, holder, key


class DueIndex:
    def __init__(self, store: EventStoreApp) -> None:
        self._store = store
        self.position = 0
        self.opening_order: dict[UUID, int] = {}  # TIME-3: accounts in the order opened
        self.first_seen: dict[UUID, int] = {}  # subjects, in the order first recorded
        self.subjects_of: dict[UUID, set[UUID]] = {}  # account -> subjects linked to it
        self._next: dict[UUID, Task | None] = {}
        self._versions: dict[UUID, int] = {}  # accounts' and subjects' latest versions
        self._heap: list[HeapEntry] = []
        self.held: dict[UUID, SetAside] = {}  # due work set aside, by aggregate
        self.unreadable: dict[UUID, Failure] = {}  # aggregates whose events cannot be read

    def catch_up(self, upto: int | None = None) -> None:
        """Reads the log on from where it stopped (up to position `upto`)."""
        changed: dict[UUID, None] = {}
        while True:
            page = self._store.recorder.select_notifications(
                start=self.position, limit=LOG_PAGE_SIZE, stop=upto, inclusive_of_start=False
            )
            for notification in page:
                originator = UUID(str(notification.originator_id))
                if notification.topic.startswith(ACCOUNT_TOPIC_PREFIX):
                    if notification.topic == OPENED_TOPIC:
                        self.opening_order[originator] = notification.id
                    changed[originator] = None
                    changed.update(dict.fromkeys(self.subjects_of.get(originator, ())))
                    self._versions[originator] = notification.originator_version
                elif notification.topic.startswith(SUBJECT_TOPIC_PREFIX):
                    self.first_seen.setdefault(originator, notification.id)
                    changed[originator] = None
                    self._versions[originator] = notification.originator_version
                self.position = notification.id
            if len(page) < LOG_PAGE_SIZE:
                break
        ids = list(changed)
        for start in range(0, len(ids), FOLD_BATCH):
            batch = ids[start : start + FOLD_BATCH]
            latest = self._readable(batch)
            linked = {
                s.account_id for s in latest.values() if isinstance(s, Subject) and s.account_id
            }
            latest |= self._readable(list(linked - latest.keys()))
            for aggregate_id in batch:
                if aggregate_id in latest:
                    self.refresh(latest[aggregate_id], latest)

    def _readable(self, aggregate_ids: list[UUID]) -> dict[UUID, Aggregate]:
        """The aggregates folded together; when that fails (an aggregate whose events this
        code cannot read), one by one: those that cannot be read are kept in `unreadable`
        with their error and left as they were scheduled, so the others go on (a task
        they still have due is set aside when it is carried out)."""
        try:
            return self._latest(aggregate_ids)
        except PersistenceError:
            raise
        except Exception:
            found: dict[UUID, Aggregate] = {}
            for aggregate_id in aggregate_ids:
                try:
                    found |= self._latest([aggregate_id])
                except PersistenceError:
                    raise
                except Exception as error:
                    self.unreadable[aggregate_id] = Failure.of(error)
            return found

    def _latest(self, aggregate_ids: list[UUID]) -> dict[UUID, Aggregate]:
        """The aggregates at the latest versions the log showed: the object this process's
        cache holds when it is that one (a command here just saved it; the index only
        reads it), the others folded from the store in one go without personal data, which
        no task depends on."""
        found: dict[UUID, Aggregate] = {}
        for aggregate_id in aggregate_ids:
            version = self._versions.get(aggregate_id)
            cached = None if version is None else self._store.cached_at(aggregate_id, version)
            if cached is not None:
                found[aggregate_id] = cached
        missing = [i for i in aggregate_ids if i not in found]
        return found | self._store.folded_facts(missing)

    def refresh(self, found: Aggregate, latest: dict[UUID, Aggregate]) -> None:
        """Schedules the next task of `found`; `latest` holds its account if it is a
        subject linked to one."""
        self.unreadable.pop(found.id, None)
        assert isinstance(found, Account | Subject)
        if found.held is not None:
            self.held[found.id] = found.held  # nothing is due of it until it is released
        else:
            self.held.pop(found.id, None)
        if isinstance(found, Subject):
            account = None
            if found.account_id is not None:
                self.subjects_of.setdefault(found.account_id, set()).add(found.id)
                linked = latest.get(found.account_id)
                if linked is None:
                    return  # its account cannot be read: it stays as it was scheduled
                assert isinstance(linked, Account)
                account = linked
            task = found.next_task(account)
            order = self.first_seen[found.id]
        else:
            assert isinstance(found, Account)
            task = found.next_task()
            order = self.opening_order[found.id]
        self._schedule(found.id, task, order)

    def _schedule(self, aggregate_id: UUID, task: Task | None, order: int) -> None:
        self._next[aggregate_id] = task
        if task is not None:
            entry = (task.due_at, task.kind.rank, order, aggregate_id, task.key)
            heapq.heappush(self._heap, entry)

    def forget(self, aggregate_id: UUID) -> None:
        """Nothing is due of an aggregate that cannot even take the fact that its work was
        set aside (its events cannot be read): it stays apart until a restart reads it."""
        self._next[aggregate_id] = None

    def _top(self) -> HeapEntry | None:
        """The earliest live entry; stale ones (superseded by a refresh) are dropped."""
        while self._heap:
            due_at, rank, _order, account_id, key = self._heap[0]
            task = self._next.get(account_id)
            if task is not None and (task.due_at, task.kind.rank, task.key) == (due_at, rank, key):
                return self._heap[0]
            heapq.heappop(self._heap)
        return None

    def peek(self) -> datetime | None:
        top = self._top()
        return top[0] if top else None

    def pop_due(self, until: datetime) -> tuple[UUID, Task] | None:
        """The earliest due work up to `until`: by instant, then TIME-3's order of kinds,
        then the order the accounts were opened (subjects in the order first recorded)."""
        top = self._top()
        if top is None or top[0] > until:
            return None
        heapq.heappop(self._heap)
        aggregate_id = top[3]
        task = self._next[aggregate_id]
        assert task is not None
        self._next[aggregate_id] = None
        return aggregate_id, task

    def pop_due_batch(self, until: datetime, limit: int) -> list[tuple[UUID, Task]]:
        """The earliest due work, with the work of the same rank in TIME-3's order due at
        the same instant that follows it, up to `limit` pieces: one transaction's worth.
        Erasures come one at a time (their keys go before the record of it)."""
        first = self.pop_due(until)
        if first is None:
            return []
        batch = [first]
        task = first[1]
        while task.kind is not TaskKind.ERASURE and len(batch) < limit:
            top = self._top()
            if top is None or (top[0], top[1]) != (task.due_at, task.kind.rank):
                break
            found = self.pop_due(until)
            assert found is not None
            batch.append(found)
        return batch

    def requeue(self, batch: list[tuple[UUID, Task]]) -> None:
        """Work popped for a run that failed: due again. Whatever that run did record
        shows in the log, and the next catch-up's refresh replaces these entries."""
        for aggregate_id, task in batch:
            order = self.opening_order.get(aggregate_id, self.first_seen.get(aggregate_id, 0))
            self._schedule(aggregate_id, task, order)

    def accounts_in_opening_order(self) -> list[UUID]:
        return sorted(self.opening_order, key=self.opening_order.__getitem__)
