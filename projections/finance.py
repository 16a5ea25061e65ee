"""The finance projection: postings, recognition schedules, documents, settlements,
refunds and MRR changes folded from the event log into tables beside the events.

It is an `eventsourcing.projection.Projection` whose view is a `TrackingRecorder` of the
store's kind (SQLite file, PostgreSQL schema; an in-memory SQLite for `memory://`): the
rows an event produces, the account's running `Books` and the tracking record of the
event's position are written in one transaction, so a process killed at any point neither
loses nor repeats an event, and two processes following the same log cannot both record
the same position (the second one's tracking insert fails and its transaction rolls back).

Run it in a process of its own with `seatledger project` (the library's
`ProjectionRunner`), or let queries catch it up: `FinanceProjection.catch_up` reads the
log from the tracked position and writes a page of events per transaction.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any, ClassVar, get_args, get_type_hints
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.utils import get_topic

from adapters.clock import SystemClock
from adapters.recorders import PostgresTablesView, SQLiteTablesView
from adapters.store import EventStoreApp, store_env, tracking_view
from domain.account import Account
from domain.accounting import (
    Books,
    Document,
    Entries,
    MrrChanged,
    Posting,
    RefundPaid,
    Schedule,
    Settlement,
)
from domain.errors import invalid
from domain.model import Event
from projections.reports import Facts

NAME = "finance"
APPLICATION = EventStoreApp.name
LOG_PAGE_SIZE = 500  # events folded and written per transaction when catching up
ACCOUNT_TOPIC_PREFIX = get_topic(Account) + "."

# Each kind of row has a table, filled from one list of `Entries`; rows are keyed by the
# log position that produced them.
TABLES: dict[str, tuple[type[Any], str]] = {
    "fin_postings": (Posting, "postings"),
    "fin_schedules": (Schedule, "schedules"),
    "fin_documents": (Document, "documents"),
    "fin_settlements": (Settlement, "settlements"),
    "fin_refunds": (RefundPaid, "refunds"),
    "fin_mrr": (MrrChanged, "mrr"),
}
BOOKS_TABLE = "fin_books"


def _cell(value: object) -> object:
    """One canonical text per value: sortable UTC instants, exact decimals."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, Decimal | UUID | date):
        return str(value)
    return value


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


PARSERS: dict[Any, Callable[[str], Any]] = {
    datetime: _instant,
    date: date.fromisoformat,
    Decimal: Decimal,
    UUID: UUID,
    int: int,
    str: str,
}


def _parser(hint: Any) -> Callable[[Any], Any]:
    kinds = [k for k in (get_args(hint) or (hint,)) if k is not type(None)]
    assert len(kinds) == 1, f"a finance row column has one type, not {hint}"
    parse = PARSERS[kinds[0]]
    return lambda v: None if v is None else parse(v)


class Rows:
    """A row kind's columns and how to read them back."""

    def __init__(self, table: str, kind: type[Any], entries: str) -> None:
        assert is_dataclass(kind)
        self.table = table
        self.kind = kind
        self.entries = entries  # the list of `Entries` these rows come from
        self.columns = [f.name for f in fields(kind)]
        self._values = operator.attrgetter(*self.columns)  # flat rows: no deep copy
        hints = get_type_hints(kind)
        self.parsers = [_parser(hints[name]) for name in self.columns]

    def encode(self, position: int, seq: int, row: Any) -> tuple[object, ...]:
        return (position, seq, *(_cell(v) for v in self._values(row)))

    def decode(self, values: Sequence[Any]) -> Any:
        return self.kind(*(parse(v) for parse, v in zip(self.parsers, values, strict=True)))


ROWS = {table: Rows(table, kind, entries) for table, (kind, entries) in TABLES.items()}
KEYS = {**dict.fromkeys(ROWS, ("position", "seq")), BOOKS_TABLE: ("account_id",)}


class FinanceView(TrackingRecorder):
    """What both stores' views share: the tables, one write per batch, reads."""

    marker: ClassVar[str]

    if TYPE_CHECKING:  # the store's view (adapters.recorders) names its tables

        def qualified(self, table: str) -> str: ...

    datastore: Any  # the store's own datastore (SQLite or PostgreSQL), set by the recorder

    def transaction(self, *, commit: bool) -> Any:
        return self.datastore.transaction(commit=commit)

    def insert_tracking_in(self, cursor: Any, tracking: Tracking) -> None:
        getattr(self, "_insert_tracking")(cursor, tracking)  # noqa: B009 (the recorder's)

    def table_statements(self) -> list[str]:
        statements = []
        for table, rows in ROWS.items():
            columns = ", ".join(f'"{c}" TEXT' for c in rows.columns)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {self.qualified(table)} (position BIGINT NOT NULL, "
                f"seq INTEGER NOT NULL, {columns}, PRIMARY KEY (position, seq))"
            )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.qualified(BOOKS_TABLE)} "
            "(account_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )
        return statements

    def record(
        self,
        batch: list[tuple[int, Entries]],
        books: dict[UUID, Books],
        tracking: Tracking,
    ) -> None:
        """The rows of a batch of events, the books they changed and the tracking record
        of the last one: one transaction."""
        with self.transaction(commit=True) as cursor:
            for table, rows in ROWS.items():
                values = [
                    rows.encode(position, seq, row)
                    for position, entries in batch
                    for seq, row in enumerate(getattr(entries, rows.entries))
                ]
                if values:
                    self.insert_rows(cursor, table, rows.columns, values)
            if books:
                self.upsert_books(
                    cursor,
                    [(str(a), book.model_dump_json()) for a, book in sorted(books.items())],
                )
            self.insert_tracking_in(cursor, tracking)

    def insert_rows(
        self, cursor: Any, table: str, columns: list[str], values: list[tuple[object, ...]]
    ) -> None:
        marks = ", ".join([self.marker] * (len(columns) + 2))
        names = ", ".join(f'"{c}"' for c in columns)
        cursor.executemany(
            f"INSERT INTO {self.qualified(table)} (position, seq, {names}) VALUES ({marks})",
            values,
        )

    def upsert_books(self, cursor: Any, values: list[tuple[str, str]]) -> None:
        m = self.marker
        cursor.executemany(
            f"INSERT INTO {self.qualified(BOOKS_TABLE)} (account_id, state) VALUES ({m}, {m}) "
            "ON CONFLICT (account_id) DO UPDATE SET state = excluded.state",
            values,
        )

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[Sequence[Any]]:
        with self.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            return [
                tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()
            ]

    def rows(self, table: str) -> list[Any]:
        """Every row of a kind, in log order."""
        rows = ROWS[table]
        names = ", ".join(f'"{c}"' for c in rows.columns)
        found = self._select(f"SELECT {names} FROM {self.qualified(table)} ORDER BY position, seq")
        return [rows.decode(values) for values in found]

    def books(self, account_id: UUID | None = None) -> list[Books]:
        sql = f"SELECT state FROM {self.qualified(BOOKS_TABLE)}"
        params: tuple[object, ...] = ()
        if account_id is not None:
            sql += f" WHERE account_id = {self.marker}"
            params = (str(account_id),)
        found = self._select(sql + " ORDER BY account_id", params)
        return [Books.model_validate_json(state) for (state,) in found]

    def close(self) -> None:
        self.datastore.close()

    def dump(self) -> dict[str, list[tuple[str, ...]]]:
        """Every table as stored, in key order: what a rebuild must reproduce exactly. A
        row's key is its first column or two (`KEYS`)."""
        tables: dict[str, list[tuple[str, ...]]] = {}
        for table in [*ROWS, BOOKS_TABLE]:
            found = self._select(f"SELECT * FROM {self.qualified(table)}")
            tables[table] = sorted(tuple(str(v) for v in row) for row in found)
        return tables


class SQLiteFinanceView(FinanceView, SQLiteTablesView):
    pass


class PostgresFinanceView(FinanceView, PostgresTablesView):
    pass

    def insert_rows(
        self, cursor: Any, table: str, columns: list[str], values: list[tuple[object, ...]]
    ) -> None:
        """A page's rows of one kind by COPY: one stream, not a statement per row."""
        names = ", ".join(f'"{c}"' for c in columns)
        copy = f"COPY {self.qualified(table)} (position, seq, {names}) FROM STDIN"
        with cursor.copy(copy) as out:
            for row in values:
                out.write_row(row)


def view_for(store_url: str) -> FinanceView:
    """The view beside the store: the same SQLite file or PostgreSQL schema."""
    view: FinanceView = tracking_view(store_url, NAME, SQLiteFinanceView, PostgresFinanceView)
    return view


class FinanceProjection(Projection[Any]):
    """Folds account events into the finance tables (domain.accounting)."""

    name = NAME
    topics = ()

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self._books: dict[UUID, Books] = {}

    @property
    def finance(self) -> FinanceView:
        assert isinstance(self.view, FinanceView)
        return self.view

    def _books_of(self, account_id: UUID) -> Books | None:
        if account_id not in self._books:
            found = self.finance.books(account_id)
            if not found:
                return None
            self._books[account_id] = found[0]
        return self._books[account_id]

    def fold(self, event: Event, changed: dict[UUID, Books]) -> Entries | None:
        if not isinstance(event, Account.AccountEvent):
            return None
        if isinstance(event, Account.Opened):
            book: Books | None = Books.opened(event)
            assert book is not None
            self._books[event.originator_id] = book
        else:
            book = self._books_of(event.originator_id)
            assert book is not None, f"account {event.originator_id} was never opened"
        entries = book.apply(event)
        changed[event.originator_id] = book
        return entries

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """One event, its rows and its tracking record in one transaction (the library's
        runner calls this for every event in log order)."""
        changed: dict[UUID, Books] = {}
        try:
            entries = self.fold(domain_event, changed)
            batch = [(tracking.notification_id, entries)] if entries else []
            self.finance.record(batch, changed, tracking)
        except BaseException:
            self._books.clear()  # what was folded was not recorded: read it again
            raise

    def catch_up(
        self,
        store: EventStoreApp,
        *,
        on_page: Callable[[int], None] | None = None,
        page_size: int = LOG_PAGE_SIZE,
        known_at: datetime | None = None,
        upto: int | None = None,
    ) -> int:
        """Folds what the log holds beyond the tracked position, a page per transaction.
        Returns the position reached. Another process recording the same page first is
        not an error: this one's page rolls back and it reads on from there. With
        `known_at` (a scratch view for an auditor), events recorded later are passed over;
        with `upto`, it stops at that position."""
        position = self.finance.max_tracking_id(APPLICATION) or 0
        while True:
            page = store.recorder.select_notifications(
                start=position, limit=page_size, stop=upto, inclusive_of_start=False
            )
            if not page:
                return position
            changed: dict[UUID, Books] = {}
            batch: list[tuple[int, Entries]] = []
            try:
                for notification in page:
                    if notification.topic.startswith(ACCOUNT_TOPIC_PREFIX):
                        event = store.fact(notification)
                        if not event.known(as_of=None, known_at=known_at):
                            continue
                        entries = self.fold(event, changed)
                        if entries is not None:
                            batch.append((notification.id, entries))
                self.finance.record(batch, changed, Tracking(APPLICATION, page[-1].id))
            except IntegrityError:
                self._books.clear()
                position = self.finance.max_tracking_id(APPLICATION) or 0
                continue
            except BaseException:
                self._books.clear()
                raise
            position = page[-1].id
            if on_page is not None:
                on_page(position)


PROJECT_POLL_SECONDS = 1.0  # how often a SQLite projection process looks for new events
FOLLOW_PAGE_SIZE = 50  # events per transaction in a projection process: short write locks
STORE_KEY = "SEATLEDGER_LOG_STORE"


class LogReader(EventStoreApp):
    """The event store as the library's ProjectionRunner constructs it: from an env."""

    name = EventStoreApp.name  # the same tables and the same tracking name

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__((env or {})[STORE_KEY], SystemClock())


def run_projection(
    store_url: str, stop: threading.Event | None = None, page_size: int = FOLLOW_PAGE_SIZE
) -> None:
    """Follows the log into the finance tables until `stop` (or forever). PostgreSQL: the
    library's ProjectionRunner, woken by LISTEN/NOTIFY. SQLite, which has no
    subscriptions: catching up every PROJECT_POLL_SECONDS, `page_size` events per
    transaction."""
    stop = stop or threading.Event()
    env = store_env(store_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        with ProjectionRunner(
            application_class=LogReader,
            projection_class=FinanceProjection,
            view_class=PostgresFinanceView,
            env={**env, STORE_KEY: store_url},
        ) as runner:
            while not stop.is_set():
                runner.run_forever(timeout=PROJECT_POLL_SECONDS)
        return
    if env["PERSISTENCE_MODULE"] != "eventsourcing.sqlite":
        raise invalid("store", "a projection process needs a SQLite or PostgreSQL store")
    store = LogReader({STORE_KEY: store_url})
    projection = FinanceProjection(view_for(store_url))
    try:
        while not stop.is_set():
            projection.catch_up(store, page_size=page_size)
            stop.wait(PROJECT_POLL_SECONDS)
    finally:
        store.close()


def facts(view: FinanceView) -> Facts:
    """Everything the reports read, from the view's tables."""
    found = {rows.entries: view.rows(table) for table, rows in ROWS.items()}
    return Facts(**found, books=view.books())
