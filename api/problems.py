"""RFC 9457 problem documents: how every refusal and defect leaves the API.

The title is the status phrase (what `about:blank` asks for); `code` is what clients branch
on: SCENARIOS.md's error code for a refused command, the HTTP layer's own for
authentication, routing and defects."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from domain.errors import DomainError, ErrorCode, FieldError, field_errors

PROBLEM = "application/problem+json"

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

# The codes of refusals made by the HTTP layer itself, before any command is read
HTTP_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
}


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details: the status phrase as its title, the error code every
    client branches on, the (first) field at fault and every field at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldProblem] = []


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


def _documented(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM: {"schema": schema}}}


def schemas() -> dict[str, Any]:
    """The components the documented problem responses refer to."""
    found = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = found.pop("$defs", {})
    return {"Problem": found, **nested}


# Every route may answer with these; the document names the Problem schema once
DOCUMENTED: dict[int | str, dict[str, Any]] = {
    401: _documented("no valid bearer token"),
    403: _documented("the token lacks the scope"),
    404: _documented("no such account, subject, code or document"),
    409: _documented("refused in the account's state (closed, window passed, ...)"),
    413: _documented("the request body is larger than the API takes"),
    422: _documented("refused: invalid input, with the error code and fields"),
}


async def _refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    status = STATUS.get(error.code, 422)
    return problem(status, error.code.value, error.message, errors=error.errors)


async def _malformed(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # the location's first part says where (body, path, query): fields read without it
    errors = field_errors(
        [{**e, "loc": tuple(e.get("loc", ()))[1:] or e.get("loc", ())} for e in error.errors()]
    )
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    return problem(422, ErrorCode.INVALID_INPUT.value, detail, errors=errors)


async def _defect(request: Request, error: Exception) -> JSONResponse:
    """A defect, not a refusal (the ledger's own data it cannot read, say): a problem
    document that says nothing of the data; the server's log has the traceback."""
    return problem(500, "INTERNAL_ERROR", "a defect of the ledger: its log has the details")


async def _http_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # a body that is not even text (FastAPI's own check)
        unreadable = (FieldError("body", "is not UTF-8 JSON"),)
        return problem(
            422, ErrorCode.INVALID_INPUT.value, "body: is not UTF-8 JSON", errors=unreadable
        )
    code = HTTP_CODES.get(error.status_code, "HTTP_ERROR")
    response = problem(error.status_code, code, error.detail)
    if error.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def install(app: FastAPI) -> None:
    """Every refusal and defect answers with a problem document."""
    app.add_exception_handler(DomainError, _refused)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(Exception, _defect)
    app.add_exception_handler(HTTPException, _http_problem)
