"""What finance reads (finance:read): the trial balance, the open credit windows and the
month-end reports."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, Response

from api.params import PAGE_LIMIT_DEFAULT, KeyCursor, Known, KnownAt, Limit, Page
from api.security import Finance, TheLedger
from ledger.views import CreditWindowView, MoneyView, ReportView
from projections.reports import REPORTS, ReportFormat, render_report, report_document

router = APIRouter(tags=["finance"])
CSV = "text/csv"


@router.get("/ledger", response_model=dict[str, bool | dict[str, MoneyView]])
def trial_balance(actor: Finance, ledger: TheLedger, when: Known) -> dict[str, Any]:
    return ledger.ledger(**when)


@router.get("/credit-windows", response_model=Page[CreditWindowView])
def credit_windows(
    actor: Finance,
    ledger: TheLedger,
    when: Known,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: KeyCursor = None,
) -> Page[Any]:
    """CREDIT-3: the open pools in account opening order, read by key from the read index."""
    found = ledger.credit_windows(limit=limit, after=cursor, **when)
    return Page.of(found)


@router.get(
    "/reports/{name}",
    response_model=ReportView,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
def report(
    name: Annotated[str, Path(description=f"one of: {', '.join(REPORTS)}")],
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")],
    actor: Finance,
    ledger: TheLedger,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    known_at: KnownAt = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """A month-end report, as JSON (amounts as money) or, asked for `text/csv`, as the
    CSV `seatledger report --format csv` writes. `known_at` shows it as it could have been
    drawn up then."""
    found = ledger.report(name, month, currency, known_at=known_at)
    if CSV in (accept or ""):
        return Response(
            render_report(found, ReportFormat.CSV),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}-{month}.csv"'},
        )
    return JSONResponse(report_document(found))
