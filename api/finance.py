"""What finance reads (finance:read): the trial balance and the open credit windows."""

from typing import Any

from fastapi import APIRouter

from api.params import PAGE_LIMIT_DEFAULT, Cursor, Known, Limit, Page, page
from api.security import Finance, TheLedger

router = APIRouter(tags=["finance"])


@router.get("/ledger")
def trial_balance(actor: Finance, ledger: TheLedger, when: Known) -> dict[str, Any]:
    return ledger.ledger(**when)


@router.get("/credit-windows", response_model=Page[dict[str, Any]])
def credit_windows(
    actor: Finance,
    ledger: TheLedger,
    when: Known,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: Cursor = None,
) -> Page[dict[str, Any]]:
    return page(ledger.credit_windows(**when), limit, cursor)
