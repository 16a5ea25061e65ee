"""Inactivity: an idle account's owner is warned and the account deleted (IDLE-1), when it
pays nothing (IDLE-2)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.dates import DAY
from domain.invoicing import NotificationKind
from domain.model import Event, TEvent
from domain.schedule import Task, TaskKind
from domain.suspension import AccountStatus

# IDLE-1: warning after 28 idle days; deletion after 56, and never sooner than 28 after it.
IDLE_WARNING_DAYS = 28
IDLE_DELETION_DAYS = 56


class Inactivity:
    """The account's part that watches how long it has been idle."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        status: AccountStatus
        on_free_plan: bool
        last_activity_at: datetime | None
        idle_since: datetime | None
        warned_at: datetime | None
        InactivityWarned: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def notify(
            self, kind: NotificationKind, at: datetime, subject: str | None = None
        ) -> None: ...

    def is_idle_subject(self) -> bool:
        """IDLE-2 (interpretation): inactivity deletion applies to accounts that pay nothing:
        free, trialing or suspended ones. Active paid accounts are exempt; cancelled ones
        follow CANCEL-3."""
        if self.status in (AccountStatus.TRIALING, AccountStatus.SUSPENDED):
            return True
        return self.status is AccountStatus.ACTIVE and self.on_free_plan

    def refresh_idle_exemption(self, at: datetime) -> None:
        """IDLE-2: an account that loses its exemption is warned from that moment on at the
        earliest; one that regains it is not deleted and its warning is void."""
        if self.is_idle_subject():
            if self.idle_since is None:
                self.idle_since = at
        else:
            self.idle_since = None
            self.warned_at = None

    def inactivity_task(self) -> Task | None:
        """IDLE-1: the warning at last activity + 28 x 24 h; the deletion at the later of last
        activity + 56 x 24 h and warning + 28 x 24 h."""
        if self.idle_since is None or self.last_activity_at is None:
            return None
        if self.warned_at is None:
            due = max(self.last_activity_at + IDLE_WARNING_DAYS * DAY, self.idle_since)
            return Task.of(TaskKind.INACTIVITY_WARNING, due, self.id, due.isoformat())
        due = max(
            self.last_activity_at + IDLE_DELETION_DAYS * DAY,
            self.warned_at + IDLE_WARNING_DAYS * DAY,
        )
        return Task.of(TaskKind.INACTIVITY_DELETION, due, self.id, due.isoformat())

    def warn_of_inactivity(self, at: datetime) -> None:
        """IDLE-1: the owner is warned before an idle account is deleted."""
        self.trigger(self.InactivityWarned, at)
        self.notify(NotificationKind.INACTIVITY_WARNING, at)
