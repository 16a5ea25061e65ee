"""The internal HTTP API: thin routes over the `Ledger` (parse, call one method, render).

Bearer tokens with scopes (`write`, `finance:read`, `audit:read`, `admin`) name the actor of
every event they cause. Refusals are RFC 9457 problem documents carrying the error code of
SCENARIOS.md. Every command takes an `Idempotency-Key`; a repeat with the same body returns
the first response and records nothing, the same key with another body is refused.
"""

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from app import REQUEST_FINGERPRINT, Ledger
from domain.errors import DomainError, ErrorCode
from settings import ApiToken, Permission

PAGE_LIMIT_DEFAULT = 100
PAGE_LIMIT_MAX = 500
PROBLEM = "application/problem+json"
T = TypeVar("T")


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
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
}


SUBJECT_PATH = re.compile(r"(/subjects/)[^/?\s]+")


class RedactSubjects(logging.Filter):
    """Access logs show `/subjects/{subject}` without the subject's key, which can be an
    e-mail address (personal data never reaches logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SUBJECT_PATH.sub(r"\1-", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class Problem(BaseModel):
    """RFC 9457 problem details, with SCENARIOS.md's error code and the field at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = None
    field: str | None = None


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": Problem.model_json_schema()}},
    }


# ------------------------------------------------------------------ request bodies


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OwnerIn(Body):
    name: str
    email: str


class AddressIn(Body):
    street: str
    city: str
    postal_code: str
    state: str | None = None
    country: str


class OpenAccountIn(Body):
    owner: OwnerIn
    company: str
    country: str
    currency: str
    plan: str
    cycle: str
    seats: int
    trial_days: int | None = None
    region: str | None = None
    language: str = Field("en", description="the owner's e-mails: en, pl, bg, nl or sl")


class LanguageIn(Body):
    language: str


class CountIn(Body):
    count: int


class PlanIn(Body):
    plan: str


class PaymentMethodIn(Body):
    kind: str
    token: str


class BillingDetailsIn(Body):
    name: str
    company: str
    email: str | None = None
    address: AddressIn | None = None


class VatIdIn(Body):
    vat_id: str


class CancelIn(Body):
    via: str


class ReasonIn(Body):
    reason: str


class LoginIn(Body):
    login: str


class CorrectionIn(Body):
    name: str | None = None
    company: str | None = None
    address: AddressIn | None = None


class PrepaidCreditIn(Body):
    amount: str = Field(description="money as a decimal string, e.g. '1200.00'")
    cancellation_fee: str = "0.50"


class PriceChangeIn(Body):
    plan: str
    currency: str
    cycle: str
    price: str = Field(description="per seat, a decimal string")
    effective_on: date


class CodeIn(Body):
    code: str
    currency: str = "USD"


class RedemptionIn(Body):
    account: UUID | None = None
    owner: OwnerIn | None = None
    company: str = ""
    country: str = ""
    currency: str = "USD"
    region: str | None = None


class ConsentIn(Body):
    purposes: list[str]
    name: str | None = None
    email: str | None = None
    account: UUID | None = None


class WithdrawalIn(Body):
    purposes: list[str]


class SubjectRequestIn(Body):
    right: str
    name: str | None = None
    email: str | None = None
    purposes: list[str] = []


class Created(BaseModel):
    id: UUID


class Page(BaseModel):
    items: list[Any]
    next_cursor: str | None


# ------------------------------------------------------------------ the application


def create_app(ledger: Ledger, tokens: dict[str, ApiToken]) -> FastAPI:
    api = FastAPI(
        title="seatledger internal API",
        version="1",
        description=__doc__,
        responses={
            401: problem_response("no valid bearer token"),
            403: problem_response("the token lacks the scope"),
            404: problem_response("no such account, subject, code or document"),
            409: problem_response("refused in the account's state (closed, window passed, ...)"),
            422: problem_response("refused: invalid input, with the error code and field"),
        },
    )
    digests = {
        name: hashlib.sha256(token.secret.get_secret_value().encode()).digest()
        for name, token in tokens.items()
    }

    def authenticate(authorization: str | None) -> str:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(401, "a bearer token is required")
        digest = hashlib.sha256(given.strip().encode()).digest()
        found = None
        for name, expected in digests.items():  # every token compared, in constant time
            if hmac.compare_digest(digest, expected):
                found = name
        if found is None:
            raise HTTPException(401, "the bearer token is not valid")
        return found

    def allow(*scopes: Permission) -> Callable[..., str]:
        def check(authorization: Annotated[str | None, Header()] = None) -> str:
            name = authenticate(authorization)
            granted = set(tokens[name].scopes)
            if Permission.ADMIN not in granted and not granted.intersection(scopes):
                raise HTTPException(403, f"needs one of: {', '.join(sorted(scopes))}")
            return name

        return check

    Writer = Annotated[str, Depends(allow(Permission.WRITE))]
    Reader = Annotated[
        str, Depends(allow(Permission.WRITE, Permission.FINANCE_READ, Permission.AUDIT_READ))
    ]
    Finance = Annotated[str, Depends(allow(Permission.FINANCE_READ, Permission.AUDIT_READ))]
    Admin = Annotated[str, Depends(allow(Permission.ADMIN))]
    Auditor = Annotated[str, Depends(allow(Permission.AUDIT_READ))]
    Key = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
    Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]
    Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")]
    AsOf = Annotated[
        datetime | None,
        Query(description="business time (TIME-2): what held at this instant; default now"),
    ]
    KnownAt = Annotated[
        datetime | None,
        Query(description="recording time (TIME-2): as the ledger knew it then; default now"),
    ]

    def point_in_time(as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        """TIME-2: the business and recording instants a read is about."""
        return {"as_of": as_of, "known_at": known_at}

    Known = Annotated[dict[str, Any], Depends(point_in_time)]

    @api.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> JSONResponse:
        status = STATUS.get(error.code, 422)
        return problem(
            status, error.code.value, error.message, code=error.code.value, field=error.field
        )

    @api.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        return problem(
            422,
            ErrorCode.INVALID_INPUT.value,
            f"{where or 'request'}: {first.get('msg', 'invalid')}",
            code=ErrorCode.INVALID_INPUT.value,
            field=where,
        )

    @api.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
        titles = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "NOT_ALLOWED"}
        response = problem(error.status_code, titles.get(error.status_code, "ERROR"), error.detail)
        if error.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @contextmanager
    def fingerprinted(request: Request, body: BaseModel | None) -> Iterator[None]:
        """The whole request (method, path, body) is what an idempotency key is bound to."""
        text = json.dumps(
            [request.method, request.url.path, body.model_dump(mode="json") if body else None],
            sort_keys=True,
        )
        token = REQUEST_FINGERPRINT.set(hashlib.sha256(text.encode()).hexdigest())
        try:
            yield
        finally:
            REQUEST_FINGERPRINT.reset(token)

    def page(items: list[T], limit: int, cursor: str | None) -> Page:
        start = int(cursor or 0)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        return Page(items=list(chunk), next_cursor=str(start + limit) if more else None)

    # ---------------------------------------------------------------- accounts

    @api.post("/accounts", status_code=201, response_model=Created, tags=["accounts"])
    def open_account(
        body: OpenAccountIn, request: Request, actor: Writer, key: Key = None
    ) -> Created:
        with fingerprinted(request, body):
            account_id = ledger.open_account(
                owner_name=body.owner.name,
                owner_email=body.owner.email,
                company=body.company,
                country=body.country,
                currency=body.currency,
                plan=body.plan,
                cycle=body.cycle,
                seats=body.seats,
                trial_days=body.trial_days,
                region=body.region,
                language=body.language,
                actor=actor,
                idempotency_key=key,
            )
        return Created(id=account_id)

    @api.get("/accounts", response_model=Page, tags=["accounts"])
    def list_accounts(
        actor: Reader, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None
    ) -> Page:
        return page([str(a) for a in ledger.account_ids()], limit, cursor)

    @api.get("/accounts/{account_id}", tags=["accounts"])
    def get_account(account_id: UUID, actor: Reader, when: Known) -> dict[str, Any]:
        return ledger.account(account_id, **when)

    def account_command(
        path: str,
        body_type: type[BaseModel] | None,
        call: Callable[..., None],
        who: Any = Writer,
    ) -> None:
        """A command on one account: 200 with the account id, or a problem document. `who`
        is the scope it needs (services write; the vendor's own commands need admin)."""
        tags: list[str | Enum] = ["account commands" if who is Writer else "vendor commands"]

        if body_type is None:

            @api.post(path, response_model=Created, tags=tags)
            def plain(account_id: UUID, request: Request, actor: who, key: Key = None) -> Created:
                with fingerprinted(request, None):
                    call(account_id, None, actor, key)
                return Created(id=account_id)

            return

        @api.post(path, response_model=Created, tags=tags)
        def with_body(
            account_id: UUID,
            body: body_type,  # type: ignore[valid-type]
            request: Request,
            actor: who,
            key: Key = None,
        ) -> Created:
            with fingerprinted(request, body):
                call(account_id, body, actor, key)
            return Created(id=account_id)

    def address(value: AddressIn | None) -> dict[str, Any] | None:
        return value.model_dump() if value is not None else None

    account_command(
        "/accounts/{account_id}/seats",
        CountIn,
        lambda a, b, actor, key: ledger.add_seats(a, b.count, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/seats/removal",
        CountIn,
        lambda a, b, actor, key: ledger.remove_seats(a, b.count, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/plan",
        PlanIn,
        lambda a, b, actor, key: ledger.change_plan(a, b.plan, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/payment-method",
        PaymentMethodIn,
        lambda a, b, actor, key: ledger.add_payment_method(
            a, b.kind, b.token, actor=actor, idempotency_key=key
        ),
    )
    account_command(
        "/accounts/{account_id}/billing-details",
        BillingDetailsIn,
        lambda a, b, actor, key: ledger.set_billing_details(
            a,
            name=b.name,
            company=b.company,
            email=b.email,
            address=address(b.address),
            actor=actor,
            idempotency_key=key,
        ),
    )
    account_command(
        "/accounts/{account_id}/vat-id",
        VatIdIn,
        lambda a, b, actor, key: ledger.set_vat_id(a, b.vat_id, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/language",
        LanguageIn,
        lambda a, b, actor, key: ledger.choose_language(
            a, b.language, actor=actor, idempotency_key=key
        ),
    )
    account_command(
        "/accounts/{account_id}/activity",
        None,
        lambda a, _b, actor, key: ledger.record_activity(a, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/cancellation",
        CancelIn,
        lambda a, b, actor, key: ledger.cancel(a, b.via, actor=actor, idempotency_key=key),
    )
    account_command(
        "/accounts/{account_id}/shared-logins",
        LoginIn,
        lambda a, b, actor, key: ledger.report_shared_login(
            a, b.login, actor=actor, idempotency_key=key
        ),
    )
    account_command(
        "/accounts/{account_id}/shared-logins/resolution",
        LoginIn,
        lambda a, b, actor, key: ledger.resolve_shared_login(
            a, b.login, actor=actor, idempotency_key=key
        ),
    )
    account_command(
        "/accounts/{account_id}/invoice-correction",
        CorrectionIn,
        lambda a, b, actor, key: ledger.correct_invoice(
            a,
            name=b.name,
            company=b.company,
            address=address(b.address),
            actor=actor,
            idempotency_key=key,
        ),
    )

    # the vendor's own commands on an account

    account_command(
        "/accounts/{account_id}/suspension",
        ReasonIn,
        lambda a, b, actor, key: ledger.suspend(a, b.reason, actor=actor, idempotency_key=key),
        Admin,
    )
    account_command(
        "/accounts/{account_id}/suspension/lifting",
        ReasonIn,
        lambda a, b, actor, key: ledger.lift_suspension(
            a, b.reason, actor=actor, idempotency_key=key
        ),
        Admin,
    )
    account_command(
        "/accounts/{account_id}/prepaid-credit",
        PrepaidCreditIn,
        lambda a, b, actor, key: ledger.grant_prepaid_credit(
            a, b.amount, b.cancellation_fee, actor=actor, idempotency_key=key
        ),
        Admin,
    )

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

    account_list("/accounts/{account_id}/invoices", ledger.invoices)
    account_list("/accounts/{account_id}/payments", ledger.payments)
    account_list("/accounts/{account_id}/refunds", ledger.refunds)
    account_list("/accounts/{account_id}/notifications", ledger.notifications)

    @api.get("/accounts/{account_id}/balance", tags=["account reads"])
    def balance(account_id: UUID, actor: Reader, when: Known) -> dict[str, str]:
        return ledger.balance(account_id, **when)

    @api.get("/accounts/{account_id}/credit-window", tags=["account reads"])
    def credit_window(account_id: UUID, actor: Reader, when: Known) -> dict[str, Any] | None:
        return ledger.credit_window(account_id, **when)

    @api.get("/accounts/{account_id}/liability-cap", tags=["account reads"])
    def liability_cap(
        account_id: UUID,
        on: date,
        actor: Reader,
        when: Known,
    ) -> dict[str, str]:
        return {"cap": ledger.liability_cap(account_id, on, **when)}

    @api.get("/accounts/{account_id}/subprocessors", tags=["account reads"])
    def subprocessors(
        account_id: UUID,
        on: date,
        actor: Reader,
        when: Known,
    ) -> list[str]:
        return ledger.subprocessors(account_id, on, **when)

    # ---------------------------------------------------------------- vendor

    @api.post("/price-changes", status_code=204, tags=["vendor commands"])
    def announce_price_change(
        body: PriceChangeIn, request: Request, actor: Admin, key: Key = None
    ) -> None:
        with fingerprinted(request, body):
            ledger.announce_price_change(
                plan=body.plan,
                currency=body.currency,
                cycle=body.cycle,
                price=body.price,
                effective_on=body.effective_on,
                actor=actor,
                idempotency_key=key,
            )

    @api.post("/codes", status_code=204, tags=["vendor commands"])
    def sell_code(body: CodeIn, request: Request, actor: Admin, key: Key = None) -> None:
        with fingerprinted(request, body):
            ledger.sell_code(body.code, body.currency, actor=actor, idempotency_key=key)

    @api.post("/codes/{code}/redemption", response_model=Created, tags=["accounts"])
    def redeem_code(
        code: str, body: RedemptionIn, request: Request, actor: Writer, key: Key = None
    ) -> Created:
        owner = body.owner or OwnerIn(name="", email="")
        with fingerprinted(request, body):
            account_id = ledger.redeem_code(
                code,
                body.account,
                owner_name=owner.name,
                owner_email=owner.email,
                company=body.company,
                country=body.country,
                currency=body.currency,
                region=body.region,
                actor=actor,
                idempotency_key=key,
            )
        return Created(id=account_id)

    # ---------------------------------------------------------------- subjects (GDPR)

    @api.post("/subjects/{subject}/consents", status_code=204, tags=["subjects"])
    def give_consent(
        subject: str, body: ConsentIn, request: Request, actor: Writer, key: Key = None
    ) -> None:
        with fingerprinted(request, body):
            ledger.give_consent(
                subject,
                body.purposes,
                email=body.email,
                name=body.name,
                account_id=body.account,
                actor=actor,
                idempotency_key=key,
            )

    @api.post("/subjects/{subject}/consents/withdrawal", status_code=204, tags=["subjects"])
    def withdraw_consent(
        subject: str, body: WithdrawalIn, request: Request, actor: Writer, key: Key = None
    ) -> None:
        with fingerprinted(request, body):
            ledger.withdraw_consent(subject, body.purposes, actor=actor, idempotency_key=key)

    @api.post("/subjects/{subject}/requests", tags=["subjects"])
    def subject_request(
        subject: str, body: SubjectRequestIn, request: Request, actor: Admin, key: Key = None
    ) -> dict[str, Any]:
        """GDPR-3: access, portability and information answer with the export."""
        with fingerprinted(request, body):
            if body.right in ("access", "portability", "information"):
                return ledger.request_access(subject, body.right, actor=actor, idempotency_key=key)
            if body.right == "rectification":
                ledger.request_rectification(
                    subject, name=body.name, email=body.email, actor=actor, idempotency_key=key
                )
            elif body.right == "restriction":
                ledger.request_restriction(subject, actor=actor, idempotency_key=key)
            elif body.right == "objection":
                ledger.object_to_processing(
                    subject, body.purposes, actor=actor, idempotency_key=key
                )
            elif body.right == "erasure":
                ledger.request_erasure(subject, actor=actor, idempotency_key=key)
            else:
                raise DomainError(
                    ErrorCode.INVALID_INPUT, f"right: unknown right {body.right!r}", "right"
                )
        return ledger.subject(subject)

    @api.get("/subjects/{subject}", tags=["subjects"])
    def get_subject(subject: str, actor: Admin, when: Known) -> dict[str, Any]:
        return ledger.subject(subject, **when)

    @api.get("/subjects/{subject}/retention", tags=["subjects"])
    def retention(subject: str, actor: Admin, when: Known) -> list[dict[str, Any]]:
        return ledger.retention(subject, **when)

    @api.get("/retention/due", response_model=Page, tags=["subjects"])
    def falls_due(
        before: date, actor: Admin, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: Cursor = None
    ) -> Page:
        return page(ledger.falls_due(before), limit, cursor)

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

    # ---------------------------------------------------------------- finance

    @api.get("/ledger", tags=["finance"])
    def trial_balance(actor: Finance, when: Known) -> dict[str, Any]:
        return ledger.ledger(**when)

    @api.get("/credit-windows", response_model=Page, tags=["finance"])
    def credit_windows(
        actor: Finance,
        when: Known,
        limit: Limit = PAGE_LIMIT_DEFAULT,
        cursor: Cursor = None,
    ) -> Page:
        return page(ledger.credit_windows(**when), limit, cursor)

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
    def audit_explain(number: str, actor: Auditor) -> dict[str, Any]:
        """The trail of rules and events behind an invoice or credit note."""
        return ledger.explain(number)

    return api
