"""Base classes: pydantic events that the eventsourcing library can store and replay, and
aggregates that raise them.

Events are immutable, past tense, nested in their aggregate, and carry the business time
they take effect (`effective_at`, TIME-2). The store adds the recording time
(`recorded_at`) when it writes them; the domain never reads a clock.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Any, ClassVar, Literal, Self, TypeVar, Union, get_args, get_origin
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, PrivateAttr

# Deterministic identities (slug claims, invoice series, idempotency records) live here.
NAMESPACE = UUID("6c1f3b2e-8a4d-5c7e-9f10-2b3c4d5e6f70")


def stable_id(*parts: object) -> UUID:
    return uuid5(NAMESPACE, ":".join(str(p) for p in parts))


class Event(BaseModel):
    """One immutable fact. Subclasses are named in the past tense."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    class_version: ClassVar[int] = 1
    aggregate_type: ClassVar[type[Aggregate]]

    originator_id: UUID
    originator_version: int
    effective_at: datetime
    recorded_at: datetime | None = None
    actor: str | None = None

    def known(self, *, as_of: datetime | None, known_at: datetime | None) -> bool:
        """TIME-2, read both ways: whether a reader at `known_at` (recording time) asking
        about business time `as_of` sees this event. None: no limit."""
        assert self.recorded_at is not None, "a stored event has its recording time"
        return visible(self.recorded_at, self.effective_at, as_of=as_of, known_at=known_at)

    # The eventsourcing library's repository folds events with `mutate`.
    def mutate(self, aggregate: Aggregate | None) -> Aggregate:
        if aggregate is None:
            aggregate = self.aggregate_type.model_construct(id=self.originator_id, version=0)
            aggregate.init_defaults()
        assert aggregate.id == self.originator_id, "event applied to the wrong aggregate"
        assert self.originator_version == aggregate.version + 1, "event out of sequence"
        self.apply(aggregate)
        aggregate.version = self.originator_version
        return aggregate

    def apply(self, aggregate: Any) -> None:
        """How this fact changes its aggregate. Pure; never raises for valid history."""


TEvent = TypeVar("TEvent", bound=Event)


def visible(
    recorded_at: datetime,
    effective_at: datetime,
    *,
    as_of: datetime | None,
    known_at: datetime | None,
) -> bool:
    """TIME-2: whether what was recorded at `recorded_at` and takes effect at `effective_at`
    is seen by a reader at `known_at` about business time `as_of`. None: no limit."""
    return (known_at is None or recorded_at <= known_at) and (
        as_of is None or effective_at <= as_of
    )


def as_known(
    events: Iterable[Event],
    *,
    as_of: datetime | None,
    known_at: datetime | None,
    start: Aggregate | None = None,
) -> Aggregate | None:
    """TIME-2, read both ways: the aggregate as the ledger believed it at `known_at` about
    business time `as_of`. Events recorded after `known_at` are ignored, and events effective
    after `as_of` too; the rest fold in the order recorded. None: nothing of it was known.
    The result is for reading: its version counts the events folded, not the stored ones.
    `start`: what the same read gave over the events before these (it is folded into)."""
    aggregate = start
    for event in events:
        if not event.known(as_of=as_of, known_at=known_at):
            continue
        version = aggregate.version + 1 if aggregate is not None else 1
        aggregate = event.model_copy(update={"originator_version": version}).mutate(aggregate)
    return aggregate


# Values a copy may share with its original: nothing can change them.
IMMUTABLE = (str, int, bytes, Decimal, datetime, date, timedelta, UUID, Enum, type(None))


def _is_value(value: Any) -> bool:
    return _shared(type(value)) or (
        isinstance(value, tuple) and all(_is_value(item) for item in value)
    )


_SHARED: dict[type, bool] = {}  # type -> whether its values are immutable, as first found


def _shared(kind: type) -> bool:
    """Whether every value of this type is immutable (worked out once per type)."""
    found = _SHARED.get(kind)
    if found is None:
        found = _SHARED[kind] = issubclass(kind, IMMUTABLE) or (
            issubclass(kind, BaseModel) and bool(kind.model_config.get("frozen"))
        )
    return found


def _always_shared(hint: Any) -> bool:
    """Whether every value a field of this annotation can hold is immutable."""
    origin = get_origin(hint)
    if origin is Literal:
        return True
    if origin is Union or origin is UnionType:
        return all(_always_shared(arg) for arg in get_args(hint))
    return origin is None and isinstance(hint, type) and _shared(hint)


_COPIED_FIELDS: dict[type, tuple[str, ...]] = {}  # model -> fields that may hold mutables


def _copied_fields(kind: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model a copy must look at: all but those whose annotation admits
    only immutable values (worked out once per model)."""
    found = _COPIED_FIELDS.get(kind)
    if found is None:
        found = _COPIED_FIELDS[kind] = tuple(
            name
            for name, field in kind.model_fields.items()
            if not _always_shared(field.annotation)
        )
    return found


def copied(value: Any) -> Any:
    """A copy of an aggregate's field that shares every immutable part (frozen pydantic
    values, dates, amounts, ids, tuples of these) and copies every mutable one: what
    `deepcopy` would give, without rebuilding values nothing can change."""
    kind = type(value)
    if _shared(kind):
        return value
    if kind is list:
        if all(map(_shared, set(map(type, value)))):  # a history of values: one C-level pass
            return list(value)
        return [copied(item) for item in value]
    if kind is dict:
        return {key: copied(item) for key, item in value.items()}
    if kind is set:
        return {copied(item) for item in value}
    if kind is tuple and all(_is_value(item) for item in value):
        return value
    if isinstance(value, BaseModel):
        model = copy.copy(value)
        fields = model.__dict__
        for name in _copied_fields(kind):
            item = fields.get(name)  # a field left unset holds nothing to copy
            if not _shared(type(item)):
                fields[name] = copied(item)
        return model
    return copy.deepcopy(value)


class Aggregate(BaseModel):
    """A consistency boundary. Commands are methods named as orders; each checks its
    guards (`check_*`) and then triggers events, which `apply` themselves."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: UUID
    version: int = 0
    _pending: list[Event] = PrivateAttr(default_factory=list)
    _actor: str | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for value in list(vars(cls).values()):
            if isinstance(value, type) and issubclass(value, Event):
                value.aggregate_type = cls

    def init_defaults(self) -> None:
        """Fills every field with its default, for an aggregate built by its first event."""
        for name, field in type(self).model_fields.items():
            if name in {"id", "version"}:
                continue
            setattr(self, name, field.get_default(call_default_factory=True))
        object.__setattr__(self, "__pydantic_private__", {"_pending": [], "_actor": None})

    @classmethod
    def create(
        cls,
        event_class: type[Event],
        id: UUID,
        at: datetime,
        actor: str | None = None,
        **fields: Any,
    ) -> Self:
        event = event_class(
            originator_id=id, originator_version=1, effective_at=at, actor=actor, **fields
        )
        aggregate = event.mutate(None)
        assert isinstance(aggregate, cls)
        aggregate._actor = actor
        aggregate._pending.append(event)
        return aggregate

    def act_as(self, actor: str | None) -> None:
        """Names who causes the events triggered from now on (an API token, the scheduler)."""
        self._actor = actor

    def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent:
        event = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            effective_at=at,
            actor=self._actor,
            **fields,
        )
        event.mutate(self)
        self._pending.append(event)
        return event

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """Commands work on a copy of the cached aggregate (the repository deep-copies):
        the copy shares what cannot change (`copied`)."""
        twin = copied(self)
        assert isinstance(twin, type(self))
        twin._pending = list(self._pending)
        return twin

    def collect_events(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)
