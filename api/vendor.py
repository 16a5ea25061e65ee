"""The vendor's own commands (admin): suspension, prepaid credit, price changes, codes."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from starlette.exceptions import HTTPException

from api.accounts import account_command
from api.params import Key, created_at
from api.security import Admin, Finance, TheLedger
from app import Ledger
from domain.commands import (
    AnnouncePriceChange,
    GrantPrepaidCredit,
    LiftSuspension,
    SellCode,
    Suspend,
)
from ledger.views import PriceChangeView

router = APIRouter()

for _path, _kind in (
    ("suspension", Suspend),
    ("suspension/lifting", LiftSuspension),
    ("prepaid-credit", GrantPrepaidCredit),
):
    account_command(router, _path, _kind, Admin, "vendor commands")


@router.post(
    "/price-changes",
    status_code=201,
    response_model=PriceChangeView,
    responses=created_at("price change"),
    tags=["vendor commands"],
)
def announce_price_change(
    command: AnnouncePriceChange,
    actor: Admin,
    ledger: TheLedger,
    response: Response,
    key: Key = None,
) -> dict[str, Any]:
    """BILL-6: the change, and its notices sent to the owners of the affected accounts."""
    number = ledger.announce_price_change(command, actor=actor, idempotency_key=key)
    response.headers["Location"] = f"/price-changes/{number}"
    return _price_change(ledger, number)


@router.get("/price-changes/{number}", response_model=PriceChangeView, tags=["vendor commands"])
def price_change(
    number: Annotated[int, Path(ge=0, le=1_000_000)], actor: Finance, ledger: TheLedger
) -> dict[str, Any]:
    """BILL-6: an announced change and how far its notices went."""
    return _price_change(ledger, number)


def _price_change(ledger: Ledger, number: int) -> dict[str, Any]:
    found = ledger.price_change(number)
    if found is None:
        raise HTTPException(404, f"no price change {number} was announced")
    return found


@router.post("/codes", status_code=204, tags=["vendor commands"])
def sell_code(command: SellCode, actor: Admin, ledger: TheLedger, key: Key = None) -> None:
    ledger.sell_code(command, actor=actor, idempotency_key=key)
