"""Point-in-time reads without folding a whole history: a per-aggregate index of
checkpoints, kept in this process's memory (derived data, like the due index).

TIME-2 reads an aggregate as it was known at `known_at` about business time `as_of`: the
events recorded by `known_at` and effective by `as_of`, folded in the order recorded
(`domain.model.as_known`). A checkpoint is the aggregate after its first `version` stored
events, with the latest recording and effective instants among them; a query may start
from any checkpoint all of whose events it would fold. The events after it are read from
the store a chunk at a time, and a chunk none of whose events the query would fold (its
earliest instants are past the query's) is not read at all.

The index is built on an aggregate's first point-in-time read in this process (one fold of
its history) and extended from the store on every later one. It holds personal data as
the aggregate cache does; when the log records an erasure (the keys are destroyed before
that), the aggregate's index is dropped, so what was erased is not read from memory.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from adapters.store import EventStoreApp
from domain.account import Account
from domain.model import Aggregate, Event, as_known, visible
from domain.subjects import Subject

CHUNK = 64  # stored events between checkpoints: what a query folds at most past one
INDEXED_AGGREGATES = 64  # aggregates indexed at once, the least recently read dropped
ERASURES = (Account.PersonalDataErased, Subject.Erased)


@dataclass
class Chunk:
    """Stored events `first`..`last`: their earliest and latest instants."""

    first: int
    last: int
    earliest_recorded: datetime
    earliest_effective: datetime
    latest_recorded: datetime
    latest_effective: datetime

    def add(self, event: Event) -> None:
        assert event.recorded_at is not None
        self.last = event.originator_version
        self.earliest_recorded = min(self.earliest_recorded, event.recorded_at)
        self.earliest_effective = min(self.earliest_effective, event.effective_at)
        self.latest_recorded = max(self.latest_recorded, event.recorded_at)
        self.latest_effective = max(self.latest_effective, event.effective_at)

    def may_hold(self, as_of: datetime | None, known_at: datetime | None) -> bool:
        """Whether a query at these bounds could fold any of the chunk's events."""
        return visible(
            self.earliest_recorded, self.earliest_effective, as_of=as_of, known_at=known_at
        )


@dataclass
class Checkpoint:
    """The aggregate after its first `version` stored events (all chunks before it)."""

    version: int
    latest_recorded: datetime
    latest_effective: datetime
    aggregate: Aggregate

    def covered_by(self, as_of: datetime | None, known_at: datetime | None) -> bool:
        """Whether a query at these bounds folds every event the checkpoint holds."""
        return visible(self.latest_recorded, self.latest_effective, as_of=as_of, known_at=known_at)


@dataclass
class Timeline:
    """One aggregate's checkpoints and chunks, up to `version`."""

    head: Aggregate | None = None  # every stored event folded
    chunks: list[Chunk] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The last stored event indexed."""
        return self.chunks[-1].last if self.chunks else 0

    def extend(self, events: list[Event]) -> None:
        for event in events:
            assert event.recorded_at is not None
            self.head = event.mutate(self.head)
            version = event.originator_version
            if not self.chunks or self.chunks[-1].last - self.chunks[-1].first + 1 == CHUNK:
                at, when = event.recorded_at, event.effective_at
                self.chunks.append(Chunk(version, version, at, when, at, when))
            else:
                self.chunks[-1].add(event)
            if version % CHUNK == 0:
                chunk = self.chunks[-1]
                before = self.checkpoints[-1] if self.checkpoints else None
                recorded, effective = chunk.latest_recorded, chunk.latest_effective
                if before is not None:
                    recorded = max(recorded, before.latest_recorded)
                    effective = max(effective, before.latest_effective)
                self.checkpoints.append(
                    Checkpoint(version, recorded, effective, copy.deepcopy(self.head))
                )

    def start(self, as_of: datetime | None, known_at: datetime | None) -> Checkpoint | None:
        """The latest checkpoint the query folds all of (their bounds only grow)."""
        for checkpoint in reversed(self.checkpoints):
            if checkpoint.covered_by(as_of, known_at):
                return checkpoint
        return None


class HistoryIndex:
    def __init__(self, store: EventStoreApp) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._timelines: OrderedDict[UUID, Timeline] = OrderedDict()

    def as_known(
        self, aggregate_id: UUID, *, as_of: datetime | None, known_at: datetime | None
    ) -> Aggregate | None:
        """What `domain.model.as_known` gives over the aggregate's whole history."""
        with self._lock:
            timeline = self._timeline(aggregate_id)
            start = timeline.start(as_of, known_at)
            found = copy.deepcopy(start.aggregate) if start is not None else None
            after = start.version if start is not None else 0
            for chunk in timeline.chunks:
                if chunk.last <= after or not chunk.may_hold(as_of, known_at):
                    continue
                found = as_known(
                    self._events(aggregate_id, max(after, chunk.first - 1), chunk.last),
                    as_of=as_of,
                    known_at=known_at,
                    start=found,
                )
            return found

    def _timeline(self, aggregate_id: UUID) -> Timeline:
        timeline = self._timelines.pop(aggregate_id, None) or Timeline()
        new = self._events(aggregate_id, timeline.version, None)
        if timeline.version and any(isinstance(event, ERASURES) for event in new):
            timeline = Timeline()  # read again with the keys as they are now
            new = self._events(aggregate_id, 0, None)
        timeline.extend(new)
        self._timelines[aggregate_id] = timeline
        while len(self._timelines) > INDEXED_AGGREGATES:
            self._timelines.popitem(last=False)
        return timeline

    def _events(self, aggregate_id: UUID, after: int, upto: int | None) -> list[Event]:
        stored = self._store.recorder.select_events(aggregate_id, gt=after, lte=upto)
        return [self._store.event(s) for s in stored]
