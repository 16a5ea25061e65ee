"""Which account has work due next: an in-memory index that follows the notification log.

It is derived data: rebuilt from the log at start-up and kept current by reading only the
notifications it has not seen, whichever process wrote them.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters.store import EventStoreApp
from domain.account import Account
from domain.schedule import Task

LOG_PAGE_SIZE = 500
ACCOUNT_TOPIC_PREFIX = get_topic(Account) + "."
OPENED_TOPIC = get_topic(Account.Opened)

HeapEntry = tuple[datetime, int, int, UUID, str]


class DueIndex:
    def __init__(self, store: EventStoreApp) -> None:
        self._store = store
        self.position = 0
        self.opening_order: dict[UUID, int] = {}  # TIME-3: accounts in the order opened
        self._next: dict[UUID, Task | None] = {}
        self._heap: list[HeapEntry] = []

    def catch_up(self) -> None:
        changed: dict[UUID, None] = {}
        while True:
            page = self._store.recorder.select_notifications(
                start=self.position, limit=LOG_PAGE_SIZE, inclusive_of_start=False
            )
            for notification in page:
                if notification.topic.startswith(ACCOUNT_TOPIC_PREFIX):
                    account_id = UUID(str(notification.originator_id))
                    if notification.topic == OPENED_TOPIC:
                        self.opening_order[account_id] = notification.id
                    changed[account_id] = None
                self.position = notification.id
            if len(page) < LOG_PAGE_SIZE:
                break
        for account_id in changed:
            account = self._store.aggregate(account_id)
            assert isinstance(account, Account)
            self.refresh(account)

    def refresh(self, account: Account) -> None:
        task = account.next_task()
        self._next[account.id] = task
        if task is not None:
            order = self.opening_order[account.id]
            heapq.heappush(self._heap, (task.due_at, task.kind, order, account.id, task.key))

    def _top(self) -> HeapEntry | None:
        """The earliest live entry; stale ones (superseded by a refresh) are dropped."""
        while self._heap:
            due_at, kind, _order, account_id, key = self._heap[0]
            task = self._next.get(account_id)
            if task is not None and (task.due_at, task.kind, task.key) == (due_at, kind, key):
                return self._heap[0]
            heapq.heappop(self._heap)
        return None

    def peek(self) -> datetime | None:
        top = self._top()
        return top[0] if top else None

    def pop_due(self, until: datetime) -> tuple[UUID, Task] | None:
        """The earliest due work up to `until`: by instant, then TIME-3's order of kinds,
        then the order the accounts were opened."""
        top = self._top()
        if top is None or top[0] > until:
            return None
        heapq.heappop(self._heap)
        account_id = top[3]
        task = self._next[account_id]
        assert task is not None
        self._next[account_id] = None
        return account_id, task

    def accounts_in_opening_order(self) -> list[UUID]:
        return sorted(self.opening_order, key=self.opening_order.__getitem__)
