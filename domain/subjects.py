"""Data subjects, consent per purpose (GDPR-1) and retention deadlines (GDPR-2, GDPR-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.account import DELETION_AFTER_CANCELLATION_DAYS, Account, AccountStatus, check_email
from domain.dates import DAY, add_months, start_of_day
from domain.errors import invalid
from domain.model import Aggregate, Event, stable_id
from domain.numbering import DocumentKind
from domain.personal import Personal, Scope

CONSENT_YEARS = 5  # GDPR-2: use + 5 years, or 5 years from consent for a non-customer
STATUTORY_YEARS = 10  # GDPR-5: default 10 years after the end of the year of issue


class Purpose(StrEnum):
    """GDPR-1: consent is given per purpose."""

    MARKETING = "marketing"
    CUSTOMER_SERVICE = "customer_service"


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True)
    purpose: Purpose
    given_at: datetime
    source: str
    withdrawn_at: datetime | None = None


class RetentionItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    category: str
    due_on: date | None
    basis: str


def years_after(day: date, years: int) -> date:
    return add_months(start_of_day(day), 12 * years).date()


class Subject(Aggregate):
    """A person the ledger holds data on: an owner, a contact or a lead."""

    key: str = ""
    name: str | None = None
    email: str | None = None
    account_id: UUID | None = None
    consents: dict[Purpose, Consent] = {}

    class ConsentGiven(Event):
        key: str
        purposes: list[Purpose]
        name: Annotated[str | None, Personal(Scope.SUBJECT)]
        email: Annotated[str | None, Personal(Scope.SUBJECT)]
        account_id: UUID | None
        source: str

        def apply(self, subject: Subject) -> None:
            subject.key = self.key
            subject.name = self.name or subject.name
            subject.email = self.email or subject.email
            subject.account_id = self.account_id or subject.account_id
            for purpose in self.purposes:
                subject.consents[purpose] = Consent(
                    purpose=purpose, given_at=self.effective_at, source=self.source
                )

    class ConsentWithdrawn(Event):
        purposes: list[Purpose]

        def apply(self, subject: Subject) -> None:
            for purpose in self.purposes:
                subject.consents[purpose] = subject.consents[purpose].model_copy(
                    update={"withdrawn_at": self.effective_at}
                )

    @staticmethod
    def id_for(key: str) -> UUID:
        return stable_id("subject", key)

    @classmethod
    def first_consent(
        cls,
        *,
        key: str,
        purposes: list[Purpose],
        name: str | None,
        email: str | None,
        account_id: UUID | None,
        source: str,
        at: datetime,
        actor: str | None = None,
    ) -> Subject:
        if not isinstance(key, str) or not key.strip():
            raise invalid("subject", "is required")
        if not email or not name:
            raise invalid("email", "a new subject needs a name and an e-mail address")
        subject = cls.model_construct(id=cls.id_for(key), version=0)
        subject.init_defaults()
        subject.act_as(actor)
        subject.give_consent(
            purposes=purposes,
            name=name,
            email=email,
            account_id=account_id,
            source=source,
            at=at,
            key=key,
        )
        return subject

    def give_consent(
        self,
        *,
        purposes: list[Purpose],
        name: str | None,
        email: str | None,
        account_id: UUID | None,
        source: str,
        at: datetime,
        key: str | None = None,
    ) -> None:
        """GDPR-1: consent is voluntary and given per purpose (`marketing`,
        `customer_service`), with its source and actor recorded."""
        if not purposes:
            raise invalid("purposes", "give at least one purpose")
        if email is not None:
            email = check_email(email, "email")
        self.trigger(
            self.ConsentGiven,
            at,
            key=key or self.key,
            purposes=sorted(set(purposes)),
            name=name,
            email=email,
            account_id=account_id,
            source=source,
        )

    def in_force(self) -> list[Purpose]:
        return sorted((p for p, c in self.consents.items() if c.withdrawn_at is None), key=str)

    def withdraw_consent(self, purposes: list[Purpose], at: datetime) -> None:
        """GDPR-1: consent can be withdrawn at any time, per purpose."""
        missing = [p.value for p in purposes if p not in self.in_force()]
        if not purposes or missing:
            raise invalid("purposes", f"no consent in force for {', '.join(missing) or 'nothing'}")
        self.trigger(self.ConsentWithdrawn, at, purposes=sorted(set(purposes)))

    def retention(self, account: Account | None) -> list[RetentionItem]:
        """GDPR-2: consent lasts while the subject's account is in use and 5 years after the
        end of use (the earlier of the cancellation taking effect and the deletion), or until
        withdrawn; for a non-customer, 5 years from consent. GDPR-5: billing records are kept
        10 years after the end of the year of issue. Account content goes with the account."""
        items = [
            self._consent_item(self.consents[p], account) for p in Purpose if p in self.consents
        ]
        if account is None:
            return items
        issued = [i.issued_at for i in account.invoices if i.kind is DocumentKind.INVOICE]
        if issued:
            year_end = date(max(issued).year + 1, 1, 1)
            items.append(
                RetentionItem(
                    category="billing_records",
                    due_on=years_after(year_end, STATUTORY_YEARS),
                    basis="statutory",
                )
            )
        items.append(_content_item(account))
        return items

    def _consent_item(self, consent: Consent, account: Account | None) -> RetentionItem:
        if consent.withdrawn_at is not None:
            return RetentionItem(
                category=consent.purpose.value,
                due_on=consent.withdrawn_at.date(),
                basis="withdrawn",
            )
        if account is None:
            due = years_after(consent.given_at.date(), CONSENT_YEARS)
            return RetentionItem(category=consent.purpose.value, due_on=due, basis="consent")
        ended = end_of_use(account)
        due_on = years_after(ended.date(), CONSENT_YEARS) if ended else None
        return RetentionItem(category=consent.purpose.value, due_on=due_on, basis="consent")


def end_of_use(account: Account) -> datetime | None:
    """GDPR-2: the earlier of the cancellation taking effect and the deletion."""
    ends = [t for t in (account.cancelled_at, account.deleted_at) if t is not None]
    return min(ends) if ends else None


def _content_item(account: Account) -> RetentionItem:
    """CANCEL-3 / IDLE-1: account content lives until the account is deleted."""
    if account.deleted_at is not None:
        return RetentionItem(
            category="account_content", due_on=account.deleted_at.date(), basis="deleted"
        )
    if account.status is AccountStatus.CANCELLED and account.cancelled_at is not None:
        due = (account.cancelled_at + DELETION_AFTER_CANCELLATION_DAYS * DAY).astimezone(UTC).date()
        return RetentionItem(category="account_content", due_on=due, basis="cancelled")
    return RetentionItem(category="account_content", due_on=None, basis="in_use")
