"""Auditors' tools over the event log: the heads a checkpoint seals, verification of the
hash chains and checkpoints (domain.integrity), replay of the finance projection into a
scratch store compared with the live one, and the trail of rules and events behind a
document.

Verification reads the stored bytes only: it never decrypts a personal field, so it works
the same before and after an erasure (GDPR-4).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.utils import get_topic

from adapters.store import EventStoreApp, PydanticMapper, stored_digest
from domain.account import Account, issued_by
from domain.accounting import Books
from domain.dates import iso
from domain.integrity import GENESIS, PREV_HASH, Head, LogSeal, merkle_root
from domain.invoicing import Invoice
from domain.model import Event
from projections import read_index
from projections.finance import BOOKS_TABLE, FinanceProjection, view_for
from projections.finance import KEYS as FINANCE_KEYS
from projections.invoices import issuer
from projections.read_index import ReadIndex, index_view_for

PROGRESS_EVERY = 1000  # events between progress reports
CHECKPOINTED = get_topic(LogSeal.Checkpointed)


def moved_heads(store: EventStoreApp, after: int, upto: int) -> dict[str, Head]:
    """The head of every aggregate that recorded an event in (after, upto], except the seal
    itself (its own chain protects the checkpoints)."""
    heads: dict[str, Head] = {}
    for notification in store.notifications(after, upto):
        if notification.originator_id != LogSeal.ID:
            heads[str(notification.originator_id)] = Head(
                version=notification.originator_version, digest=stored_digest(notification)
            )
    return heads


@dataclass(frozen=True)
class Finding:
    """One stored event that does not match what the log recorded for it."""

    position: int | None  # its notification position (None: it is missing)
    aggregate: str
    version: int
    problem: str

    def describe(self) -> str:
        where = f"position {self.position}" if self.position is not None else "missing"
        return f"event {self.aggregate} v{self.version} ({where}): {self.problem}"


@dataclass
class Verification:
    events: int = 0
    checkpoints: int = 0
    unsealed: int = 0  # events after the last checkpoint: chained, but no root covers them
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        placed = [f for f in self.findings if f.position is not None]
        return min(placed, key=lambda f: f.position or 0) if placed else None

    def summary(self) -> dict[str, Any]:
        first = self.first or (self.findings[0] if self.findings else None)
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "unsealed_events": self.unsealed,
            "first_bad_event": first.describe() if first else None,
            "findings": [f.describe() for f in self.findings],
        }


@dataclass(frozen=True)
class Seen:
    """An aggregate's last event seen so far in the walk."""

    version: int
    digest: str
    position: int


@dataclass(frozen=True)
class Sealed:
    position: int
    root: str
    changed: dict[str, Head]


class Verifier:
    """One walk over the log, in order, checking every link and every checkpoint."""

    def __init__(self, store: EventStoreApp) -> None:
        assert isinstance(store.mapper, PydanticMapper)
        self.mapper = store.mapper
        self.store = store
        self.seen: dict[UUID, Seen] = {}
        self.moved: set[UUID] = set()  # aggregates with events since the last checkpoint
        self.result = Verification()

    def find(self, position: int | None, aggregate: object, version: int, problem: str) -> None:
        self.result.findings.append(Finding(position, str(aggregate), version, problem))

    def state(self, stored: StoredEvent, position: int | None) -> dict[str, Any] | None:
        try:
            state = self.mapper.stored_state(stored)
        except (ValueError, UnicodeDecodeError):
            self.find(position, stored.originator_id, stored.originator_version, "unreadable")
            return None
        return state if isinstance(state, dict) else None

    def checkpoints(self) -> list[Sealed]:
        """The seal's checkpoints, read straight from its stored events."""
        found = []
        for stored in self.store.recorder.select_events(LogSeal.ID):
            state = self.state(stored, None)
            if stored.topic != CHECKPOINTED or state is None:
                continue
            try:
                changed = {k: Head.model_validate(v) for k, v in state["changed"].items()}
                found.append(Sealed(int(state["position"]), str(state["root"]), changed))
            except (KeyError, TypeError, ValueError, AttributeError):
                self.find(None, LogSeal.ID, stored.originator_version, "not a checkpoint")
        return found

    def link(self, notification: Notification) -> None:
        """The event must follow its predecessor and carry the predecessor's digest."""
        holder = UUID(str(notification.originator_id))
        version = notification.originator_version
        before = self.seen.get(holder)
        expected_version = before.version + 1 if before else 1
        if version != expected_version:
            self.find(
                None, holder, expected_version, f"missing: the next event recorded is v{version}"
            )
        state = self.state(notification, notification.id)
        if state is not None and before is not None and version == expected_version:
            if state.get(PREV_HASH) != before.digest:
                self.find(
                    before.position,
                    holder,
                    before.version,
                    f"its stored bytes hash to {before.digest[:12]}..., but v{version} recorded "
                    f"{str(state.get(PREV_HASH))[:12]}... as its predecessor",
                )
        elif state is not None and before is None and state.get(PREV_HASH) != GENESIS:
            self.find(notification.id, holder, version, "its chain does not start at genesis")
        self.seen[holder] = Seen(version, stored_digest(notification), notification.id)
        self.moved.add(holder)

    def seal(self, sealed: Sealed, recorded: dict[str, Head], *, last: bool) -> None:
        """The heads a checkpoint recorded as moved must be the heads that moved in the log
        since the previous one. The root is recomputed over all heads at the last
        checkpoint; an earlier one's bytes are covered by the seal's own chain, so the walk
        stays linear in the length of the log."""
        where = f"the checkpoint at position {sealed.position}"
        moved = {str(k): self.seen[k] for k in self.moved if k != LogSeal.ID}
        self.moved = set()
        for key in sorted(moved.keys() | sealed.changed.keys()):
            sealed_head, log_head = sealed.changed.get(key), moved.get(key)
            if log_head is None:
                assert sealed_head is not None
                seen = self.seen.get(UUID(key))
                if seen is None or seen.version < sealed_head.version:
                    self.find(
                        None, key, sealed_head.version, f"{where} sealed it; the log lacks it"
                    )
                else:
                    self.find(seen.position, key, seen.version, f"{where} sealed it unmoved")
            elif sealed_head is None:
                self.find(log_head.position, key, log_head.version, f"before {where}, unsealed")
            elif (sealed_head.version, sealed_head.digest) != (log_head.version, log_head.digest):
                self.find(
                    log_head.position,
                    key,
                    log_head.version,
                    f"its stored bytes hash to {log_head.digest[:12]}..., but {where} sealed "
                    f"v{sealed_head.version} as {sealed_head.digest[:12]}...",
                )
        recorded.update(sealed.changed)
        if last and merkle_root(recorded) != sealed.root:
            self.find(None, LogSeal.ID, 0, f"{where}: its root is not the root of its heads")

    def run(self, on_page: Callable[[int], None] | None = None) -> Verification:
        pending = sorted(self.checkpoints(), key=lambda s: s.position)
        last_sealed = pending[-1].position if pending else 0
        recorded: dict[str, Head] = {}
        for notification in self.store.notifications():
            while pending and pending[0].position < notification.id:
                self.seal(pending.pop(0), recorded, last=not pending)
                self.result.checkpoints += 1
            self.link(notification)
            self.result.events += 1
            if notification.id > last_sealed and notification.originator_id != LogSeal.ID:
                self.result.unsealed += 1
            if on_page is not None and self.result.events % PROGRESS_EVERY == 0:
                on_page(notification.id)
        while pending:
            self.seal(pending.pop(0), recorded, last=not pending)
            self.result.checkpoints += 1
        unique = {(f.aggregate, f.version, f.problem): f for f in self.result.findings}
        self.result.findings = sorted(
            unique.values(), key=lambda f: (f.position is None, f.position or 0)
        )
        return self.result


def verify(store: EventStoreApp, on_page: Callable[[int], None] | None = None) -> Verification:
    """Recomputes every chain and every checkpoint (domain.integrity)."""
    return Verifier(store).run(on_page)


# ---------------------------------------------------------------- replay


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[str, ...]
    live: tuple[str, ...] | None
    replayed: tuple[str, ...] | None


KEYS = {**FINANCE_KEYS, **read_index.KEYS}  # every compared table's key


@dataclass
class Replay:
    """A rebuild of the read models from the log into a scratch store (the finance tables,
    and the read index the lists are paged from), compared with the live ones, table by
    table and row by row."""

    position: int  # the last log position replayed
    until: datetime | None
    tables: dict[str, list[tuple[str, ...]]]
    differences: list[Difference]
    compared: list[str]  # tables compared with the live view

    @property
    def identical(self) -> bool:
        return not self.differences

    def document(self) -> str:
        """The result as canonical JSON: two replays of one log give the same bytes."""
        body = {
            "position": self.position,
            "until": self.until.isoformat() if self.until else None,
            "identical": self.identical,
            "compared": self.compared,
            "tables": {
                table: {
                    "rows": len(rows),
                    "sha256": hashlib.sha256(
                        json.dumps(rows, separators=(",", ":")).encode()
                    ).hexdigest(),
                }
                for table, rows in sorted(self.tables.items())
            },
            "differences": [
                {
                    "table": d.table,
                    "key": dict(zip(KEYS[d.table], d.key, strict=True)),
                    "live": d.live,
                    "replayed": d.replayed,
                }
                for d in self.differences
            ],
        }
        return json.dumps(body, sort_keys=True, indent=1) + "\n"


def _keyed(table: str, rows: list[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    width = len(KEYS[table])
    return {row[:width]: row for row in rows}


def compare(
    live: dict[str, list[tuple[str, ...]]], replayed: dict[str, list[tuple[str, ...]]]
) -> list[Difference]:
    """Every row that is in one and not the other, or differs, by table and key."""
    differences = []
    for table in sorted(replayed):
        mine, theirs = _keyed(table, replayed[table]), _keyed(table, live.get(table, []))
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key) != theirs.get(key):
                differences.append(Difference(table, key, theirs.get(key), mine.get(key)))
    return differences


def last_recorded_by(store: EventStoreApp, until: datetime) -> int:
    """The log's prefix recorded by `until`: the position before the first event recorded
    after it."""
    assert isinstance(store.mapper, PydanticMapper)
    position = 0
    for notification in store.notifications():
        recorded = datetime.fromisoformat(store.mapper.stored_state(notification)["recorded_at"])
        if recorded > until:
            break
        position = notification.id
    return position


def replay(
    store: EventStoreApp,
    live: FinanceProjection,
    until: datetime | None = None,
    on_page: Callable[[int], None] | None = None,
    index: ReadIndex | None = None,
) -> Replay:
    """Rebuilds the finance projection from zero into an in-memory scratch view, up to the
    position the live view has reached (or, with `until`, the prefix of the log recorded by
    then), and compares the two. The running books are compared only without `until`: the
    live ones have moved on. So is the read index (`index`): its tables hold the state
    now, not a row per event that a prefix could be cut from."""
    position = live.catch_up(store)
    if until is not None:
        position = min(position, last_recorded_by(store, until))
    scratch = FinanceProjection(view_for("memory://"))
    try:
        scratch.catch_up(store, upto=position, on_page=on_page)
        rebuilt = scratch.finance.dump()
    finally:
        scratch.finance.close()
    current = live.finance.dump()
    compared = sorted(rebuilt)
    if until is not None:
        compared.remove(BOOKS_TABLE)
        current = {t: [r for r in current[t] if int(r[0]) <= position] for t in compared}
    if until is None and index is not None:
        live_index, rebuilt_index = _index_tables(store, index)
        rebuilt |= rebuilt_index
        current |= live_index
        compared = sorted(rebuilt)
    differences = compare(current, {t: rebuilt[t] for t in compared})
    return Replay(position, until, rebuilt, differences, compared)


def _index_tables(
    store: EventStoreApp, index: ReadIndex
) -> tuple[dict[str, list[tuple[str, ...]]], dict[str, list[tuple[str, ...]]]]:
    """The live read index and one rebuilt from zero to the position it reached."""
    position = index.catch_up(store)
    scratch = ReadIndex(index_view_for("memory://"))
    try:
        scratch.catch_up(store, upto=position)
        return index.view.dump(), scratch.view.dump()
    finally:
        scratch.view.close()


# ---------------------------------------------------------------- explain


def _event_ref(stored: StoredEvent, event: Event) -> dict[str, Any]:
    return {
        "event": type(event).__qualname__,
        "version": event.originator_version,
        "effective_at": iso(event.effective_at),
        "recorded_at": iso(event.recorded_at) if event.recorded_at else None,
        "actor": event.actor,
        "digest": stored_digest(stored),
    }


def explain(store: EventStoreApp, number: str) -> dict[str, Any]:
    """The trail of one invoice or credit note: the event that issued it and the events of
    the same command that led to it; each line with its rule; the postings, revenue
    schedules and settlements its account's books made for it (domain.accounting, folded
    again from the log), each naming its rule and the event it came from."""
    account_id = issuer(store, number)
    books: Books | None = None
    refs: dict[int, dict[str, Any]] = {}
    found: tuple[Event, Invoice] | None = None
    postings, schedules, settlements = [], [], []
    for stored in store.recorder.select_events(account_id):
        event = store.event(stored)
        refs[event.originator_version] = _event_ref(stored, event)
        if isinstance(event, Account.Opened):
            books = Books.opened(event)
        assert books is not None, "an account's first event opens it"
        entries = books.apply(event)
        postings += [p for p in entries.postings if p.document == number]
        schedules += [s for s in entries.schedules if s.document == number]
        settlements += [s for s in entries.settlements if s.document == number]
        document = next((d for d in issued_by(event) if d.number == number), None)
        if document is not None:
            found = (event, document)
    assert found is not None, f"{number} was numbered for {account_id} but never issued"
    event, document = found
    causes = event.caused_by if isinstance(event, Account.InvoiceIssued) else []
    trail = [event.originator_version, *causes]
    return {
        "document": {
            "number": document.number,
            "kind": document.kind.value,
            "account": str(account_id),
            "issued_at": iso(document.issued_at),
            "net": document.money(document.net).as_json(),
            "vat": document.money(document.vat).as_json(),
            "total": document.money(document.total).as_json(),
            "credits": document.credits,
            "reissue_of": document.reissue_of,
        },
        "issued_by": refs[event.originator_version],
        "caused_by": [refs[v] for v in causes],
        "lines": [
            {
                "line": index,
                "description": line.description,
                "amount": document.money(line.amount).as_json(),
                "rule": line.rule,
                "events": trail,
            }
            for index, line in enumerate(document.lines)
        ],
        "tax": {
            "rule": "INV-4",
            "treatment": document.vat_treatment.value,
            "country": document.vat_country,
            "rate": f"{document.vat_rate}%",
            "events": [event.originator_version],
        },
        "postings": [
            {
                "at": iso(p.at),
                "ledger_account": p.ledger_account,
                "amount": document.money(p.amount).as_json(),
                "rule": p.rule,
                "event": p.event,
            }
            for p in postings
        ],
        "recognition": [
            {
                "line": s.line,
                "revenue_account": s.revenue_account,
                "amount": document.money(s.amount).as_json(),
                "from": str(s.start),
                "until": str(s.end),
                "rule": s.rule,
                "event": s.event,
            }
            for s in schedules
        ],
        "settlements": [
            {
                "at": iso(s.at),
                "amount": document.money(s.amount).as_json(),
                "rule": s.rule,
                "event": s.event,
            }
            for s in settlements
        ],
        "events": {
            str(v): refs[v]
            for v in sorted(
                {*trail, *(p.event for p in postings), *(s.event for s in schedules)}
                | {s.event for s in settlements}
            )
        },
    }
