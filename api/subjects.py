"""Data subjects (GDPR): consent, the subjects' requests, and retention."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from api.params import PAGE_LIMIT_DEFAULT, Created, Key, KeyCursor, Known, Limit, Page, created_at
from api.security import Admin, TheLedger, Writer
from domain.commands import AnySubjectRequest, GiveConsent, WithdrawConsent
from domain.values import Day, Email
from ledger.views import DeadlineView, RetentionView, SubjectView

router = APIRouter(tags=["subjects"])


class AddressLookup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    email: Email


@router.post(
    "/subjects",
    status_code=201,
    response_model=Created,
    responses=created_at("subject"),
)
def give_first_consent(
    command: GiveConsent, actor: Writer, ledger: TheLedger, response: Response, key: Key = None
) -> Created:
    """GDPR-1: consent of the subject its e-mail address names, or of a new one. It
    answers with the subject's id only: reading a subject (its name and address) is for
    admin tokens."""
    subject = ledger.give_consent(command, actor=actor, idempotency_key=key)
    response.headers["Location"] = f"/subjects/{subject}"
    return Created(id=subject)


@router.post("/subjects/lookup", response_model=Created)
def find_subject(body: AddressLookup, actor: Admin, ledger: TheLedger) -> Created:
    """The subject an e-mail address names (none once it was erased)."""
    return Created(id=ledger.find_subject(body.email))


@router.post("/subjects/{subject_id}/consents", response_model=Created)
def give_consent(
    subject_id: UUID, command: GiveConsent, actor: Writer, ledger: TheLedger, key: Key = None
) -> Created:
    ledger.give_consent(command, subject_id, actor=actor, idempotency_key=key)
    return Created(id=subject_id)


@router.post("/subjects/{subject_id}/consents/withdrawal", status_code=204)
def withdraw_consent(
    subject_id: UUID, command: WithdrawConsent, actor: Writer, ledger: TheLedger, key: Key = None
) -> None:
    ledger.withdraw_consent(subject_id, command, actor=actor, idempotency_key=key)


@router.post("/subjects/{subject_id}/requests")
def subject_request(
    subject_id: UUID,
    command: AnySubjectRequest,
    actor: Admin,
    ledger: TheLedger,
    key: Key = None,
) -> dict[str, Any]:
    """GDPR-3: access, portability and information answer with the export; the others
    with the subject as it now is."""
    return ledger.subject_request(subject_id, command, actor=actor, idempotency_key=key)


@router.get("/subjects/{subject_id}", response_model=SubjectView)
def get_subject(subject_id: UUID, actor: Admin, ledger: TheLedger, when: Known) -> dict[str, Any]:
    return ledger.subject(subject_id, **when)


@router.get("/subjects/{subject_id}/retention", response_model=list[RetentionView])
def retention(
    subject_id: UUID, actor: Admin, ledger: TheLedger, when: Known
) -> list[dict[str, Any]]:
    return ledger.retention(subject_id, **when)


@router.get("/retention/due", response_model=Page[DeadlineView])
def falls_due(
    before: Annotated[Day, Query()],
    actor: Admin,
    ledger: TheLedger,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: KeyCursor = None,
) -> Page[dict[str, Any]]:
    """GDPR-2/3/5: the retention deadlines before a day, read by key from the read index."""
    found = ledger.falls_due(before, limit=limit, after=cursor)
    return Page.of(found)
