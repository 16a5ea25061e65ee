"""What operators look after: the mail outbox and the due work set aside."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from api.params import PAGE_LIMIT_DEFAULT, Cursor, Limit, Page, page
from api.security import Admin, TheLedger
from ledger.views import OutboxView, RetriedView, SetAsideView

router = APIRouter()


class Retry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=r"^[!-~]+$")]


@router.get("/mail/outbox", response_model=Page[OutboxView], tags=["mail"])
def mail_outbox(
    actor: Admin, ledger: TheLedger, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None
) -> Page[dict[str, Any]]:
    """Every notification's delivery state (ids and states; no addresses)."""
    return page(ledger.mail_outbox(), limit, cursor)


@router.post("/mail/{notification_id}/release", status_code=204, tags=["mail"])
def release_mail(notification_id: UUID, actor: Admin, ledger: TheLedger) -> None:
    """Sends an uncertain or failed e-mail again, once you know it did not arrive."""
    if not ledger.release_mail(notification_id):
        raise HTTPException(404, "no uncertain or failed e-mail with that id")


@router.get("/due-work/set-aside", response_model=Page[SetAsideView], tags=["operations"])
def set_aside_work(
    actor: Admin, ledger: TheLedger, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None
) -> Page[dict[str, Any]]:
    """Due work that raised and was set aside: its task, error type and where it was
    raised; the scheduler carries out everything else meanwhile."""
    return page(ledger.failed_work(), limit, cursor)


@router.post("/due-work/retries", response_model=RetriedView | SetAsideView, tags=["operations"])
def retry_due_work(body: Retry, actor: Admin, ledger: TheLedger) -> dict[str, Any]:
    """Releases a set-aside task once its cause is fixed and carries it out (once,
    however often retried); it is set aside again if it still raises."""
    return ledger.retry_due_work(body.key, actor=actor)
