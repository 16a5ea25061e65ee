"""BILL-6's notices in bounded batches: an announced price change tells the owners of the
affected accounts a batch at a time, each batch its own transaction.

The announcement records the change in the price book and starts its `PriceNotice` in one
transaction; then each batch takes the next affected accounts after the notice's place in
the opening order (from the read index), notifies those the rules say are affected and
records the notice's new place, in one transaction. A process cut off between batches
leaves the notice where its last batch put it: the next `send` (the scheduler's every run,
or the same command repeated under its idempotency key) goes on from there, and a batch
two processes race for is recorded by one of them (the other's write conflicts on the
notice and, retried, starts after it). So every affected owner is told once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.commands import AnnouncePriceChange
from domain.pricing import PriceBook, PriceNotice
from ledger import views
from ledger.listings import Listings
from ledger.unit import Transactor, Unit

NOTICE_BATCH = 200  # accounts notified per transaction


class PriceNotices:
    def __init__(self, tx: Transactor, listings: Listings, batch: int = NOTICE_BATCH) -> None:
        self.tx = tx
        self.listings = listings
        self.batch = batch
        self._finished: set[int] = set()  # notices known to be finished (they stay so)

    def announce(
        self,
        command: AnnouncePriceChange,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """BILL-6: records the change and its notice, then sends the notices; the change's
        number in the price book. Repeated under the same key it records nothing again,
        finishes what was left and answers with the same number."""

        def work(unit: Unit) -> int:
            book = unit.price_book()
            change = book.announce(
                unit.terms.catalog,
                plan=command.plan,
                currency=command.currency,
                cycle=command.cycle,
                price=command.price.amount,
                effective_on=command.effective_on,
                at=unit.at,
            )
            # the accounts opened so far: the log up to here holds every one of them
            opened_upto = self.tx.store.recorder.max_notification_id() or 0
            number = len(book.changes) - 1
            unit.add(PriceNotice.start(number, change, opened_upto, unit.at))
            return number

        number, encoded, _ = self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            encode=lambda number: {"number": number},
        )
        self.send(actor=actor, on_batch=on_batch)
        return number if number is not None else int(encoded["number"])

    def change(self, number: int) -> dict[str, Any] | None:
        """BILL-6: an announced change and how far its notices went (None: no such one)."""
        book = self._book()
        if book is None or not 0 <= number < len(book.changes):
            return None
        try:
            notice = self.tx.store.aggregate(PriceNotice.id_for(number))
        except AggregateNotFoundError:
            notice = None  # announced before notices went in batches: told with it, at once
        assert notice is None or isinstance(notice, PriceNotice)
        return views.price_change_view(number, book.changes[number], notice)

    def send(
        self, *, actor: str | None = None, on_batch: Callable[[int], None] | None = None
    ) -> int:
        """Every notice not yet finished, to its end; the accounts gone through. `on_batch`
        is told the running count after each batch is recorded."""
        book = self._book()
        if book is None:
            return 0
        done = 0
        for number in range(len(book.changes)):
            if number in self._finished:
                continue
            while True:
                went, finished = self._batch(PriceNotice.id_for(number), actor)
                done += went
                if went and on_batch is not None:
                    on_batch(done)
                if finished:
                    self._finished.add(number)
                    break
        return done

    def _book(self) -> PriceBook | None:
        try:
            found = self.tx.store.aggregate(PriceBook.ID)
        except AggregateNotFoundError:
            return None  # nothing was ever announced
        assert isinstance(found, PriceBook)
        return found

    def _batch(self, notice_id: UUID, actor: str | None) -> tuple[int, bool]:
        """One batch in one transaction: (accounts gone through, whether the notice is
        finished). A change announced before notices went in batches was notified in its
        own transaction: it has no notice, and nothing is left of it."""

        def work(unit: Unit) -> tuple[int, bool]:
            notice = unit.find(notice_id, PriceNotice)
            if notice is None or notice.finished:
                return 0, True
            change = notice.change
            assert change is not None
            found = self.listings.caught_up().affected(
                change.plan,
                change.currency,
                change.cycle.value,
                notice.after,
                notice.opened_upto,
                self.batch + 1,
            )
            batch = found[: self.batch]
            unit.preload([account_id for _, account_id in batch])
            for _, account_id in batch:
                unit.account(account_id).notify_price_change(change, unit.at)
            after = batch[-1][0] if batch else notice.after
            finished = len(found) <= self.batch
            notice.went_through(after, len(batch), finished, unit.at)
            return len(batch), finished

        result, _, _ = self.tx.transact(work, actor=actor)
        assert result is not None
        return result
