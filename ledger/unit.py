"""The unit of work: one transaction's aggregates, saved together, retried after a lost race,
and answered once per idempotency key.

Every write of the ledger goes through `Transactor.transact`: the work loads what it needs
through its `Unit`, makes its domain calls, and everything it changed is saved in one
transaction that checks what it only read is still current (optimistic concurrency).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from adapters.clock import Clock
from adapters.store import EventStoreApp
from domain.account import Account
from domain.commands import Command
from domain.dates import check_utc
from domain.errors import DomainError, ErrorCode
from domain.model import Aggregate
from domain.numbering import DocumentKind, InvoiceSeries, Numbering
from domain.policy import Terms
from domain.pricing import PriceBook
from domain.registry import CommandRecord
from domain.residency import Region

MAX_COMMAND_ATTEMPTS = 20  # optimistic-concurrency retries before giving up
RETRY_BACKOFF_BASE_S = 0.002  # first retry waits up to 2 ms, doubling each time
RETRY_BACKOFF_CAP_S = 0.1

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


@dataclass
class Unit:
    """One transaction's worth of work: the aggregates it loaded and will save."""

    store: EventStoreApp
    terms_of: Callable[[PriceBook], Terms]
    at: datetime
    actor: str | None
    region: Region | None = None  # the region whose data the store keeps; None: every one
    # The first attempt starts from the cache; the write checks that what it read is still
    # current. A retry, after a clash, asks the store.
    fresh: bool = False
    loaded: dict[UUID, Aggregate] = field(default_factory=dict)
    viewed: dict[UUID, int] = field(default_factory=dict)  # read in place, at this version
    terms: Terms = field(init=False)
    numbering: Numbering = field(init=False)

    def __post_init__(self) -> None:
        self.terms = self.terms_of(self._prices())
        self.numbering = Numbering(self._series)

    def _prices(self) -> PriceBook:
        """The price book the terms read: the cache's own object, not a copy (nearly every
        command reads it, few change it; a change goes through `price_book`, on a copy).
        Its version is checked at the write like any other read."""
        held = None if self.fresh else self.store.in_cache(PriceBook.ID)
        if not isinstance(held, PriceBook):
            return self.price_book()
        self.viewed[held.id] = held.version
        return held

    def get(self, aggregate_id: UUID, kind: type[A]) -> A:
        if aggregate_id in self.loaded:
            found = self.loaded[aggregate_id]
        else:
            store = self.store
            found = store.aggregate(aggregate_id) if self.fresh else store.cached(aggregate_id)
            found.act_as(self.actor)
            self.loaded[aggregate_id] = found
        assert isinstance(found, kind)
        return found

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate, or None when the store holds none of that id."""
        try:
            return self.get(aggregate_id, kind)
        except AggregateNotFoundError:
            return None

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """Loads these aggregates at once, as `get` would one by one (a batch of due work:
        one query for those the cache lacks)."""
        wanted = [i for i in aggregate_ids if i not in self.loaded]
        for found in self.store.commanded(wanted, fresh=self.fresh).values():
            found.act_as(self.actor)
            self.loaded[found.id] = found

    def account(self, account_id: UUID) -> Account:
        try:
            return self.get(account_id, Account)
        except (AggregateNotFoundError, AssertionError):
            raise DomainError(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}", "account"
            ) from None

    def price_book(self) -> PriceBook:
        return self.singleton(PriceBook.ID, PriceBook, lambda: PriceBook.open(self.at))

    def singleton(self, aggregate_id: UUID, kind: type[A], start: Callable[[], A]) -> A:
        """A singleton aggregate (the price book, a series, a list): made on first use."""
        found = self.find(aggregate_id, kind)
        if found is None:
            found = start()
            self.add(found)
        return found

    def add(self, aggregate: Aggregate) -> None:
        aggregate.act_as(self.actor)
        self.loaded[aggregate.id] = aggregate

    def _series(self, kind: DocumentKind, year: int, at: datetime) -> InvoiceSeries:
        """INV-1: the series of the store's region (the one series of a store of all)."""
        series_id = InvoiceSeries.id_for(kind, year, self.region)
        return self.singleton(
            series_id, InvoiceSeries, lambda: InvoiceSeries.start(kind, year, at, self.region)
        )

    def changed(self) -> list[Aggregate]:
        return [a for a in self.loaded.values() if a.has_pending]

    def reads(self) -> dict[UUID, int]:
        """What the work only read, at the version it read: the write checks it."""
        loaded = {i: a.version for i, a in self.loaded.items() if not a.has_pending}
        return {i: v for i, v in self.viewed.items() if i not in self.loaded} | loaded


class Transactor:
    """Runs work in units and saves it: the one way the ledger writes."""

    def __init__(
        self,
        store: EventStoreApp,
        terms_of: Callable[[PriceBook], Terms],
        clock: Clock,
        region: Region | None = None,
    ) -> None:
        self.store = store
        self.terms_of = terms_of
        self.clock = clock
        self.region = region  # RES-1: the region whose data the store keeps; None: all

    def now(self) -> datetime:
        return check_utc(self.clock.now())

    def transact(
        self,
        work: Callable[[Unit], T],
        *,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
        command: Command | None = None,
        target: UUID | None = None,
        encode: Callable[[T], dict[str, Any]] = lambda _: {},
    ) -> tuple[T | None, dict[str, Any], list[Aggregate]]:
        """Runs `work` and saves what it changed in one transaction, retrying from a fresh
        load when another writer got there first. With an idempotency key, a repeat of the
        same command by the same actor returns the first result and records nothing; the
        key is the actor's own (another token's use of it is another key)."""
        fingerprint = command.fingerprint(target) if command is not None else ""
        key = idempotency_key
        record_id = CommandRecord.id_for(actor, key) if key is not None else None
        for attempt in range(MAX_COMMAND_ATTEMPTS):
            unit = Unit(
                self.store, self.terms_of, at or self.now(), actor, self.region, attempt > 0
            )
            if record_id is not None:
                previous = self.command_record(record_id)
                if previous is not None:
                    if previous.fingerprint != fingerprint:
                        raise DomainError(
                            ErrorCode.IDEMPOTENCY_KEY_REUSED,
                            "this idempotency key was used with a different request",
                            "idempotency_key",
                        )
                    return None, previous.result, []
            result = work(unit)
            encoded = encode(result)
            changed = unit.changed()
            if key is not None:
                changed.append(CommandRecord.record(actor, key, fingerprint, encoded, unit.at))
            try:
                if changed:
                    self.store.save_checked(*changed, reads=unit.reads())
            except IntegrityError:
                _back_off(attempt)
                continue
            return result, encoded, changed
        raise RuntimeError("too many concurrent writers; the command was not recorded")

    def command_record(self, record_id: UUID) -> CommandRecord | None:
        try:
            record = self.store.aggregate(record_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(record, CommandRecord)
        return record

    def repeated(self, actor: str | None, idempotency_key: str | None) -> bool:
        """Whether this actor's command under this key was recorded already."""
        if idempotency_key is None:
            return False
        return self.command_record(CommandRecord.id_for(actor, idempotency_key)) is not None


def _back_off(attempt: int) -> None:
    """Spreads writers that lost a race, so that they do not collide again in lockstep."""
    time.sleep(random.uniform(0, min(RETRY_BACKOFF_CAP_S, RETRY_BACKOFF_BASE_S * 2**attempt)))
