"""The event store: the eventsourcing library on SQLite, PostgreSQL or memory, with
pydantic events stored as canonical JSON, each chained to its predecessor's digest."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

import pydantic_core
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Mapper,
    Notification,
    StoredEvent,
    TrackingRecorder,
    Transcoder,
)
from eventsourcing.popo import POPOFactory
from eventsourcing.utils import Environment, get_topic, resolve_topic

from adapters.clock import Clock
from adapters.keys import EventSealer, KeyStore, key_store_for
from adapters.recorders import (
    READS,
    BatchReads,
    CheckedMemoryRecorder,
    CheckedPostgresRecorder,
    CheckedSQLiteRecorder,
    Reads,
)
from adapters.store_format import check_format
from domain.integrity import GENESIS, PREV_HASH, event_digest
from domain.model import Aggregate, Event
from domain.personal import SEALER, WITHHELD


class CanonicalJson(Transcoder):
    """Sorted keys, no spaces: one byte string per event state, so hashes are stable."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def decode(self, data: bytes) -> Any:
        return pydantic_core.from_json(data)


LOG_PAGE_SIZE = 1000  # notifications read at a time when walking the log
# Aggregates a process keeps folded in memory (the library's LRU cache; an operator sets
# AGGREGATE_CACHE_MAXSIZE in the environment to change it). A month-end run touches every
# billed account: with 5,000 cached, a 20,000-account run folded three in four of them from
# the store again (829 renewals/s; 1,665/s with all cached). Measured: 688 MiB for a
# process holding a 20,000-account cohort, ~30 KiB an account.
AGGREGATE_CACHE_MAX = 50_000
HEAD_CACHE_MAX = 100_000  # aggregates whose last digest the mapper remembers


def stored_digest(stored: StoredEvent) -> str:
    """The digest of a stored event as it is in the store (domain.integrity)."""
    return event_digest(
        UUID(str(stored.originator_id)), stored.originator_version, stored.topic, stored.state
    )


class ChainHeads:
    """The digest of each aggregate's last committed event this process wrote or read, so
    that the next event can carry it as `prev_hash`.

    What a thread encodes stays its own until the store confirms the write (`committed`):
    a writer that loses a race must never leave its digest for another thread to chain
    onto. A miss (another process wrote the predecessor, or the cache was trimmed) reads
    the predecessor back from the store: stored events never change, so that answer is
    never stale."""

    def __init__(self, read_back: Callable[[UUID, int], StoredEvent]) -> None:
        self._read_back = read_back
        self._heads: dict[UUID, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _pending(self) -> dict[UUID, tuple[int, str]]:
        pending: dict[UUID, tuple[int, str]] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = {}
        return pending

    def remember(self, stored: StoredEvent, digest: str) -> None:
        """A committed event, read from the store: the head unless a later one is known."""
        self._keep({UUID(str(stored.originator_id)): (stored.originator_version, digest)})

    def _keep(self, heads: dict[UUID, tuple[int, str]]) -> None:
        with self._lock:
            if len(self._heads) + len(heads) > HEAD_CACHE_MAX:
                self._heads.clear()
            for holder, head in heads.items():
                if head[0] >= self._heads.get(holder, (0, ""))[0]:
                    self._heads[holder] = head

    def encoded(self, stored: StoredEvent, digest: str) -> None:
        """An event this thread is about to write."""
        self._pending()[UUID(str(stored.originator_id))] = (stored.originator_version, digest)

    def committed(self) -> None:
        """The store took this thread's events: they are heads now."""
        self._keep(self._pending())
        self._pending().clear()

    def discarded(self) -> None:
        """The write failed: nothing this thread encoded exists."""
        self._pending().clear()

    def previous(self, holder: UUID, version: int) -> str:
        """The digest `version` must carry: its predecessor's, GENESIS for the first."""
        if version == 1:
            return GENESIS
        for heads in (self._pending(), self._heads):
            head = heads.get(holder)
            if head is not None and head[0] == version - 1:
                return head[1]
        return stored_digest(self._read_back(holder, version - 1))


class PydanticMapper(Mapper[Any]):
    """Stores pydantic events; adds the recording time from the injected clock (TIME-2),
    seals personal fields under their holder's key (GDPR-4) and chains each event to its
    predecessor's digest (domain.integrity)."""

    def __init__(self, transcoder: Transcoder, clock: Clock, **kwargs: Any) -> None:
        super().__init__(transcoder=transcoder, **kwargs)
        self._clock = clock
        self.keys: KeyStore | None = None  # set by the application once its recorder exists
        self.heads: ChainHeads | None = None  # likewise

    def _sealer(self, originator_id: Any, version: int) -> dict[str, EventSealer]:
        assert self.keys is not None, "the mapper was used before it had its key store"
        holder = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        return {SEALER: EventSealer(self.keys, holder, version, self._clock.now())}

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, Event)
        state = domain_event.model_dump(
            mode="json",
            exclude={"originator_id", "originator_version"},
            context=self._sealer(domain_event.originator_id, domain_event.originator_version),
        )
        if state.get("recorded_at") is None:
            state["recorded_at"] = self._clock.now().isoformat()
        class_version = type(domain_event).class_version
        if class_version > 1:
            state["class_version"] = class_version
        assert self.heads is not None, "the mapper was used before it had its chain"
        state[PREV_HASH] = self.heads.previous(
            domain_event.originator_id, domain_event.originator_version
        )
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        stored = StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=stored_state,
        )
        self.heads.encoded(stored, stored_digest(stored))
        return stored

    def stored_state(self, stored_event: StoredEvent) -> dict[str, Any]:
        """The stored state as a mapping, personal fields still sealed."""
        stored_state = stored_event.state
        if self.cipher:
            stored_state = self.cipher.decrypt(stored_state)
        if self.compressor:
            stored_state = self.compressor.decompress(stored_state)
        state: dict[str, Any] = self.transcoder.decode(stored_state)
        return state

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self.heads is not None:
            self.heads.remember(stored_event, stored_digest(stored_event))
        return self.decode(stored_event, self._sealer)

    def decode(
        self, stored_event: StoredEvent, sealer: Callable[[Any, int], dict[str, Any]]
    ) -> Event:
        """The domain event; its personal fields opened through `sealer`'s context."""
        state = self.stored_state(stored_event)
        state.pop(PREV_HASH, None)
        cls: type[Event] = resolve_topic(stored_event.topic)
        from_version = state.pop("class_version", 1)
        while from_version < cls.class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        context = sealer(stored_event.originator_id, stored_event.originator_version)
        return cls.model_validate(state, context=context)


def _withheld(originator_id: Any, version: int) -> dict[str, Any]:
    return {SEALER: WITHHELD}


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:///PATH store; None for any other store."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        return None
    path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else parsed.path
    if not path:
        raise ValueError(f"a sqlite store needs a file path: {url!r}")
    return Path(path)


def store_env(url: str) -> dict[str, str]:
    """One setting selects the store: memory://, sqlite:///path or postgresql://..."""
    parsed = urlparse(url)
    if parsed.scheme in ("memory", "popo"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parsed.scheme == "sqlite":
        path = str(sqlite_file(url))
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": get_topic(CheckedSQLiteRecorder),
        }
    if parsed.scheme in ("postgresql", "postgres"):
        query = parse_qs(parsed.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["20"])[0],
            "POSTGRES_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": get_topic(CheckedPostgresRecorder),
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise ValueError(f"unknown store {url!r}: use memory://, sqlite:///PATH or postgresql://...")


V = TypeVar("V", bound=TrackingRecorder)


def tracking_view(
    store_url: str,
    name: str,
    sqlite_kind: type[V],
    postgres_kind: type[V],
    *,
    pool_size: int | None = None,
) -> V:
    """A projection's view (a `TrackingRecorder`) beside the store: in the same SQLite file
    or PostgreSQL schema (with `pool_size` connections kept open, more when busy, if given);
    for the in-memory store, an SQLite database in memory."""
    env = store_env(store_url)
    if pool_size is not None and env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        env["POSTGRES_POOL_SIZE"] = str(pool_size)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.popo":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": ":memory:",
            "CREATE_TABLE": "y",
        }
    factory = InfrastructureFactory[Any].construct(env=Environment(name.upper(), env))
    sqlite = env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    view = factory.tracking_recorder(sqlite_kind if sqlite else postgres_kind)
    assert isinstance(view, sqlite_kind if sqlite else postgres_kind)
    return view


def shown(url: str) -> str:
    """The store's URL as it may be printed or logged: its password masked, whether in
    the user part or a `password=` parameter."""
    parsed = urlparse(url)
    netloc = parsed.netloc
    if parsed.password is not None:
        netloc = netloc.replace(f":{parsed.password}@", ":***@", 1)
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parsed.query)
    if (netloc, query) == (parsed.netloc, parsed.query):
        return url
    return parsed._replace(netloc=netloc, query=query).geturl()


class EventStoreApp(Application[Any]):
    """The library's application object: repository, event store, notification log."""

    name = "seatledger"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": str(AGGREGATE_CACHE_MAX)}

    def __init__(self, store_url: str, clock: Clock) -> None:
        self._clock = clock
        super().__init__(env=store_env(store_url))
        datastore = getattr(self.recorder, "datastore", None)
        check_format(datastore, self.recorder)
        events_table = getattr(self.recorder, "events_table_name", "stored_events")
        self.keys = key_store_for(datastore, events_table)
        assert isinstance(self.mapper, PydanticMapper)
        self.mapper.keys = self.keys
        self.mapper.heads = ChainHeads(self.stored_event)

    def construct_mapper(self) -> Mapper[Any]:
        return PydanticMapper(
            transcoder=CanonicalJson(),
            clock=self._clock,
            cipher=self.factory.cipher(),
            compressor=self.factory.compressor(),
        )

    def construct_recorder(self) -> ApplicationRecorder:
        if isinstance(self.factory, POPOFactory):
            return CheckedMemoryRecorder()
        return super().construct_recorder()

    def save_checked(self, *aggregates: Aggregate, reads: Reads) -> None:
        """Saves in one transaction, refused (IntegrityError) if any aggregate in `reads`
        is no longer at the version read (adapters.recorders).

        The library's `save` with its collecting step done here: `save` asks of each
        object whether it is an event or an aggregate through two runtime-checked
        protocols, and `isinstance` against a protocol walks its members on every call
        (a tenth of a seat change's client time). Only aggregates come here."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs[READS] = reads
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)

    def _record(self, processing_event: Any) -> Any:
        """The library's write, telling the chain whether its events now exist, and
        keeping what it saved in the cache for the next command to start from."""
        assert isinstance(self.mapper, PydanticMapper) and self.mapper.heads is not None
        try:
            recordings = super()._record(processing_event)
        except BaseException:
            self.mapper.heads.discarded()
            raise
        self.mapper.heads.committed()
        if self.repository.cache is not None:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    def aggregate(self, aggregate_id: UUID) -> Aggregate:
        """The aggregate's current state; AggregateNotFoundError when there is none."""
        found: Aggregate = self.repository.get(aggregate_id)
        return found

    def in_cache(self, aggregate_id: UUID) -> Aggregate | None:
        """The cache's own object (not a copy: read it, never change it), or None."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            found = cache.get(aggregate_id)
        except KeyError:
            return None
        assert isinstance(found, Aggregate)
        return found

    def cached(self, aggregate_id: UUID) -> Aggregate:
        """A copy of the aggregate as this process last saw it, without asking the store
        whether it has moved on: for a command, whose write checks that (`save_checked`)."""
        found = self.in_cache(aggregate_id)
        return copy.deepcopy(found) if found is not None else self.aggregate(aggregate_id)

    def cached_at(self, aggregate_id: UUID, version: int) -> Aggregate | None:
        """The cache's own object when it holds the aggregate at `version`, else None: for
        a reader that knows, from the log, which version is the latest, and only reads it.
        Commands work on copies; the library moves a cached object on in place only when
        the store holds later events, which such a reader then finds in the log."""
        found = self.in_cache(aggregate_id)
        return found if found is not None and found.version == version else None

    def commanded(self, aggregate_ids: list[UUID], *, fresh: bool) -> dict[UUID, Aggregate]:
        """Copies of these aggregates for a command, as `cached` gives them (every one from
        the store when `fresh`), those the cache lacks folded from one query and cached.
        An aggregate with no events is left out."""
        found: dict[UUID, Aggregate] = {}
        missing: list[UUID] = []
        for aggregate_id in aggregate_ids:
            held = None if fresh else self.in_cache(aggregate_id)
            if held is None:
                missing.append(aggregate_id)
            else:
                found[aggregate_id] = copy.deepcopy(held)
        for aggregate_id, aggregate in self._folded(missing, self.event).items():
            if self.repository.cache is not None:
                self.repository.cache.put(aggregate_id, aggregate)
            found[aggregate_id] = copy.deepcopy(aggregate)
        return found

    def _folded(
        self, aggregate_ids: list[UUID], decode: Callable[[StoredEvent], Event]
    ) -> dict[UUID, Aggregate]:
        assert isinstance(self.recorder, BatchReads), "every store's recorder is checked"
        folded: dict[UUID, Aggregate] = {}
        for stored in self.recorder.select_events_of(aggregate_ids):
            holder = UUID(str(stored.originator_id))
            folded[holder] = decode(stored).mutate(folded.get(holder))
        return folded

    def folded_facts(self, aggregate_ids: list[UUID]) -> dict[UUID, Aggregate]:
        """These aggregates folded from their events with personal fields withheld (`fact`):
        for a reader that needs no personal data, so no key is looked up. An aggregate with
        no events is left out."""
        return self._folded(aggregate_ids, self.fact)

    def notifications(self, after: int = 0, upto: int | None = None) -> Iterator[Notification]:
        """The log from `after` (exclusive) to `upto` (inclusive), in order, a page at a
        time."""
        position = after
        while True:
            page = self.recorder.select_notifications(
                start=position, limit=LOG_PAGE_SIZE, stop=upto, inclusive_of_start=False
            )
            yield from page
            if len(page) < LOG_PAGE_SIZE:
                return
            position = page[-1].id

    def stored_event(self, originator_id: UUID, version: int) -> StoredEvent:
        """One stored event, exactly as stored."""
        found = self.recorder.select_events(originator_id, gt=version - 1, lte=version, limit=1)
        assert found, f"event {originator_id} v{version} is not in the store"
        return found[0]

    def event(self, stored: StoredEvent) -> Event:
        decoded = self.mapper.to_domain_event(stored)
        assert isinstance(decoded, Event)
        return decoded

    def fact(self, stored: StoredEvent) -> Event:
        """The event for a fold that needs no personal data (the finance projection): its
        personal fields read as None and no key is looked up; the chain is not touched."""
        assert isinstance(self.mapper, PydanticMapper)
        return self.mapper.decode(stored, _withheld)
