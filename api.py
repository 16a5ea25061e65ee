"""The internal HTTP API: thin routes over the `Ledger` (parse, call one method, render).

Bearer tokens with scopes (`write`, `finance:read`, `audit:read`, `admin`) name the actor of
every event they cause. A request body is a command of `domain.commands`, checked as a
whole: refusals are RFC 9457 problem documents carrying the error code of SCENARIOS.md and
every field at fault. Every command takes an `Idempotency-Key`, the token's own: a repeat
with the same body returns the first response and records nothing, the same key with
another body is refused. The interactive documentation at `/docs` needs no network.
"""

import hashlib
import hmac
import json
from collections.abc import Callable, MutableMapping
from enum import Enum, StrEnum
from http import HTTPStatus
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from app import Ledger
from domain.account import AccountStatus
from domain.catalog import Cycle
from domain.commands import (
    AccountCommand,
    AddPaymentMethod,
    AddSeats,
    AnnouncePriceChange,
    AnySubjectRequest,
    Cancel,
    ChangePlan,
    ChooseLanguage,
    CorrectInvoice,
    GiveConsent,
    GrantPrepaidCredit,
    LiftSuspension,
    OpenAccount,
    OpenWithCode,
    RecordActivity,
    RedeemCode,
    RemoveSeats,
    ReportSharedLogin,
    ResolveSharedLogin,
    SellCode,
    SetBillingDetails,
    SetVatId,
    Suspend,
    WithdrawConsent,
)
from domain.documents import Rendering
from domain.errors import DomainError, ErrorCode, FieldError, field_errors
from domain.values import CATALOG_PLANS, CurrencyCode, Day, Email, Instant
from settings import ApiToken, Permission

PAGE_LIMIT_DEFAULT = 100
PAGE_LIMIT_MAX = 500
BODY_MAX_BYTES = 64 * 1024  # the largest command is a few kilobytes
PROBLEM = "application/problem+json"
T = TypeVar("T")
DocumentNumber = Annotated[str, Path(pattern=r"^(CN-)?[0-9]{4}-[0-9]{6}$")]


class DocumentFormat(StrEnum):
    """What GET /invoices/{number} answers with."""

    JSON = "json"
    UBL = "ubl"
    CII = "cii"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {"json": "application/json", "pdf": "application/pdf"}.get(
            self.value, "application/xml"
        )

    @property
    def extension(self) -> str:
        return {"pdf": "pdf", "json": "json"}.get(self.value, "xml")

    @classmethod
    def from_accept(cls, accept: str | None) -> "DocumentFormat":
        """The first of the Accept header's types that names a rendering (XML is UBL, the
        e-invoice); JSON otherwise."""
        for part in (accept or "").split(","):
            media = part.split(";")[0].strip().lower()
            if media == "application/pdf":
                return cls.PDF
            if media in ("application/xml", "text/xml"):
                return cls.UBL
            if media in ("application/json", "*/*"):
                return cls.JSON
        return cls.JSON


STATUS = {
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.UNKNOWN_ACCOUNT: 404,
    ErrorCode.UNKNOWN_PLAN: 422,
    ErrorCode.ACCOUNT_CLOSED: 409,
    ErrorCode.NO_SEATS_LEFT: 409,
    ErrorCode.PRICE_NOTICE_TOO_SHORT: 422,
    ErrorCode.CORRECTION_WINDOW_CLOSED: 409,
    ErrorCode.INVALID_VAT_ID: 422,
    ErrorCode.UNKNOWN_CODE: 404,
    ErrorCode.CODE_REDEMPTION_CLOSED: 409,
    ErrorCode.CODE_STACKING: 409,
    ErrorCode.UNKNOWN_SUBJECT: 404,
    ErrorCode.UNKNOWN_DOCUMENT: 404,
    ErrorCode.DOCUMENT_ERASED: 410,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.WORK_SET_ASIDE: 409,
}


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details: the status phrase as its title (what `about:blank` asks
    for), the error code every client branches on (SCENARIOS.md's, or the HTTP layer's
    own for authentication, routing and defects), the (first) field at fault and every
    field at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldProblem] = []


# The codes of refusals made by the HTTP layer itself, before any command is read
HTTP_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: tuple[FieldError, ...] = (),
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        field=errors[0].field if errors else None,
        errors=[FieldProblem(field=e.field, message=e.message) for e in errors],
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM)


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": Problem.model_json_schema()}},
    }


class Created(BaseModel):
    id: UUID


class Page(BaseModel):
    items: list[Any]
    next_cursor: str | None


class Retry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=r"^[!-~]+$")]


class AddressLookup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    email: Email


# ------------------------------------------------------------------ the door


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 before anything reads it: by its
    Content-Length, or, sent in chunks, once it has grown past the limit (what it holds
    until then is at most the limit)."""

    def __init__(self, app: Any, max_bytes: int = BODY_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal delivered
            if delivered:
                return dict(await receive())
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        response = problem(
            413,
            "PAYLOAD_TOO_LARGE",
            f"a request body may hold at most {self.max_bytes} bytes",
        )
        await response(scope, receive, send)


def _list_the_catalog(api: FastAPI, plans: list[str]) -> None:
    """BILL-1: the document lists the plans of the catalog this service sells (a plan is
    data), where the command models mark a plan name (domain.values.PlanName)."""
    made = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = made()
            for schema in document.get("components", {}).get("schemas", {}).values():
                for field in schema.get("properties", {}).values():
                    if field.pop(CATALOG_PLANS, False):
                        field["enum"] = plans
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


# ------------------------------------------------------------------ the application


def create_app(ledger: Ledger, tokens: dict[str, ApiToken]) -> FastAPI:
    api = FastAPIOffline(
        title="seatledger internal API",
        version="1",
        description=__doc__,
        responses={
            401: problem_response("no valid bearer token"),
            403: problem_response("the token lacks the scope"),
            404: problem_response("no such account, subject, code or document"),
            409: problem_response("refused in the account's state (closed, window passed, ...)"),
            413: problem_response("the request body is larger than the API takes"),
            422: problem_response("refused: invalid input, with the error code and fields"),
        },
    )
    api.add_middleware(BodyLimit)
    _list_the_catalog(api, sorted(ledger.catalog.plans))
    bearer = HTTPBearer(auto_error=False, description="a token of SEATLEDGER_API_TOKENS")
    digests = {
        name: hashlib.sha256(token.secret.get_secret_value().encode()).digest()
        for name, token in tokens.items()
    }

    def authenticate(given: str) -> str:
        digest = hashlib.sha256(given.encode()).digest()
        found = None
        for name, expected in digests.items():  # every token compared, in constant time
            if hmac.compare_digest(digest, expected):
                found = name
        if found is None:
            raise HTTPException(401, "the bearer token is not valid")
        return found

    def allow(*scopes: Permission) -> Callable[..., str]:
        def check(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> str:
            if credentials is None:
                raise HTTPException(401, "a bearer token is required")
            name = authenticate(credentials.credentials)
            granted = set(tokens[name].scopes)
            if Permission.ADMIN not in granted and not granted.intersection(scopes):
                raise HTTPException(403, f"needs one of: {', '.join(sorted(scopes))}")
            return name

        return check

    def sees_addresses(name: str) -> bool:
        """Owners' addresses are for those who command accounts, not for finance or audit."""
        return bool({Permission.WRITE, Permission.ADMIN} & set(tokens[name].scopes))

    Writer = Annotated[str, Depends(allow(Permission.WRITE))]
    Reader = Annotated[
        str, Depends(allow(Permission.WRITE, Permission.FINANCE_READ, Permission.AUDIT_READ))
    ]
    Finance = Annotated[str, Depends(allow(Permission.FINANCE_READ, Permission.AUDIT_READ))]
    Admin = Annotated[str, Depends(allow(Permission.ADMIN))]
    Auditor = Annotated[str, Depends(allow(Permission.AUDIT_READ))]
    Key = Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[!-~]{1,200}$",
            description="repeats of a command under this key (the token's own) record nothing",
        ),
    ]
    Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]
    Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")]
    AsOf = Annotated[
        Instant | None,
        Query(description="business time (TIME-2): what held at this instant; default now"),
    ]
    KnownAt = Annotated[
        Instant | None,
        Query(description="recording time (TIME-2): as the ledger knew it then; default now"),
    ]

    def point_in_time(as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        """TIME-2: the business and recording instants a read is about."""
        return {"as_of": as_of, "known_at": known_at}

    Known = Annotated[dict[str, Any], Depends(point_in_time)]

    @api.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> JSONResponse:
        status = STATUS.get(error.code, 422)
        return problem(status, error.code.value, error.message, errors=error.errors)

    @api.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        # the location's first part says where (body, path, query): fields read without it
        errors = field_errors(
            [{**e, "loc": tuple(e.get("loc", ()))[1:] or e.get("loc", ())} for e in error.errors()]
        )
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
        code = ErrorCode.INVALID_INPUT.value
        return problem(422, code, detail, errors=errors)

    @api.exception_handler(Exception)
    async def defect(request: Request, error: Exception) -> JSONResponse:
        """A defect, not a refusal (the ledger's own data it cannot read, say): a problem
        document that says nothing of the data; the server's log has the traceback."""
        return problem(500, "INTERNAL_ERROR", "a defect of the ledger: its log has the details")

    @api.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400:  # a body that is not even text (FastAPI's own check)
            code = ErrorCode.INVALID_INPUT.value
            unreadable = (FieldError("body", "is not UTF-8 JSON"),)
            return problem(422, code, "body: is not UTF-8 JSON", errors=unreadable)
        code = HTTP_CODES.get(error.status_code, "HTTP_ERROR")
        response = problem(error.status_code, code, error.detail)
        if error.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def page(items: list[T], limit: int, cursor: str | None) -> Page:
        start = int(cursor or 0)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        return Page(items=list(chunk), next_cursor=str(start + limit) if more else None)

    # ---------------------------------------------------------------- accounts

    @api.post("/accounts", status_code=201, response_model=Created, tags=["accounts"])
    def open_account(command: OpenAccount, actor: Writer, key: Key = None) -> Created:
        return Created(id=ledger.open_account(command, actor=actor, idempotency_key=key))

    @api.post("/codes/redemptions", status_code=201, response_model=Created, tags=["accounts"])
    def open_with_code(command: OpenWithCode, actor: Writer, key: Key = None) -> Created:
        """LTD-2/LTD-3: a lifetime-deal code opens an account."""
        return Created(id=ledger.open_with_code(command, actor=actor, idempotency_key=key))

    @api.get("/accounts", response_model=Page, tags=["accounts"])
    def list_accounts(
        actor: Reader,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,200}$")] = None,
        status: Annotated[AccountStatus | None, Query()] = None,
        plan: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] = None,
        currency: Annotated[CurrencyCode | None, Query()] = None,
        cycle: Annotated[Cycle | None, Query()] = None,
    ) -> Page:
        """Accounts in the order opened: each one's id, status, plan, currency and cycle."""
        found = ledger.accounts(
            limit=limit, after=cursor, status=status, plan=plan, currency=currency, cycle=cycle
        )
        return Page(items=found.items, next_cursor=found.next_cursor)

    @api.get("/accounts/{account_id}", tags=["accounts"])
    def get_account(account_id: UUID, actor: Reader, when: Known) -> dict[str, Any]:
        return ledger.account(account_id, **when)

    def account_command(path: str, kind: type[AccountCommand], who: Any = Writer) -> None:
        """A command on one account: 200 with the account id, or a problem document. `who`
        is the scope it needs (services write; the vendor's own commands need admin)."""
        tags: list[str | Enum] = ["account commands" if who is Writer else "vendor commands"]
        summary = kind.__doc__.split(". ")[0] if kind.__doc__ else None
        if not kind.model_fields:

            @api.post(path, response_model=Created, tags=tags, summary=summary)
            def plain(account_id: UUID, actor: who, key: Key = None) -> Created:
                ledger.execute(account_id, kind(), actor=actor, idempotency_key=key)
                return Created(id=account_id)

            return

        @api.post(path, response_model=Created, tags=tags, summary=summary)
        def with_body(
            account_id: UUID,
            command: Annotated[kind, Body()],  # type: ignore[valid-type]
            actor: who,
            key: Key = None,
        ) -> Created:
            ledger.execute(account_id, command, actor=actor, idempotency_key=key)
            return Created(id=account_id)

    commands: tuple[tuple[str, type[AccountCommand]], ...] = (
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
    vendors: tuple[tuple[str, type[AccountCommand]], ...] = (
        ("suspension", Suspend),
        ("suspension/lifting", LiftSuspension),
        ("prepaid-credit", GrantPrepaidCredit),
    )
    for path, kind in commands:
        account_command(f"/accounts/{{account_id}}/{path}", kind)
    for path, kind in vendors:
        account_command(f"/accounts/{{account_id}}/{path}", kind, Admin)

    @api.post("/accounts/{account_id}/lifetime-code", response_model=Created, tags=["accounts"])
    def redeem_code(
        account_id: UUID, command: RedeemCode, actor: Writer, key: Key = None
    ) -> Created:
        """LTD-4: one code per account; a code redeemed a second time suspends both."""
        ledger.redeem_code(account_id, command, actor=actor, idempotency_key=key)
        return Created(id=account_id)

    # account reads

    def account_list(path: str, read: Callable[..., list[dict[str, Any]]]) -> None:
        @api.get(path, response_model=Page, tags=["account reads"])
        def listing(
            account_id: UUID,
            actor: Reader,
            when: Known,
            limit: Limit = PAGE_LIMIT_DEFAULT,
            cursor: Cursor = None,
        ) -> Page:
            return page(read(account_id, **when), limit, cursor)

    @api.get(
        "/invoices/{number}",
        tags=["account reads"],
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "application/pdf": {},
                    "application/xml": {},
                },
                "description": "The invoice as JSON, or its document: PDF/A-3 (Factur-X), "
                "UBL (Peppol BIS Billing 3.0) or CII",
            }
        },
    )
    def invoice(
        number: DocumentNumber,
        actor: Reader,
        format: Annotated[
            DocumentFormat | None,
            Query(description="json, ubl, cii or pdf; else the Accept header decides"),
        ] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        """One invoice or credit note. As a document, it is rendered from the log, the
        same bytes as when it was issued (`seatledger audit documents NUMBER --check`)."""
        chosen = format or DocumentFormat.from_accept(accept)
        if chosen is DocumentFormat.JSON:
            return JSONResponse(ledger.invoice(number))
        data = ledger.document(number, Rendering(chosen.value))
        return Response(
            data,
            media_type=chosen.media_type,
            headers={
                "Content-Disposition": f'inline; filename="{number}.{chosen.extension}"',
                "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            },
        )

    account_list("/accounts/{account_id}/invoices", ledger.invoices)
    account_list("/accounts/{account_id}/payments", ledger.payments)
    account_list("/accounts/{account_id}/refunds", ledger.refunds)

    @api.get("/accounts/{account_id}/notifications", response_model=Page, tags=["account reads"])
    def notifications(
        account_id: UUID,
        actor: Reader,
        when: Known,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Cursor = None,
    ) -> Page:
        """The owner's notifications; the address each went to only for scopes that
        command the account (finance and audit read no personal data here)."""
        found = ledger.notifications(account_id, **when)
        if not sees_addresses(actor):
            found = [{**n, "to": None} for n in found]
        return page(found, limit, cursor)

    @api.get("/accounts/{account_id}/balance", tags=["account reads"])
    def balance(account_id: UUID, actor: Reader, when: Known) -> dict[str, str]:
        return ledger.balance(account_id, **when)

    @api.get("/accounts/{account_id}/credit-window", tags=["account reads"])
    def credit_window(account_id: UUID, actor: Reader, when: Known) -> dict[str, Any] | None:
        return ledger.credit_window(account_id, **when)

    @api.get("/accounts/{account_id}/liability-cap", tags=["account reads"])
    def liability_cap(
        account_id: UUID, on: Annotated[Day, Query()], actor: Reader, when: Known
    ) -> dict[str, str]:
        return {"cap": ledger.liability_cap(account_id, on, **when)}

    @api.get("/accounts/{account_id}/subprocessors", tags=["account reads"])
    def subprocessors(
        account_id: UUID, on: Annotated[Day, Query()], actor: Reader, when: Known
    ) -> list[str]:
        return ledger.subprocessors(account_id, on, **when)

    # ---------------------------------------------------------------- vendor

    @api.post("/price-changes", status_code=204, tags=["vendor commands"])
    def announce_price_change(command: AnnouncePriceChange, actor: Admin, key: Key = None) -> None:
        ledger.announce_price_change(command, actor=actor, idempotency_key=key)

    @api.post("/codes", status_code=204, tags=["vendor commands"])
    def sell_code(command: SellCode, actor: Admin, key: Key = None) -> None:
        ledger.sell_code(command, actor=actor, idempotency_key=key)

    # ---------------------------------------------------------------- subjects (GDPR)

    @api.post("/subjects", status_code=201, response_model=Created, tags=["subjects"])
    def give_first_consent(command: GiveConsent, actor: Writer, key: Key = None) -> Created:
        """GDPR-1: consent of the subject its e-mail address names, or of a new one."""
        return Created(id=ledger.give_consent(command, actor=actor, idempotency_key=key))

    @api.post("/subjects/lookup", response_model=Created, tags=["subjects"])
    def find_subject(body: AddressLookup, actor: Admin) -> Created:
        """The subject an e-mail address names (none once it was erased)."""
        return Created(id=ledger.find_subject(body.email))

    @api.post("/subjects/{subject_id}/consents", response_model=Created, tags=["subjects"])
    def give_consent(
        subject_id: UUID, command: GiveConsent, actor: Writer, key: Key = None
    ) -> Created:
        ledger.give_consent(command, subject_id, actor=actor, idempotency_key=key)
        return Created(id=subject_id)

    @api.post("/subjects/{subject_id}/consents/withdrawal", status_code=204, tags=["subjects"])
    def withdraw_consent(
        subject_id: UUID, command: WithdrawConsent, actor: Writer, key: Key = None
    ) -> None:
        ledger.withdraw_consent(subject_id, command, actor=actor, idempotency_key=key)

    @api.post("/subjects/{subject_id}/requests", tags=["subjects"])
    def subject_request(
        subject_id: UUID, command: AnySubjectRequest, actor: Admin, key: Key = None
    ) -> dict[str, Any]:
        """GDPR-3: access, portability and information answer with the export; the others
        with the subject as it now is."""
        return ledger.subject_request(subject_id, command, actor=actor, idempotency_key=key)

    @api.get("/subjects/{subject_id}", tags=["subjects"])
    def get_subject(subject_id: UUID, actor: Admin, when: Known) -> dict[str, Any]:
        return ledger.subject(subject_id, **when)

    @api.get("/subjects/{subject_id}/retention", tags=["subjects"])
    def retention(subject_id: UUID, actor: Admin, when: Known) -> list[dict[str, Any]]:
        return ledger.retention(subject_id, **when)

    @api.get("/retention/due", response_model=Page, tags=["subjects"])
    def falls_due(
        before: Annotated[Day, Query()],
        actor: Admin,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,200}$")] = None,
    ) -> Page:
        found = ledger.falls_due(before, limit=limit, after=cursor)
        return Page(items=found.items, next_cursor=found.next_cursor)

    # ---------------------------------------------------------------- mail

    @api.get("/mail/outbox", response_model=Page, tags=["mail"])
    def mail_outbox(actor: Admin, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None) -> Page:
        """Every notification's delivery state (ids and states; no addresses)."""
        return page(ledger.mail_outbox(), limit, cursor)

    @api.post("/mail/{notification_id}/release", status_code=204, tags=["mail"])
    def release_mail(notification_id: UUID, actor: Admin) -> None:
        """Sends an uncertain or failed e-mail again, once you know it did not arrive."""
        if not ledger.release_mail(notification_id):
            raise HTTPException(404, "no uncertain or failed e-mail with that id")

    # ---------------------------------------------------------------- due work

    @api.get("/due-work/set-aside", response_model=Page, tags=["operations"])
    def set_aside_work(
        actor: Admin, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None
    ) -> Page:
        """Due work that raised and was set aside: its task, error type and where it was
        raised; the scheduler carries out everything else meanwhile."""
        return page(ledger.failed_work(), limit, cursor)

    @api.post("/due-work/retries", tags=["operations"])
    def retry_due_work(body: Retry, actor: Admin) -> dict[str, Any]:
        """Releases a set-aside task once its cause is fixed and carries it out (once,
        however often retried); it is set aside again if it still raises."""
        return ledger.retry_due_work(body.key, actor=actor)

    # ---------------------------------------------------------------- finance

    @api.get("/ledger", tags=["finance"])
    def trial_balance(actor: Finance, when: Known) -> dict[str, Any]:
        return ledger.ledger(**when)

    @api.get("/credit-windows", response_model=Page, tags=["finance"])
    def credit_windows(
        actor: Finance,
        when: Known,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,200}$")] = None,
    ) -> Page:
        found = ledger.credit_windows(limit=limit, after=cursor, **when)
        return Page(items=found.items, next_cursor=found.next_cursor)

    # ---------------------------------------------------------------- audit

    @api.get("/audit/verify", tags=["audit"])
    def audit_verify(actor: Auditor) -> dict[str, Any]:
        """Recomputes every hash chain and checkpoint; `ok` false names the first event
        that does not match."""
        return ledger.verify().summary()

    @api.get("/audit/replay", tags=["audit"])
    def audit_replay(actor: Auditor, until: KnownAt = None) -> Any:
        """Rebuilds the projections into a scratch store and compares them with the live
        ones, by table and key."""
        return json.loads(ledger.replay(until).document())

    @api.get("/audit/documents/{number}", tags=["audit"])
    def audit_explain(number: DocumentNumber, actor: Auditor) -> dict[str, Any]:
        """The trail of rules and events behind an invoice or credit note."""
        return ledger.explain(number)

    @api.get("/audit/documents/{number}/check", tags=["audit"])
    def audit_check_document(number: DocumentNumber, actor: Auditor) -> dict[str, Any]:
        """Renders an issued document again and compares each rendering's SHA-256 with the
        one recorded at its issue."""
        return ledger.check_document(number)

    return api
