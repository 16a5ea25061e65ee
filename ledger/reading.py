"""Reading aggregates: as they are now, or as they were known (TIME-2), and the query
arguments that name such a moment, converted once at the edge of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from adapters.store import EventStoreApp
from domain.account import Account
from domain.errors import DomainError, ErrorCode, invalid
from domain.model import Aggregate
from domain.subjects import Subject
from domain.values import check_day, check_instant
from projections.history import HistoryIndex

When = datetime | str | None  # an instant as given to a query: ISO 8601 with an offset


@dataclass(frozen=True)
class Knowledge:
    """TIME-2, read both ways: what the ledger believed at `known_at` (recording time) about
    business time `as_of`. Both None: the ledger as it is now."""

    as_of: datetime | None = None
    known_at: datetime | None = None

    @classmethod
    def of(cls, as_of: When = None, known_at: When = None) -> Knowledge:
        return cls(instant(as_of, "as_of"), instant(known_at, "known_at"))

    @property
    def current(self) -> bool:
        return self.as_of is None and self.known_at is None

    def instant(self, now: datetime) -> datetime:
        """The business instant a query is about: as_of, else known_at, else now."""
        return self.as_of or self.known_at or now


NOW = Knowledge()


class Reader:
    """Aggregates for queries: from the store now, else folded as they were known."""

    def __init__(self, store: EventStoreApp, history: HistoryIndex) -> None:
        self.store = store
        self.history = history

    def aggregate(self, aggregate_id: UUID, known: Knowledge = NOW) -> Aggregate:
        """The aggregate now, or as it was known (domain.model.as_known)."""
        if known.current:
            return self.store.aggregate(aggregate_id)
        found = self.history.as_known(aggregate_id, as_of=known.as_of, known_at=known.known_at)
        if found is None:
            raise AggregateNotFoundError(aggregate_id)
        return found

    def account(self, account_id: UUID, known: Knowledge = NOW) -> Account:
        try:
            account = self.aggregate(account_id, known)
        except AggregateNotFoundError:
            account = None
        if not isinstance(account, Account):
            raise DomainError(ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}", "account")
        return account

    def subject(self, subject_id: UUID, known: Knowledge = NOW) -> Subject:
        try:
            found = self.aggregate(subject_id, known)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Subject):
            raise DomainError(ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject")
        return found

    def linked_account(self, subject: Subject, known: Knowledge = NOW) -> Account | None:
        return self.account(subject.account_id, known) if subject.account_id else None


def day(value: date | str, field_name: str) -> date:
    """A date given to a query (domain.values.check_day)."""
    try:
        return check_day(value)
    except ValueError as error:
        raise invalid(field_name, str(error)) from None


def instant(value: When, field_name: str) -> datetime | None:
    """An instant given to a query (domain.values.check_instant); None: no limit."""
    if value is None:
        return None
    try:
        return check_instant(value)
    except ValueError as error:
        raise invalid(field_name, str(error)) from None
