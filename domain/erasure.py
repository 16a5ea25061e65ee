"""The account's personal data and when it goes: each key scope falls due for erasure at
the account's deletion or at the end of its statutory period (GDPR-4/5), a request erases
what the law does not keep (GDPR-4), and the fact that keys were destroyed is recorded."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.dates import start_of_day
from domain.invoicing import Invoice, Payment, Refund
from domain.model import Event, TEvent
from domain.personal import Scope, statutory_end
from domain.schedule import Task, TaskKind


class Erasure:
    """The account's part that knows which of its personal data is due for erasure."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        deleted_at: datetime | None
        erased_scopes: list[Scope]
        invoices: list[Invoice]
        payments: list[Payment]
        refunds: list[Refund]
        PersonalDataErased: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...

    def statutory_end(self) -> date | None:
        """GDPR-5: invoices, credit notes, payments and refunds are kept for the statutory
        period, counted from the end of the year of the last of them."""
        records = [i.issued_at for i in self.invoices]
        records += [p.at for p in self.payments] + [r.at for r in self.refunds]
        return statutory_end(records)

    def erasure_due(self) -> dict[Scope, datetime]:
        """GDPR-4/5: when each scope of the account's personal data falls due for erasure.
        The profile (owner, recipients) goes with the account's content when it is deleted;
        billing records when their statutory period ends (at deletion if there are none)."""
        if self.deleted_at is None:
            return {}
        end = self.statutory_end()
        due = {
            Scope.PROFILE: self.deleted_at,
            Scope.CONTENT: self.deleted_at,
            Scope.BILLING: start_of_day(end) if end is not None else self.deleted_at,
        }
        return {scope: at for scope, at in due.items() if scope not in self.erased_scopes}

    def erasure_tasks(self) -> list[Task]:
        return [
            Task.of(TaskKind.ERASURE, at, self.id, at.isoformat())
            for at in sorted(set(self.erasure_due().values()))
        ]

    def scopes_due(self, at: datetime) -> list[Scope]:
        return sorted(scope for scope, due in self.erasure_due().items() if due <= at)

    def scopes_erasable_on_request(self, at: datetime) -> list[Scope]:
        """GDPR-4: erasure is carried out when requested, except for data under GDPR-5: the
        billing records stay sealed under their key until the statutory period ends. The
        account's content about other people (agents' logins) is not the requester's.
        (Interpretation: a subject linked to an account is the person the account's profile
        is about, its owner.)"""
        end = self.statutory_end()
        held = end is not None and at.date() < end
        scopes = [Scope.PROFILE] if held else [Scope.BILLING, Scope.PROFILE]
        return [scope for scope in scopes if scope not in self.erased_scopes]

    def erase_personal_data(self, scopes: list[Scope], reason: str, at: datetime) -> None:
        """GDPR-4: records that the keys of these scopes were destroyed."""
        fresh = sorted(set(scopes) - set(self.erased_scopes))
        if fresh:
            self.trigger(self.PersonalDataErased, at, scopes=fresh, reason=reason)
