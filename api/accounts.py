"""Accounts: opening one, the commands services send it, and what they read of it."""

import re
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.exceptions import HTTPException

from api.params import (
    PAGE_LIMIT_DEFAULT,
    Cursor,
    Key,
    KeyCursor,
    Known,
    Limit,
    Page,
    created_at,
    page,
)
from api.security import Reader, TheLedger, Writer, sees_addresses
from app import Ledger
from domain.catalog import Cycle
from domain.commands import (
    AccountCommand,
    AddPaymentMethod,
    AddSeats,
    Cancel,
    ChangePlan,
    ChooseLanguage,
    CorrectInvoice,
    OpenAccount,
    OpenWithCode,
    RecordActivity,
    RedeemCode,
    RemoveSeats,
    ReportSharedLogin,
    ResolveSharedLogin,
    SetBillingDetails,
    SetVatId,
)
from domain.suspension import AccountStatus
from domain.values import CurrencyCode, Day, PlanName
from ledger.views import (
    AccountSummaryView,
    AccountView,
    BalanceView,
    CreditWindowView,
    InvoiceView,
    LiabilityCapView,
    NotificationView,
    PaymentView,
    RefundView,
    View,
)

router = APIRouter()


CREATED = created_at("account")


def _created(ledger: Ledger, account_id: UUID, response: Response) -> dict[str, Any]:
    """201 with the account as it now stands (on a repeat of the same idempotency key,
    the account the first request opened, as it stands now) and its address."""
    response.headers["Location"] = f"/accounts/{account_id}"
    return ledger.account(account_id)


@router.post(
    "/accounts", status_code=201, response_model=AccountView, responses=CREATED, tags=["accounts"]
)
def open_account(
    command: OpenAccount, actor: Writer, ledger: TheLedger, response: Response, key: Key = None
) -> dict[str, Any]:
    opened = ledger.open_account(command, actor=actor, idempotency_key=key)
    return _created(ledger, opened, response)


@router.post(
    "/codes/redemptions",
    status_code=201,
    response_model=AccountView,
    responses=CREATED,
    tags=["accounts"],
)
def open_with_code(
    command: OpenWithCode, actor: Writer, ledger: TheLedger, response: Response, key: Key = None
) -> dict[str, Any]:
    """LTD-2/LTD-3: a lifetime-deal code opens an account."""
    opened = ledger.open_with_code(command, actor=actor, idempotency_key=key)
    return _created(ledger, opened, response)


@router.get("/accounts", response_model=Page[AccountSummaryView], tags=["accounts"])
def list_accounts(
    actor: Reader,
    ledger: TheLedger,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: KeyCursor = None,
    status: Annotated[AccountStatus | None, Query()] = None,
    plan: Annotated[PlanName | None, Query()] = None,
    currency: Annotated[CurrencyCode | None, Query()] = None,
    cycle: Annotated[Cycle | None, Query()] = None,
) -> Page[Any]:
    """Accounts in the order opened, each one's id, status, plan, currency and cycle,
    filtered by any of them; a page read by key from the read index."""
    found = ledger.accounts(
        limit=limit, after=cursor, status=status, plan=plan, currency=currency, cycle=cycle
    )
    return Page.of(found)


@router.get("/accounts/{account_id}", response_model=AccountView, tags=["accounts"])
def get_account(account_id: UUID, actor: Reader, ledger: TheLedger, when: Known) -> dict[str, Any]:
    return ledger.account(account_id, **when)


def operation(kind: type[AccountCommand]) -> str:
    """A command's operation id, the name a generated client calls: `AddSeats`, `add_seats`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


def account_command(
    target: APIRouter, path: str, kind: type[AccountCommand], who: Any, tag: str
) -> None:
    """A command on one account: 200 with the account as the command left it, or a problem
    document. `who` is the scope it needs (services write; the vendor's own commands need
    admin)."""
    summary = kind.__doc__.split(". ")[0] if kind.__doc__ else None
    route = target.post(
        f"/accounts/{{account_id}}/{path}",
        response_model=AccountView,
        tags=[tag],
        summary=summary,
        name=operation(kind),
    )
    if not kind.model_fields:

        def plain(
            account_id: UUID, actor: who, ledger: TheLedger, key: Key = None
        ) -> dict[str, Any]:
            ledger.execute(account_id, kind(), actor=actor, idempotency_key=key)
            return ledger.account(account_id)

        route(plain)
        return

    def with_body(
        account_id: UUID,
        command: Annotated[kind, Body()],  # type: ignore[valid-type]
        actor: who,
        ledger: TheLedger,
        key: Key = None,
    ) -> dict[str, Any]:
        ledger.execute(account_id, command, actor=actor, idempotency_key=key)
        return ledger.account(account_id)

    route(with_body)


COMMANDS: tuple[tuple[str, type[AccountCommand]], ...] = (
    ("seats", AddSeats),
    ("seats/removal", RemoveSeats),
    ("plan", ChangePlan),
    ("payment-method", AddPaymentMethod),
    ("billing-details", SetBillingDetails),
    ("vat-id", SetVatId),
    ("language", ChooseLanguage),
    ("activity", RecordActivity),
    ("cancellation", Cancel),
    ("shared-logins", ReportSharedLogin),
    ("shared-logins/resolution", ResolveSharedLogin),
    ("invoice-correction", CorrectInvoice),
)
for _path, _kind in COMMANDS:
    account_command(router, _path, _kind, Writer, "account commands")


@router.post("/accounts/{account_id}/lifetime-code", response_model=AccountView, tags=["accounts"])
def redeem_code(
    account_id: UUID, command: RedeemCode, actor: Writer, ledger: TheLedger, key: Key = None
) -> dict[str, Any]:
    """LTD-4: one code per account; a code redeemed a second time suspends both."""
    ledger.redeem_code(account_id, command, actor=actor, idempotency_key=key)
    return ledger.account(account_id)


# ------------------------------------------------------------------ account reads


def account_list(
    path: str, name: str, read: Callable[..., list[dict[str, Any]]], view: type[View]
) -> None:
    @router.get(
        f"/accounts/{{account_id}}/{path}",
        response_model=Page[view],  # type: ignore[valid-type]
        tags=["account reads"],
        name=name,
    )
    def listing(
        account_id: UUID,
        actor: Reader,
        when: Known,
        ledger: TheLedger,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Cursor = None,
    ) -> Page[dict[str, Any]]:
        return page(read(ledger, account_id, **when), limit, cursor)


account_list("invoices", "list_invoices", Ledger.invoices, InvoiceView)
account_list("payments", "list_payments", Ledger.payments, PaymentView)
account_list("refunds", "list_refunds", Ledger.refunds, RefundView)


@router.get(
    "/accounts/{account_id}/notifications",
    response_model=Page[NotificationView],
    tags=["account reads"],
)
def notifications(
    account_id: UUID,
    request: Request,
    actor: Reader,
    when: Known,
    ledger: TheLedger,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: Cursor = None,
) -> Page[dict[str, Any]]:
    """The owner's notifications; the address each went to only for scopes that
    command the account (finance and audit read no personal data here)."""
    found = ledger.notifications(account_id, **when)
    if not sees_addresses(request, actor):
        found = [{**n, "to": None} for n in found]
    return page(found, limit, cursor)


@router.get("/accounts/{account_id}/balance", response_model=BalanceView, tags=["account reads"])
def balance(account_id: UUID, actor: Reader, ledger: TheLedger, when: Known) -> dict[str, Any]:
    return ledger.balance(account_id, **when)


@router.get(
    "/accounts/{account_id}/credit-window",
    response_model=CreditWindowView,
    tags=["account reads"],
)
def credit_window(
    account_id: UUID, actor: Reader, ledger: TheLedger, when: Known
) -> dict[str, Any]:
    """CREDIT-3: the open prepaid pool's window; 404 (NOT_FOUND) when none is open."""
    found = ledger.credit_window(account_id, **when)
    if found is None:
        raise HTTPException(404, "the account has no open prepaid pool")
    return found


@router.get(
    "/accounts/{account_id}/liability-cap",
    response_model=LiabilityCapView,
    tags=["account reads"],
)
def liability_cap(
    account_id: UUID, on: Annotated[Day, Query()], actor: Reader, ledger: TheLedger, when: Known
) -> dict[str, Any]:
    return ledger.liability_cap(account_id, on, **when)


@router.get("/accounts/{account_id}/subprocessors", tags=["account reads"])
def subprocessors(
    account_id: UUID, on: Annotated[Day, Query()], actor: Reader, ledger: TheLedger, when: Known
) -> list[str]:
    return ledger.subprocessors(account_id, on, **when)
