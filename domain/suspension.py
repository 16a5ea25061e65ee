"""An account's states (ACC-4), and suspension: why an account is suspended, the notice
and the one notification of each move into it (CANCEL-4), and its reactivation when every
reason is cleared; the trial that ends without a payment method (TRIAL-3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.errors import invalid
from domain.invoicing import NotificationKind
from domain.model import Event, TEvent
from domain.numbering import Numbering
from domain.policy import Terms
from domain.schedule import Task, TaskKind


class AccountStatus(StrEnum):
    """ACC-4: the states of an account."""

    TRIALING = "trialing"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    DELETED = "deleted"


class SuspensionReason(StrEnum):
    """ACC-4: why an account is suspended; it is reactivated when every reason is cleared."""

    TRIAL_EXPIRED = "trial_expired"
    PAYMENT_FAILED = "payment_failed"
    BILLING_DETAILS_MISSING = "billing_details_missing"
    CODE_REUSE = "code_reuse"
    TERMS_VIOLATION = "terms_violation"


class Suspension:
    """The account's part that suspends it and reactivates it."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        status: AccountStatus
        suspension_reasons: list[SuspensionReason]
        trial_over: bool
        trial_ends_at: datetime | None
        SuspensionNoticeGiven: ClassVar[type[Event]]
        Suspended: ClassVar[type[Event]]
        SuspensionReasonAdded: ClassVar[type[Event]]
        SuspensionReasonCleared: ClassVar[type[Event]]
        TrialExpired: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def check_takes_commands(self) -> None: ...
        def notify(
            self, kind: NotificationKind, at: datetime, subject: str | None = None
        ) -> None: ...
        def start_billing_if_due(
            self, at: datetime, terms: Terms, numbering: Numbering
        ) -> None: ...

    def suspend(self, reason: SuspensionReason, at: datetime) -> None:
        """CANCEL-4: the vendor warns the owner first: a notice is recorded before the
        suspension takes effect."""
        self.check_takes_commands()
        if reason in self.suspension_reasons:
            raise invalid("reason", f"the account is already suspended for {reason.value}")
        self.trigger(self.SuspensionNoticeGiven, at, reason=reason)
        self.add_suspension(reason, at)

    def lift_suspension(
        self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        self.check_takes_commands()
        if reason not in self.suspension_reasons:
            raise invalid("reason", f"the account is not suspended for {reason.value}")
        self.clear_suspension(reason, at, terms, numbering)

    def add_suspension(self, reason: SuspensionReason, at: datetime) -> None:
        """CANCEL-4: every move into suspended sends exactly one `suspended` notification; a
        reason added to an already suspended account sends none."""
        if self.status is AccountStatus.SUSPENDED:
            if reason not in self.suspension_reasons:
                self.trigger(self.SuspensionReasonAdded, at, reason=reason)
            return
        self.trigger(self.Suspended, at, reason=reason)
        self.notify(NotificationKind.SUSPENDED, at)

    def clear_suspension(
        self, reason: SuspensionReason, at: datetime, terms: Terms, numbering: Numbering
    ) -> None:
        """ACC-4: reactivated only when every reason is cleared; then BILL-8 applies."""
        if reason not in self.suspension_reasons:
            return
        last = len(self.suspension_reasons) == 1
        resumes_as: AccountStatus | None = None
        if last:
            in_trial = not self.trial_over
            resumes_as = AccountStatus.TRIALING if in_trial else AccountStatus.ACTIVE
        self.trigger(self.SuspensionReasonCleared, at, reason=reason, resumes_as=resumes_as)
        if resumes_as is AccountStatus.ACTIVE:
            self.start_billing_if_due(at, terms, numbering)

    # ------------------------------------------------------------ the trial's end

    def trial_expiry_task(self) -> Task | None:
        if self.trial_over or self.trial_ends_at is None:
            return None
        return Task.of(TaskKind.TRIAL_EXPIRY, self.trial_ends_at, self.id)

    def expire_trial(self, at: datetime) -> None:
        """TRIAL-3: a trial that ends without a payment method suspends the account (adding
        the reason when it is suspended already)."""
        self.trigger(self.TrialExpired, at)
        self.add_suspension(SuspensionReason.TRIAL_EXPIRED, at)
