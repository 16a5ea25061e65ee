"""The read index: the lists the ledger serves a page at a time, by key, instead of folding
every account or data subject per request.

- accounts, in the order opened, with their status, plan, currency and cycle;
- prepaid pools, one row per grant, with when it was granted and closed (effective and
  recorded), so that the open pools now, or as known at an instant (TIME-2), are found
  without folding the accounts that have none;
- retention deadlines (GDPR-2/3/5): every deadline of every data subject, by date.

It lives beside the events, in tables of the store's own SQLite file or PostgreSQL schema
(an in-memory SQLite database for `memory://`), in a `TrackingRecorder` as the finance
projection's tables do: the rows a stretch of the log changed and the tracking record of
its last position are written in one transaction, so a process killed at any point neither
loses nor repeats a change, and of two processes recording the same stretch the second one
fails on the tracking record and reads on from where the first one stopped.

What it folds is the due index's way (projections.due), not the finance projection's: an
account's status or a subject's deadlines are what the aggregate's own rules make of its
whole history, so a row is computed from the aggregate at (at least) the latest version
the log showed, taken from this process's cache when it holds that version, else folded
from the store without personal data. The library's `ProjectionRunner`, which hands a
projection one event at a time with no store to fold from, therefore does not run it;
queries catch it up (`ReadIndex.catch_up`). Rows only move forward (an account's by its
version), so a slower follower never puts back what a faster one wrote. Pools are the
exception: their rows are the grant and close events themselves, at their log positions
(so a pool of an account this code could not read when its grant went by is missing until
the index is rebuilt: its tables and its tracking row dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    PersistenceError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import get_topic

from adapters.recorders import PostgresTablesView, SQLiteTablesView
from adapters.store import EventStoreApp, tracking_view
from adapters.tables import stamp
from domain.account import Account
from domain.model import Aggregate
from domain.subjects import Subject
from domain.suspension import AccountStatus

NAME = "read_index"
TRACKED = "seatledger.read_index"  # its row of the tracking table (finance has its own)
LOG_PAGE_SIZE = 500
# Notifications read before what they changed is written (with the tracking record) in one
# transaction. An aggregate changed within a stretch is folded once for all of it, so a
# long stretch is what makes a rebuild from zero cheap; the rows it writes are few.
CHUNK = 50_000
FOLD_BATCH = 100  # aggregates folded from one query
ID_BATCH = 500  # ids per `IN (...)` look-up
POOL_SIZE = 1  # PostgreSQL connections kept open (a page is one short read; more when busy)
CLOSED = (AccountStatus.CANCELLED.value, AccountStatus.DELETED.value)  # no notices (BILL-6)
ALWAYS = "9999-12-31T23:59:59.999999Z"  # later than any stamp: "no limit"

ACCOUNT_TOPIC_PREFIX = get_topic(Account) + "."
SUBJECT_TOPIC_PREFIX = get_topic(Subject) + "."
GRANTED_TOPIC = get_topic(Account.PrepaidCreditGranted)
CLOSED_TOPIC = get_topic(Account.PoolClosed)

AccountRow = tuple[str, int, int, str, str, str, str]
SubjectRow = tuple[str, int, str | None, int]
DeadlineRow = tuple[str, int, str, str, str, int]  # subject, seq, due_on, category, basis, done


@dataclass(frozen=True)
class PoolEvent:
    """A pool granted or closed: the event's account, log position and instants."""

    granted: bool
    account_id: UUID
    position: int
    effective: str
    recorded: str


@dataclass
class Changes:
    """What a stretch of the log changed: the accounts and subjects (at the latest version
    it showed), where each was first seen, and the pools granted and closed, in log order."""

    accounts: dict[UUID, None] = field(default_factory=dict)
    subjects: dict[UUID, None] = field(default_factory=dict)
    versions: dict[UUID, int] = field(default_factory=dict)
    first: dict[UUID, int] = field(default_factory=dict)  # its version 1's when in the stretch
    pools: list[PoolEvent] = field(default_factory=list)
    failed: set[UUID] = field(default_factory=set)  # a pool event that could not be read
    read: int = 0

    def add(self, store: EventStoreApp, notification: Notification) -> None:
        self.read += 1
        topic = notification.topic
        if topic.startswith(ACCOUNT_TOPIC_PREFIX):
            kind = self.accounts
        elif topic.startswith(SUBJECT_TOPIC_PREFIX):
            kind = self.subjects
        else:
            return
        originator = UUID(str(notification.originator_id))
        kind[originator] = None
        self.versions[originator] = notification.originator_version
        self.first.setdefault(originator, notification.id)
        if topic in (GRANTED_TOPIC, CLOSED_TOPIC):
            try:
                event = store.fact(notification)
            except Exception:  # an event this code cannot read: so is its account
                self.failed.add(originator)
                return
            assert event.recorded_at is not None, "a stored event has its recording time"
            self.pools.append(
                PoolEvent(
                    topic == GRANTED_TOPIC,
                    originator,
                    notification.id,
                    stamp(event.effective_at),
                    stamp(event.recorded_at),
                )
            )


@dataclass
class Rows:
    """The rows a stretch of the log gives, ready to write."""

    accounts: list[AccountRow] = field(default_factory=list)
    subjects: list[SubjectRow] = field(default_factory=list)
    deadlines: dict[str, list[DeadlineRow]] = field(default_factory=dict)  # by subject
    pools: list[PoolEvent] = field(default_factory=list)


def account_row(account: Account, first: int) -> AccountRow:
    return (
        str(account.id),
        first,
        account.version,
        account.status.value,
        account.plan,
        account.currency,
        account.cycle.value,
    )


def deadline_rows(subject: Subject, account: Account | None) -> list[DeadlineRow]:
    """GDPR-2/3/5: the subject's deadlines that have a date, retention first (in the order
    `Subject.retention` gives them), then its requests; each with whether it was done."""
    found: list[tuple[date, str, str, bool]] = [
        (item.due_on, item.category, item.basis, subject.carried_out(item, account))
        for item in subject.retention(account)
        if item.due_on is not None
    ]
    found += [
        (r.due_on, f"request:{r.right.value}", "request", r.answered_at is not None)
        for r in subject.requests
    ]
    return [
        (str(subject.id), seq, str(due_on), category, basis, int(done))
        for seq, (due_on, category, basis, done) in enumerate(found)
    ]


def batches(ids: Sequence[UUID], size: int) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


# Each table's key, by which the auditors' replay compares a rebuild with the live index
KEYS = {
    "ix_accounts": ("account_id",),
    "ix_pools": ("account_id", "granted"),
    "ix_subjects": ("subject_id",),
    "ix_deadlines": ("subject_id", "seq"),
}


class ReadIndexView(TrackingRecorder):
    """The index's tables, one write per stretch of the log, and the keyed reads."""

    marker: ClassVar[str]
    datastore: Any  # the store's own kind of datastore, set by the recorder

    if TYPE_CHECKING:  # the store's view (adapters.recorders) names its tables

        def qualified(self, table: str) -> str: ...

    def transaction(self, *, commit: bool) -> Any:
        return self.datastore.transaction(commit=commit)

    def table_statements(self) -> list[str]:
        q = self.qualified
        return [
            f"CREATE TABLE IF NOT EXISTS {q('ix_accounts')} (account_id TEXT PRIMARY KEY, "
            "opened BIGINT NOT NULL, version BIGINT NOT NULL, status TEXT NOT NULL, "
            "plan TEXT NOT NULL, currency TEXT NOT NULL, cycle TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS ix_accounts_opened ON {q('ix_accounts')} (opened)",
            f"CREATE INDEX IF NOT EXISTS ix_accounts_status ON {q('ix_accounts')} (status, opened)",
            f"CREATE INDEX IF NOT EXISTS ix_accounts_price ON {q('ix_accounts')} "
            "(plan, currency, cycle, opened)",
            f"CREATE INDEX IF NOT EXISTS ix_accounts_currency ON {q('ix_accounts')} "
            "(currency, opened)",
            f"CREATE INDEX IF NOT EXISTS ix_accounts_cycle ON {q('ix_accounts')} (cycle, opened)",
            f"CREATE TABLE IF NOT EXISTS {q('ix_pools')} (account_id TEXT NOT NULL, "
            "granted BIGINT NOT NULL, opened BIGINT NOT NULL, granted_effective TEXT NOT NULL, "
            "granted_recorded TEXT NOT NULL, closed BIGINT, closed_effective TEXT, "
            "closed_recorded TEXT, PRIMARY KEY (account_id, granted))",
            f"CREATE INDEX IF NOT EXISTS ix_pools_open ON {q('ix_pools')} (opened) "
            "WHERE closed IS NULL",
            f"CREATE INDEX IF NOT EXISTS ix_pools_opened ON {q('ix_pools')} (opened)",
            f"CREATE TABLE IF NOT EXISTS {q('ix_subjects')} (subject_id TEXT PRIMARY KEY, "
            "first_seen BIGINT NOT NULL, account_id TEXT, version BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS ix_subjects_account ON {q('ix_subjects')} (account_id)",
            f"CREATE TABLE IF NOT EXISTS {q('ix_deadlines')} (subject_id TEXT NOT NULL, "
            "seq INTEGER NOT NULL, first_seen BIGINT NOT NULL, due_on TEXT NOT NULL, "
            "category TEXT NOT NULL, basis TEXT NOT NULL, done INTEGER NOT NULL, "
            "PRIMARY KEY (subject_id, seq))",
            f"CREATE INDEX IF NOT EXISTS ix_deadlines_due ON {q('ix_deadlines')} "
            "(due_on, first_seen, seq)",
        ]

    def sql(self, text: str) -> str:
        return text.replace("%s", self.marker)

    def record(self, rows: Rows, tracking: Tracking) -> None:
        """A stretch's rows and the tracking record of its last position: one transaction."""
        q, sql = self.qualified, self.sql
        accounts, subjects = q("ix_accounts"), q("ix_subjects")
        with self.transaction(commit=True) as cursor:
            getattr(self, "_insert_tracking")(cursor, tracking)  # noqa: B009 (the recorder's)
            if rows.accounts:
                cursor.executemany(
                    sql(
                        f"INSERT INTO {accounts} "
                        "(account_id, opened, version, status, plan, currency, cycle) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (account_id) DO UPDATE "
                        "SET version = excluded.version, status = excluded.status, "
                        "plan = excluded.plan, currency = excluded.currency, "
                        f"cycle = excluded.cycle WHERE {accounts}.version <= excluded.version"
                    ),
                    rows.accounts,
                )
            if rows.subjects:
                cursor.executemany(
                    sql(
                        f"INSERT INTO {subjects} (subject_id, first_seen, account_id, version) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (subject_id) DO UPDATE "
                        "SET account_id = excluded.account_id, version = excluded.version "
                        f"WHERE {subjects}.version <= excluded.version"
                    ),
                    rows.subjects,
                )
            if rows.deadlines:
                cursor.executemany(
                    sql(f"DELETE FROM {q('ix_deadlines')} WHERE subject_id = %s"),
                    [(subject,) for subject in rows.deadlines],
                )
                values = [row for found in rows.deadlines.values() for row in found]
                if values:
                    cursor.executemany(
                        sql(
                            f"INSERT INTO {q('ix_deadlines')} (subject_id, seq, first_seen, "
                            "due_on, category, basis, done) SELECT subject_id, %s, first_seen, "
                            f"%s, %s, %s, %s FROM {subjects} WHERE subject_id = %s"
                        ),
                        [(*row[1:], row[0]) for row in values],
                    )
            for pool in rows.pools:  # in log order: a close closes the grant before it
                self._pool(cursor, pool)

    def _pool(self, cursor: Any, pool: PoolEvent) -> None:
        q, sql = self.qualified, self.sql
        account = str(pool.account_id)
        if pool.granted:
            cursor.execute(
                sql(
                    f"INSERT INTO {q('ix_pools')} (account_id, granted, opened, "
                    "granted_effective, granted_recorded) SELECT account_id, %s, opened, %s, %s "
                    f"FROM {q('ix_accounts')} WHERE account_id = %s "
                    "ON CONFLICT (account_id, granted) DO NOTHING"
                ),
                (pool.position, pool.effective, pool.recorded, account),
            )
            return
        cursor.execute(
            sql(
                f"UPDATE {q('ix_pools')} SET closed = %s, closed_effective = %s, "
                "closed_recorded = %s WHERE account_id = %s AND granted = "
                f"(SELECT MAX(granted) FROM {q('ix_pools')} WHERE account_id = %s "
                "AND granted < %s)"
            ),
            (pool.position, pool.effective, pool.recorded, account, account, pool.position),
        )

    def _select(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.transaction(commit=False) as cursor:
            cursor.execute(self.sql(text), params)
            return [
                tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()
            ]

    def position(self) -> int:
        return self.max_tracking_id(TRACKED) or 0

    def subjects_of(self, account_ids: Sequence[UUID]) -> list[UUID]:
        """The subjects linked to these accounts (their deadlines follow the account's)."""
        found: list[UUID] = []
        for batch in batches(account_ids, ID_BATCH):
            marks = ", ".join(["%s"] * len(batch))
            found += [
                UUID(subject)
                for (subject,) in self._select(
                    f"SELECT subject_id FROM {self.qualified('ix_subjects')} "
                    f"WHERE account_id IN ({marks})",
                    [str(a) for a in batch],
                )
            ]
        return found

    # ---------------------------------------------------------------- keyed reads

    def accounts(
        self,
        after: int,
        limit: int,
        *,
        status: str | None = None,
        plan: str | None = None,
        currency: str | None = None,
        cycle: str | None = None,
    ) -> list[tuple[int, str, str, str, str, str]]:
        """Up to `limit` accounts opened after position `after`, in the order opened:
        (opened, id, status, plan, currency, cycle)."""
        where, params = ["opened > %s"], [after]
        for column, value in (
            ("status", status),
            ("plan", plan),
            ("currency", currency),
            ("cycle", cycle),
        ):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)  # type: ignore[arg-type]
        return [
            (int(opened), *rest)
            for opened, *rest in self._select(
                "SELECT opened, account_id, status, plan, currency, cycle "
                f"FROM {self.qualified('ix_accounts')} WHERE {' AND '.join(where)} "
                "ORDER BY opened LIMIT %s",
                [*params, limit],
            )
        ]

    def affected(
        self, plan: str, currency: str, cycle: str, after: int, upto: int, limit: int
    ) -> list[tuple[int, UUID]]:
        """BILL-6: open or trialing accounts on this price, opened after `after` and up to
        `upto`, in the order opened: (opened, id)."""
        return [
            (int(opened), UUID(account))
            for opened, account in self._select(
                f"SELECT opened, account_id FROM {self.qualified('ix_accounts')} "
                "WHERE plan = %s AND currency = %s AND cycle = %s AND status NOT IN (%s, %s) "
                "AND opened > %s AND opened <= %s ORDER BY opened LIMIT %s",
                [plan, currency, cycle, *CLOSED, after, upto, limit],
            )
        ]

    def open_pools(self, after: int, limit: int) -> list[tuple[int, UUID]]:
        """Accounts with a pool granted and not closed, opened after `after`: (opened, id)."""
        return [
            (int(opened), UUID(account))
            for opened, account in self._select(
                f"SELECT opened, account_id FROM {self.qualified('ix_pools')} "
                "WHERE closed IS NULL AND opened > %s ORDER BY opened LIMIT %s",
                [after, limit],
            )
        ]

    def pools_known(
        self, after: int, limit: int, as_of: datetime | None, known_at: datetime | None
    ) -> list[tuple[int, UUID]]:
        """TIME-2: accounts that may have had a pool open at business time `as_of` as known
        at `known_at` (its grant seen then, its close not): every one that did, and at most
        a few more (the fold of the account decides)."""
        business = stamp(as_of) if as_of is not None else ALWAYS
        recording = stamp(known_at) if known_at is not None else ALWAYS
        return [
            (int(opened), UUID(account))
            for opened, account in self._select(
                f"SELECT DISTINCT opened, account_id FROM {self.qualified('ix_pools')} "
                "WHERE opened > %s AND granted_effective <= %s AND granted_recorded <= %s "
                "AND NOT (closed IS NOT NULL AND closed_effective <= %s "
                "AND closed_recorded <= %s) ORDER BY opened LIMIT %s",
                [after, business, recording, business, recording, limit],
            )
        ]

    def deadlines(
        self, before: date, after: tuple[str, int, int] | None, limit: int
    ) -> list[tuple[str, int, int, str, str, str, bool]]:
        """GDPR-2/3/5: deadlines before `before`, earliest first (then subjects in the order
        first recorded, then each subject's own order), after the key `after`:
        (due_on, first_seen, seq, subject, category, basis, done)."""
        key = after or ("", -1, -1)
        return [
            (due_on, int(first_seen), int(seq), subject, category, basis, bool(done))
            for due_on, first_seen, seq, subject, category, basis, done in self._select(
                "SELECT due_on, first_seen, seq, subject_id, category, basis, done "
                f"FROM {self.qualified('ix_deadlines')} WHERE due_on < %s "
                "AND (due_on, first_seen, seq) > (%s, %s, %s) "
                "ORDER BY due_on, first_seen, seq LIMIT %s",
                [str(before), *key, limit],
            )
        ]

    def dump(self) -> dict[str, list[tuple[str, ...]]]:
        """Every table as stored, sorted: what a rebuild must reproduce exactly."""
        tables: dict[str, list[tuple[str, ...]]] = {}
        for table in KEYS:
            found = self._select(f"SELECT * FROM {self.qualified(table)}")
            tables[table] = sorted(tuple(str(v) for v in row) for row in found)
        return tables

    def close(self) -> None:
        self.datastore.close()


class SQLiteReadIndexView(ReadIndexView, SQLiteTablesView):
    pass


class PostgresReadIndexView(ReadIndexView, PostgresTablesView):
    pass


def index_view_for(store_url: str) -> ReadIndexView:
    """The index beside the store: the same SQLite file or PostgreSQL schema."""
    view: ReadIndexView = tracking_view(
        store_url, NAME, SQLiteReadIndexView, PostgresReadIndexView, pool_size=POOL_SIZE
    )
    return view


class ReadIndex:
    """Follows the log into the index's tables (see the module's docstring)."""

    def __init__(self, view: ReadIndexView) -> None:
        self.view = view
        self.unreadable: set[UUID] = set()  # aggregates whose events this code cannot read

    def catch_up(
        self,
        store: EventStoreApp,
        *,
        page_size: int = LOG_PAGE_SIZE,
        chunk: int = CHUNK,
        upto: int | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> int:
        """Reads the log on from the tracked position, `chunk` notifications per
        transaction (up to position `upto`); returns the position reached. Another process
        recording the same stretch first is not an error: this one's rolls back and it
        reads on from there."""
        position = self.view.position()
        while True:
            changes, reached, more = self._read(store, position, page_size, chunk, upto)
            if reached == position:
                return position
            try:
                self.view.record(self._rows(store, changes), Tracking(TRACKED, reached))
            except IntegrityError:
                position = self.view.position()
                continue
            position = reached
            if on_chunk is not None:
                on_chunk(position)
            if not more:
                return position

    def _read(
        self, store: EventStoreApp, position: int, page_size: int, chunk: int, upto: int | None
    ) -> tuple[Changes, int, bool]:
        """What the log holds after `position`, up to `chunk` notifications: the changes,
        the position reached and whether the log may hold more."""
        changes = Changes()
        while changes.read < chunk:
            limit = min(page_size, chunk - changes.read)
            page = store.recorder.select_notifications(
                start=position, limit=limit, stop=upto, inclusive_of_start=False
            )
            for notification in page:
                changes.add(store, notification)
            if page:
                position = page[-1].id
            if len(page) < limit:
                return changes, position, False
        return changes, position, True

    def _rows(self, store: EventStoreApp, changes: Changes) -> Rows:
        rows = Rows(pools=[p for p in changes.pools if p.account_id not in changes.failed])
        for batch in batches(list(changes.accounts), FOLD_BATCH):
            for account in self._latest(store, batch, changes.versions).values():
                if isinstance(account, Account) and account.id not in changes.failed:
                    rows.accounts.append(account_row(account, changes.first[account.id]))
        linked = self.view.subjects_of(list(changes.accounts))
        subjects = list(dict.fromkeys([*changes.subjects, *linked]))
        for batch in batches(subjects, FOLD_BATCH):
            self._subject_rows(store, batch, changes, rows)
        return rows

    def _subject_rows(
        self, store: EventStoreApp, batch: list[UUID], changes: Changes, rows: Rows
    ) -> None:
        """The rows of these subjects, each with the deadlines its account gives it."""
        folded = self._latest(store, batch, changes.versions)
        wanted = [s.account_id for s in folded.values() if isinstance(s, Subject) and s.account_id]
        accounts = self._latest(store, list(dict.fromkeys(wanted)), changes.versions)
        for subject in folded.values():
            if not isinstance(subject, Subject):
                continue
            account: Aggregate | None = None
            if subject.account_id is not None:
                account = accounts.get(subject.account_id)
                if not isinstance(account, Account):
                    continue  # its account cannot be read: its rows stay as they were
            assert account is None or isinstance(account, Account)
            # a subject seen only through its account has a row already: its first stays
            first = changes.first.get(subject.id, 0)
            account_id = str(subject.account_id) if subject.account_id else None
            rows.subjects.append((str(subject.id), first, account_id, subject.version))
            rows.deadlines[str(subject.id)] = deadline_rows(subject, account)

    def _latest(
        self, store: EventStoreApp, aggregate_ids: list[UUID], versions: dict[UUID, int]
    ) -> dict[UUID, Aggregate]:
        """These aggregates at (at least) the versions the log showed: this process's cached
        object when it is that version (only read), else folded from the store in one query
        without personal data. One whose events cannot be read is left out (and noted), so
        the others go on."""
        found: dict[UUID, Aggregate] = {}
        for aggregate_id in aggregate_ids:
            version = versions.get(aggregate_id)
            cached = None if version is None else store.cached_at(aggregate_id, version)
            if cached is not None:
                found[aggregate_id] = cached
        missing = [i for i in aggregate_ids if i not in found]
        try:
            found |= store.folded_facts(missing)
        except PersistenceError:
            raise
        except Exception:
            for aggregate_id in missing:
                try:
                    found |= store.folded_facts([aggregate_id])
                except PersistenceError:
                    raise
                except Exception:
                    self.unreadable.add(aggregate_id)
        for aggregate_id in found:
            self.unreadable.discard(aggregate_id)
        return found
