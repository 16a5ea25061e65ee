"""Cancellation: at once by the "stop account" action (CANCEL-1), or at the end of the next
business day by e-mail (CANCEL-2); and the deletion that follows it (CANCEL-3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.dates import DAY
from domain.errors import invalid
from domain.invoicing import NotificationKind
from domain.model import Event, TEvent
from domain.policy import Terms
from domain.schedule import Task, TaskKind

# CANCEL-3 (interpretation): deletion 30 days after a cancellation took effect.
DELETION_AFTER_CANCELLATION_DAYS = 30


class CancellationChannel(StrEnum):
    BUTTON = "button"
    EMAIL = "email"


class Cancellation:
    """The account's part that cancels it and deletes it afterwards."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        cancellation_effective_at: datetime | None
        cancelled_at: datetime | None
        CancellationRequested: ClassVar[type[Event]]
        Cancelled: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def check_takes_commands(self) -> None: ...
        def notify(
            self, kind: NotificationKind, at: datetime, subject: str | None = None
        ) -> None: ...
        def refund_pool(self, at: datetime) -> None: ...

    def cancel(self, via: CancellationChannel, at: datetime, terms: Terms) -> None:
        """CANCEL-1: the "stop account" action takes effect at once, with no refund.
        CANCEL-2: by e-mail, the request is recorded at once, no period is renewed after it,
        and it takes effect at the end of the next business day."""
        self.check_takes_commands()
        if via is CancellationChannel.EMAIL:
            if self.cancellation_effective_at is not None:
                raise invalid("via", "a cancellation is already pending")
            effective = terms.end_of_next_business_day(at)
        else:
            effective = at
        self.trigger(self.CancellationRequested, at, via=via, takes_effect_at=effective)
        if effective <= at:
            self.take_cancellation_effect(at)

    def cancellation_task(self) -> Task | None:
        if self.cancellation_effective_at is None:
            return None
        return Task.of(TaskKind.CANCELLATION, self.cancellation_effective_at, self.id)

    def take_cancellation_effect(self, at: datetime) -> None:
        """CANCEL-1: when a cancellation takes effect the owner is sent cancellation_confirmed.
        CREDIT-5: a running or pending pool is refunded, less its cancellation fee."""
        self.refund_pool(at)
        self.trigger(self.Cancelled, at)
        self.notify(NotificationKind.CANCELLATION_CONFIRMED, at)

    def deletion_task(self) -> Task:
        """CANCEL-3: a cancelled account is deleted 30 days after the cancellation took
        effect."""
        assert self.cancelled_at is not None, "a cancelled account knows when"
        due = self.cancelled_at + DELETION_AFTER_CANCELLATION_DAYS * DAY
        return Task.of(TaskKind.DELETION, due, self.id)
