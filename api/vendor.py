"""The vendor's own commands (admin): suspension, prepaid credit, price changes, codes."""

from fastapi import APIRouter

from api.accounts import account_command
from api.params import Key
from api.security import Admin, TheLedger
from domain.commands import (
    AnnouncePriceChange,
    GrantPrepaidCredit,
    LiftSuspension,
    SellCode,
    Suspend,
)

router = APIRouter()

for _path, _kind in (
    ("suspension", Suspend),
    ("suspension/lifting", LiftSuspension),
    ("prepaid-credit", GrantPrepaidCredit),
):
    account_command(router, _path, _kind, Admin, "vendor commands")


@router.post("/price-changes", status_code=204, tags=["vendor commands"])
def announce_price_change(
    command: AnnouncePriceChange, actor: Admin, ledger: TheLedger, key: Key = None
) -> None:
    ledger.announce_price_change(command, actor=actor, idempotency_key=key)


@router.post("/codes", status_code=204, tags=["vendor commands"])
def sell_code(command: SellCode, actor: Admin, ledger: TheLedger, key: Key = None) -> None:
    ledger.sell_code(command, actor=actor, idempotency_key=key)
