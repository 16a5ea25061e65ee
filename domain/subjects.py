"""Data subjects, consent per purpose (GDPR-1) and retention deadlines (GDPR-2, GDPR-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.account import Account
from domain.cancellation import DELETION_AFTER_CANCELLATION_DAYS
from domain.dates import DAY, add_months
from domain.errors import invalid
from domain.model import Aggregate, Event
from domain.personal import Personal, Scope
from domain.schedule import SetAside, Task, TaskKind, held_work, released, upcast_set_aside
from domain.suspension import AccountStatus

CONSENT_YEARS = 5  # GDPR-2: use + 5 years, or 5 years from consent for a non-customer
REQUEST_DEADLINE_MONTHS = 1  # GDPR-3: one month, GDPR Art. 12(3)
# which of an account's key scopes hold the data of each retention category
CATEGORY_SCOPES = {
    "billing_records": {Scope.BILLING},
    "account_content": {Scope.PROFILE, Scope.CONTENT},
}


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
    lapsed_at: datetime | None = None


class Right(StrEnum):
    """GDPR-3: the rights a subject can exercise."""

    INFORMATION = "information"
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"

    @property
    def yields_export(self) -> bool:
        """GDPR-3: access and portability yield a machine-readable export of what the
        ledger holds on the subject; so does information (interpretation: what is held,
        and for how long, is the information)."""
        return self in EXPORTED_RIGHTS


EXPORTED_RIGHTS = frozenset({Right.ACCESS, Right.PORTABILITY, Right.INFORMATION})  # GDPR-3


class SubjectRequest(BaseModel):
    """GDPR-3: a request, its deadline, and how it was answered."""

    model_config = ConfigDict(frozen=True)
    number: int
    right: Right
    received_at: datetime
    due_on: date
    answered_at: datetime | None = None
    answer: str | None = None


class RetentionItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    category: str
    due_on: date | None
    basis: str


class Subject(Aggregate):
    """A person the ledger holds data on: an owner, a contact or a lead. Named by a random
    id that says nothing about the person; the look-up from an e-mail address to it lives
    outside the events and goes with the erasure (adapters.keys)."""

    name: str | None = None
    email: str | None = None
    account_id: UUID | None = None
    consents: dict[Purpose, Consent] = {}
    requests: list[SubjectRequest] = []
    restricted: bool = False
    objections: list[Purpose] = []
    erased_at: datetime | None = None
    held: SetAside | None = None  # due work set aside, until an operator releases it
    last_held: SetAside | None = None

    class ConsentGiven(Event):
        purposes: list[Purpose]
        name: Annotated[str | None, Personal(Scope.SUBJECT)]
        email: Annotated[str | None, Personal(Scope.SUBJECT)]
        account_id: UUID | None
        source: str

        def apply(self, subject: Subject) -> None:
            subject.name = self.name or subject.name
            subject.email = self.email or subject.email
            subject.account_id = self.account_id or subject.account_id
            subject.erased_at = None if self.name or self.email else subject.erased_at
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

    class ConsentLapsed(Event):
        """GDPR-2: the consent ran its time (use + 5 years, or 5 years for a lead)."""

        purposes: list[Purpose]

        def apply(self, subject: Subject) -> None:
            for purpose in self.purposes:
                subject.consents[purpose] = subject.consents[purpose].model_copy(
                    update={"lapsed_at": self.effective_at}
                )

    class RequestReceived(Event):
        request: SubjectRequest

        def apply(self, subject: Subject) -> None:
            subject.requests.append(self.request)

    class RequestAnswered(Event):
        number: int
        answer: str

        def apply(self, subject: Subject) -> None:
            subject.requests = [
                r.model_copy(update={"answered_at": self.effective_at, "answer": self.answer})
                if r.number == self.number
                else r
                for r in subject.requests
            ]

    class Rectified(Event):
        name: Annotated[str | None, Personal(Scope.SUBJECT)]
        email: Annotated[str | None, Personal(Scope.SUBJECT)]

        def apply(self, subject: Subject) -> None:
            subject.name = self.name or subject.name
            subject.email = self.email or subject.email

    class ProcessingRestricted(Event):
        def apply(self, subject: Subject) -> None:
            subject.restricted = True

    class ObjectionRecorded(Event):
        purposes: list[Purpose]

        def apply(self, subject: Subject) -> None:
            subject.objections = sorted({*subject.objections, *self.purposes})

    class WorkSetAside(Event):
        """Due work (an erasure) raised; it waits for an operator."""

        class_version = 2  # v2: the task's own kind of job, not its rank in TIME-3

        set_aside: SetAside

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The kind of job is read from the task's key."""
            upcast_set_aside(state)

        def apply(self, subject: Subject) -> None:
            subject.held = self.set_aside

    class WorkReleased(Event):
        key: str

        def apply(self, subject: Subject) -> None:
            subject.last_held, subject.held = subject.held, None

    class Erased(Event):
        """GDPR-4: the subject's key was destroyed; name and e-mail read as null."""

        reason: str

        def apply(self, subject: Subject) -> None:
            subject.name = None
            subject.email = None
            subject.erased_at = self.effective_at

    @classmethod
    def first_consent(
        cls,
        *,
        subject_id: UUID,
        purposes: list[Purpose],
        name: str | None,
        email: str | None,
        account_id: UUID | None,
        source: str,
        at: datetime,
        actor: str | None = None,
    ) -> Subject:
        cls.check_newcomer(name, email)
        subject = cls.model_construct(id=subject_id, version=0)
        subject.init_defaults()
        subject.act_as(actor)
        subject.give_consent(
            purposes=purposes,
            name=name,
            email=email,
            account_id=account_id,
            source=source,
            at=at,
        )
        return subject

    @staticmethod
    def check_newcomer(name: str | None, email: str | None) -> None:
        """GDPR-1: a subject the ledger does not know yet gives a name and an e-mail."""
        if not email or not name:
            raise invalid("email", "a new subject needs a name and an e-mail address")

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def give_consent(
        self,
        *,
        purposes: list[Purpose],
        name: str | None,
        email: str | None,
        account_id: UUID | None,
        source: str,
        at: datetime,
    ) -> None:
        """GDPR-1: consent is voluntary and given per purpose (`marketing`,
        `customer_service`), with its source and actor recorded."""
        assert purposes, "a consent names its purposes"
        if self.erased and not (name and email):
            raise invalid("email", "this subject's data was erased: give a name and an e-mail")
        self.trigger(
            self.ConsentGiven,
            at,
            purposes=sorted(set(purposes)),
            name=name,
            email=email,
            account_id=account_id,
            source=source,
        )

    def in_force(self) -> list[Purpose]:
        return sorted(
            (p for p, c in self.consents.items() if c.withdrawn_at is None and c.lapsed_at is None),
            key=str,
        )

    def withdraw_consent(self, purposes: list[Purpose], at: datetime) -> None:
        """GDPR-1: consent can be withdrawn at any time, per purpose."""
        missing = [p.value for p in purposes if p not in self.in_force()]
        if not purposes or missing:
            raise invalid("purposes", f"no consent in force for {', '.join(missing) or 'nothing'}")
        self.trigger(self.ConsentWithdrawn, at, purposes=sorted(set(purposes)))

    # ------------------------------------------------------ requests (GDPR-3)

    def receive_request(self, right: Right, at: datetime) -> int:
        """GDPR-3: every request is recorded with its deadline, one month after receipt."""
        number = len(self.requests) + 1
        due_on = add_months(at, REQUEST_DEADLINE_MONTHS).date()
        request = SubjectRequest(number=number, right=right, received_at=at, due_on=due_on)
        self.trigger(self.RequestReceived, at, request=request)
        return number

    def answer_request(self, number: int, answer: str, at: datetime) -> None:
        self.trigger(self.RequestAnswered, at, number=number, answer=answer)

    def rectify(self, name: str | None, email: str | None, at: datetime) -> None:
        """GDPR-3: rectification records the new value; the old one stays in history,
        sealed under the same key."""
        if self.erased:
            raise invalid("subject", "this subject's data was erased")
        assert name or email, "a rectification names what changes"
        self.trigger(self.Rectified, at, name=name, email=email)

    def restrict(self, at: datetime) -> None:
        """GDPR-3: restriction is recorded and shown with the subject."""
        self.trigger(self.ProcessingRestricted, at)

    def object_to(self, purposes: list[Purpose], at: datetime) -> None:
        """GDPR-3: an objection (per purpose) is recorded and shown with the subject."""
        assert purposes, "an objection names its purposes"
        self.trigger(self.ObjectionRecorded, at, purposes=sorted(set(purposes)))

    def erase_on_request(self, at: datetime) -> None:
        """GDPR-4: erasure withdraws every consent in force and records that the subject's
        key was destroyed (the application destroys it first). Erasing an erased subject
        records nothing more."""
        if self.in_force():
            self.trigger(self.ConsentWithdrawn, at, purposes=self.in_force())
        if not self.erased:
            self.trigger(self.Erased, at, reason="requested")

    def erase_on_lapse(self, at: datetime) -> None:
        """GDPR-2: when consent lapses, the data held under it is erased."""
        if self.in_force():
            self.trigger(self.ConsentLapsed, at, purposes=self.in_force())
        if not self.erased:
            self.trigger(self.Erased, at, reason="consent_lapsed")

    # ------------------------------------------------------ retention (GDPR-2, GDPR-5)

    def lapses_at(self, account: Account | None) -> datetime | None:
        """GDPR-2: when the consent of every purpose has lapsed, and with it the ground for
        holding the subject's own data; None while any consent still runs open-ended."""
        if not self.consents:
            return None
        ends = [self._consent_lapse(c, account) for c in self.consents.values()]
        if any(end is None for end in ends):
            return None
        return max(end for end in ends if end is not None)

    def set_aside_work(self, task: Task, error: str, where: str, at: datetime) -> None:
        self.trigger(self.WorkSetAside, at, set_aside=held_work(self, task, error, where, at))

    def release_work(self, key: str, at: datetime) -> Task:
        task = released(self, key)
        self.trigger(self.WorkReleased, at, key=key)
        return task

    def next_task(self, account: Account | None) -> Task | None:
        """GDPR-2: when consent lapses, the data held under it is erased (not while work
        of the subject is set aside)."""
        if self.held is not None:
            return None
        lapses = None if self.erased else self.lapses_at(account)
        if lapses is None:
            return None
        return Task.of(TaskKind.ERASURE, lapses, self.id, lapses.isoformat())

    def retention(self, account: Account | None) -> list[RetentionItem]:
        """GDPR-2: consent lasts while the subject's account is in use and 5 years after the
        end of use (the earlier of the cancellation taking effect and the deletion), or until
        withdrawn; for a non-customer, 5 years from consent. GDPR-5: billing records are kept
        for the statutory period. Account content goes with the account."""
        items = [
            self._consent_item(self.consents[p], account) for p in Purpose if p in self.consents
        ]
        if account is None:
            return items
        end = account.statutory_end()
        if end is not None:
            items.append(RetentionItem(category="billing_records", due_on=end, basis="statutory"))
        items.append(_content_item(account))
        return items

    def carried_out(self, item: RetentionItem, account: Account | None) -> bool:
        """Whether the erasure a retention item falls due for has been done: a consent
        category with the subject's own data, the others with their account's keys."""
        scopes = CATEGORY_SCOPES.get(item.category)
        if scopes is None or account is None:
            return self.erased
        return scopes <= set(account.erased_scopes)

    def _consent_lapse(self, consent: Consent, account: Account | None) -> datetime | None:
        if consent.withdrawn_at is not None:
            return consent.withdrawn_at
        if account is None:
            return add_months(consent.given_at, 12 * CONSENT_YEARS)
        ended = end_of_use(account)
        return add_months(ended, 12 * CONSENT_YEARS) if ended is not None else None

    def _consent_item(self, consent: Consent, account: Account | None) -> RetentionItem:
        lapse = self._consent_lapse(consent, account)
        basis = "withdrawn" if consent.withdrawn_at is not None else "consent"
        return RetentionItem(
            category=consent.purpose.value,
            due_on=lapse.date() if lapse is not None else None,
            basis=basis,
        )


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
