"""The lists the ledger serves a page at a time: accounts, open prepaid pools, retention
deadlines. Each page is read from the read index (projections.read_index) by key, after
the key its cursor carries, so a page costs its own rows and never the whole list.

A cursor is opaque to its reader: the list's name and the key of the last item of the
page it came from, in base64url. It is only good for the list that gave it.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from adapters.store import EventStoreApp
from domain.catalog import Cycle
from domain.errors import DomainError, invalid
from domain.money import MINOR_UNITS
from domain.suspension import AccountStatus
from ledger import views
from ledger.reading import Knowledge, Reader, day
from ledger.views import Page
from projections.read_index import ReadIndex, ReadIndexView

PAGE_DEFAULT = 100
PAGE_MAX = 500
CURSOR_FIELD = "cursor"
E = TypeVar("E", bound=Enum)


def cursor(kind: str, *key: str | int) -> str:
    """The cursor that reads the list `kind` on after `key`."""
    text = json.dumps([kind, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def key_of(kind: str, text: str | None, shape: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The key a cursor of the list `kind` carries (its parts of the types in `shape`);
    None: from the start. A cursor of another list, or no cursor at all, is refused."""
    if text is None:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        found = None
    if (
        not isinstance(found, list)
        or len(found) != len(shape) + 1
        or found[0] != kind
        or not all(type(part) is kind_of for part, kind_of in zip(found[1:], shape, strict=True))
    ):
        raise invalid(CURSOR_FIELD, "not a cursor of this list: pass a page's next_cursor")
    return tuple(found[1:])


def page_size(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise invalid("limit", f"must be a whole number from 1 to {PAGE_MAX}")
    return limit


def one_of(kind: type[E], value: E | str | None, field_name: str) -> E | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise invalid(field_name, f"must be one of {allowed}") from None


class Listings:
    """The paged queries, each from the read index caught up to the end of the log."""

    def __init__(
        self,
        store: EventStoreApp,
        reader: Reader,
        index: ReadIndex,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.reader = reader
        self.index = index
        self.now = now
        self._lock = threading.Lock()

    def caught_up(self) -> ReadIndexView:
        """The index, up to the end of the log (one query when nothing new was recorded)."""
        with self._lock:
            self.index.catch_up(self.store)
        return self.index.view

    def accounts(
        self,
        *,
        limit: int = PAGE_DEFAULT,
        after: str | None = None,
        status: AccountStatus | str | None = None,
        plan: str | None = None,
        currency: str | None = None,
        cycle: Cycle | str | None = None,
    ) -> Page[dict[str, Any]]:
        """Accounts in the order opened, each as a summary, filtered by any of status,
        plan, currency and cycle."""
        limit = page_size(limit)
        key = key_of("accounts", after, (int,))
        chosen_status = one_of(AccountStatus, status, "status")
        chosen_cycle = one_of(Cycle, cycle, "cycle")
        if currency is not None and currency not in MINOR_UNITS:
            raise invalid("currency", f"must be one of {', '.join(sorted(MINOR_UNITS))}")
        found = self.caught_up().accounts(
            key[0] if key else 0,
            limit + 1,
            status=chosen_status.value if chosen_status else None,
            plan=plan,
            currency=currency,
            cycle=chosen_cycle.value if chosen_cycle else None,
        )
        items = [views.account_summary(*row[1:]) for row in found[:limit]]
        more = len(found) > limit
        return Page(items, cursor("accounts", found[limit - 1][0]) if more else None)

    def credit_windows(
        self, known: Knowledge, *, limit: int = PAGE_DEFAULT, after: str | None = None
    ) -> Page[dict[str, Any]]:
        """CREDIT-3 for finance: open pools in account opening order, each with its end's
        history; now, or at `as_of` as known at `known_at` (TIME-2). The index names the
        accounts that have (or may have had) one; only those are folded."""
        limit = page_size(limit)
        key = key_of("credit-windows", after, (int,))
        position = key[0] if key else 0
        view = self.caught_up()
        at = known.instant(self.now())
        items: list[dict[str, Any]] = []
        more = True
        while more and len(items) < limit:
            wanted = limit - len(items)
            if known.current:
                found = view.open_pools(position, wanted + 1)
            else:
                found = view.pools_known(position, wanted + 1, known.as_of, known.known_at)
            more = len(found) > wanted
            for opened, account_id in found[:wanted]:
                position = opened
                window = self._window(account_id, known, at)
                if window is not None:
                    items.append(window)
        return Page(items, cursor("credit-windows", position) if more else None)

    def _window(self, account_id: UUID, known: Knowledge, at: datetime) -> dict[str, Any] | None:
        try:
            account = self.reader.account(account_id, known)
        except DomainError:
            return None  # not yet opened, or not yet known
        return views.window_view(account, at)

    def falls_due(
        self, before: date | str, *, limit: int = PAGE_DEFAULT, after: str | None = None
    ) -> Page[dict[str, Any]]:
        """GDPR-2/3/5 for the scheduler and the data-protection officer: every retention
        deadline and every request deadline before a date, earliest first, with whether
        the work was done."""
        before = day(before, "before")
        limit = page_size(limit)
        key = key_of("falls-due", after, (str, int, int))
        found = self.caught_up().deadlines(before, key, limit + 1)
        items = [
            {
                "subject": subject,
                "category": category,
                "due_on": due_on,
                "basis": basis,
                "done": done,
            }
            for due_on, _, _, subject, category, basis, done in found[:limit]
        ]
        if len(found) <= limit:
            return Page(items, None)
        due_on, first_seen, seq, *_ = found[limit - 1]
        return Page(items, cursor("falls-due", due_on, first_seen, seq))
