"""Data subjects (GDPR-1..5): consent, the address that names a subject, requests and their
answers, erasure on request, retention deadlines and the subject's export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from adapters.keys import KeyStore
from domain.commands import (
    GiveConsent,
    RequestErasure,
    RequestRectification,
    SubjectRequest,
    WithdrawConsent,
)
from domain.errors import DomainError, ErrorCode, invalid
from domain.model import Event
from domain.personal import Scope
from domain.subjects import Right, Subject
from ledger import views
from ledger.due_work import DueWork
from ledger.reading import Knowledge, Reader, When
from ledger.unit import Transactor, Unit


class DataSubjects:
    def __init__(self, tx: Transactor, reader: Reader, keys: KeyStore, due: DueWork) -> None:
        self.tx = tx
        self.reader = reader
        self.keys = keys
        self.due = due

    # ------------------------------------------------------------ consent

    def give_consent(
        self,
        command: GiveConsent,
        subject_id: UUID | None = None,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """GDPR-1: consent per purpose, optionally linked to a customer account; the
        subject's id. By `subject_id` of a subject the ledger holds; without it, by the
        subject its e-mail address names, or a new one (whose id the ledger makes). Not
        account activity (IDLE-1)."""
        newcomer = subject_id is None
        claim: tuple[UUID, bool] | None = None
        if subject_id is None:
            if command.email is None:
                Subject.check_newcomer(command.name, command.email)
            assert command.email is not None
            # the subject the address names, or a new one (of two racing, one wins)
            claim = self.keys.claim_subject(command.email, uuid4(), self.tx.now())
            subject_id = claim[0]
        subject = subject_id

        def work(unit: Unit) -> None:
            if command.account is not None:
                unit.account(command.account)
            found = _subject_if_any(unit, subject)
            if found is None and not newcomer:
                raise DomainError(
                    ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject}", "subject"
                )
            if found is None:
                unit.add(
                    Subject.first_consent(
                        subject_id=subject,
                        purposes=command.purposes,
                        name=command.name,
                        email=command.email,
                        account_id=command.account,
                        source=command.source,
                        at=unit.at,
                        actor=actor,
                    )
                )
                return
            found.give_consent(
                purposes=command.purposes,
                name=command.name,
                email=command.email,
                account_id=command.account,
                source=command.source,
                at=unit.at,
            )

        self._addressed(
            subject,
            command.email,
            lambda: self.tx.transact(
                work,
                actor=actor,
                idempotency_key=idempotency_key,
                command=command,
                target=subject,
            ),
            claim=claim,
        )
        return subject

    def withdraw_consent(
        self,
        subject_id: UUID,
        command: WithdrawConsent,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.tx.transact(
            lambda unit: _subject(unit, subject_id).withdraw_consent(command.purposes, unit.at),
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )

    # ------------------------------------------------------------ the address

    def _addressed(
        self,
        subject_id: UUID,
        email: str | None,
        record: Callable[[], Any],
        *,
        claim: tuple[UUID, bool] | None = None,
    ) -> None:
        """Records a command that gives a subject an address, which from then on names the
        subject (the look-up of `find`). The address is claimed first (`claim`: it was
        already, by the caller, for an id the look-up gave, which may be new), so two
        racing to create one subject make one. A refused command withdraws a claim it
        made (unless the subject has recorded more meanwhile: another command may have
        taken the claim up), and claims again once recorded, should such a withdrawal
        have come in between. The address the subject had before no longer names it."""
        if email is None:
            record()
            return
        before, version = self._address_and_version(subject_id, required=claim is None)
        holder, made = claim or self.keys.claim_subject(email, subject_id, self.tx.now())
        if holder != subject_id:
            raise invalid("email", "this address is another data subject's")
        try:
            record()
        except BaseException:
            if made:
                self.keys.withdraw_claim(email, subject_id, version)
            raise
        self.keys.claim_subject(email, subject_id, self.tx.now())
        if before is not None and before.casefold() != email.casefold():
            self.keys.release_address(before, subject_id, self.tx.now())

    def _address_and_version(self, subject_id: UUID, *, required: bool) -> tuple[str | None, int]:
        """The subject's address and version now; None and 0 for one not recorded yet,
        UNKNOWN_SUBJECT when it must be (an address goes only to a subject the ledger
        holds, or to the new one a look-up gave)."""
        if required:
            found = self.reader.subject(subject_id)
            return found.email, found.version
        try:
            held = self.tx.store.aggregate(subject_id)
        except AggregateNotFoundError:
            return None, 0
        assert isinstance(held, Subject)
        return held.email, held.version

    def find(self, email: str) -> UUID:
        """The subject an e-mail address names, while its data is held (not after erasure:
        the look-up goes with it)."""
        found = self.keys.find_subject(email)
        if found is None or found not in self.tx.store.repository:
            raise DomainError(
                ErrorCode.UNKNOWN_SUBJECT, "no data subject has this address", "email"
            )
        return found

    # ------------------------------------------------------------ reads

    def subject(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> dict[str, Any]:
        known = Knowledge.of(as_of, known_at)
        found = self.reader.subject(subject_id, known)
        pending = found.erased and known.current and self._purge_pending(found)
        return views.subject_view(found, erasure_pending=pending)

    def _purge_pending(self, subject: Subject) -> bool:
        """GDPR-4: whether keys destroyed and addresses forgotten for the subject (and its
        account's profile) may still be on a database page: another session could still
        see them, and the scheduler's next run finishes the purge (adapters.keys)."""
        holders = [subject.id] + ([subject.account_id] if subject.account_id else [])
        return not all(self.keys.purged(holder) for holder in holders)

    def retention(
        self, subject_id: UUID, *, as_of: When = None, known_at: When = None
    ) -> list[dict[str, Any]]:
        """GDPR-2/5: per category, the date the data falls due for erasure and why."""
        known = Knowledge.of(as_of, known_at)
        found = self.reader.subject(subject_id, known)
        return [
            {
                "category": item.category,
                "due_on": str(item.due_on) if item.due_on else None,
                "basis": item.basis,
            }
            for item in found.retention(self.reader.linked_account(found, known))
        ]

    # ------------------------------------------------------------ requests (GDPR-3/4)

    def request(
        self,
        subject_id: UUID,
        command: SubjectRequest,
        *,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """GDPR-3: records the request with its deadline, carries it out and records the
        answer, in one transaction; answers with the export for access, portability and
        information, else with the subject as it now is."""
        if isinstance(command, RequestErasure):
            self._erase_on_request(subject_id, command, actor, idempotency_key)
            return self.subject(subject_id)
        email = command.email if isinstance(command, RequestRectification) else None
        self._addressed(
            subject_id,
            email,
            lambda: self._answer(subject_id, command, command.answer, actor, idempotency_key),
        )
        if Right(command.right).yields_export:
            return self.export(subject_id)
        return self.subject(subject_id)

    def _answer(
        self,
        subject_id: UUID,
        command: SubjectRequest,
        carry_out: Callable[[Subject, datetime], str],
        actor: str | None,
        idempotency_key: str | None,
    ) -> None:
        def work(unit: Unit) -> None:
            subject = _subject(unit, subject_id)
            number = subject.receive_request(Right(command.right), unit.at)
            subject.answer_request(number, carry_out(subject, unit.at), unit.at)

        self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )

    def _erase_on_request(
        self,
        subject_id: UUID,
        command: RequestErasure,
        actor: str | None,
        idempotency_key: str | None,
    ) -> None:
        """GDPR-4: erasure is carried out when requested: the subject's key and, for the
        person of a linked account, the account's profile key are destroyed first, with
        the look-up from the subject's address; then the facts are recorded. Billing
        records under GDPR-5 keep their key until their period ends; the scheduler
        destroys it then."""
        found = self.reader.subject(subject_id)
        account = self.reader.linked_account(found)
        at = self.tx.now()
        repeated = self.tx.repeated(actor, idempotency_key)
        scopes = account.scopes_erasable_on_request(at) if account and not repeated else []
        if not repeated:  # a repeat must not destroy keys made since the first request
            self.keys.shred_scopes(found.id, [Scope.SUBJECT], at)
            self.keys.forget_subject(found.id, at)
        if account is not None:
            self.keys.shred_scopes(account.id, scopes, at)

        def work(unit: Unit) -> None:
            subject = _subject(unit, subject_id)
            number = subject.receive_request(Right.ERASURE, unit.at)
            subject.erase_on_request(unit.at)
            answer = "erased"
            if account is not None:
                linked = unit.account(account.id)
                linked.erase_personal_data(scopes, "requested", unit.at)
                end = linked.statutory_end()
                if Scope.BILLING not in scopes and end is not None:
                    answer = f"erased; billing records kept until {end} (GDPR-5)"
            subject.answer_request(number, answer, unit.at)

        self.tx.transact(
            work,
            actor=actor,
            idempotency_key=idempotency_key,
            command=command,
            target=subject_id,
        )
        self.keys.purge(at)

    def export(self, subject_id: UUID) -> dict[str, Any]:
        """GDPR-3: everything the ledger holds on the subject, machine-readable: the subject,
        its retention, and every recorded fact about it and its linked account."""
        found = self.reader.subject(subject_id)
        account = self.reader.linked_account(found)
        export: dict[str, Any] = {
            "subject": self.subject(subject_id),
            "retention": self.retention(subject_id),
            "events": self._history(found.id),
        }
        if account is not None:
            export["account"] = {
                **views.account_view(account),
                "owner": account.owner.model_dump(mode="json") if account.owner else None,
                "company": account.company,
                "country": account.country,
                "invoices": [views.invoice_view(account.id, i) for i in account.invoices],
                "payments": views.payment_views(account),
                "refunds": views.refund_views(account),
                "notifications": views.notification_views(account),
                "events": self._history(account.id),
            }
        return export

    def _history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return [
            {"type": type(e).__qualname__, **e.model_dump(mode="json")}
            for e in self.tx.store.events.get(aggregate_id)
            if isinstance(e, Event)
        ]


def _subject_if_any(unit: Unit, subject_id: UUID) -> Subject | None:
    try:
        return unit.find(subject_id, Subject)
    except AssertionError:  # the id of another kind of aggregate
        raise DomainError(
            ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject"
        ) from None


def _subject(unit: Unit, subject_id: UUID) -> Subject:
    found = _subject_if_any(unit, subject_id)
    if found is None:
        raise DomainError(ErrorCode.UNKNOWN_SUBJECT, f"no data subject {subject_id}", "subject")
    return found
