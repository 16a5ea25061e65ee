"""Business refusals: one exception family carrying the error codes of SCENARIOS.md."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    UNKNOWN_PLAN = "UNKNOWN_PLAN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    NO_SEATS_LEFT = "NO_SEATS_LEFT"
    PRICE_NOTICE_TOO_SHORT = "PRICE_NOTICE_TOO_SHORT"
    CORRECTION_WINDOW_CLOSED = "CORRECTION_WINDOW_CLOSED"
    INVALID_VAT_ID = "INVALID_VAT_ID"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    CODE_REDEMPTION_CLOSED = "CODE_REDEMPTION_CLOSED"
    CODE_STACKING = "CODE_STACKING"
    UNKNOWN_SUBJECT = "UNKNOWN_SUBJECT"
    UNKNOWN_DOCUMENT = "UNKNOWN_DOCUMENT"
    DOCUMENT_ERASED = "DOCUMENT_ERASED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    WORK_SET_ASIDE = "WORK_SET_ASIDE"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field at fault and why (its dotted path in the command, e.g. `owner.email`)."""

    field: str
    message: str


class DomainError(Exception):
    """A command was refused. Nothing was recorded."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        errors: tuple[FieldError, ...] = (),
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors or ((FieldError(field, message),) if field else ())


def invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, f"{field}: {message}", field=field)


def field_errors(errors: list[Any]) -> tuple[FieldError, ...]:
    """Pydantic's errors (of `ValidationError.errors()`) as fields and reasons, without
    the values given: an input may be personal data, or megabytes long."""
    found = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        context = error.get("ctx") or {}
        if error.get("type") == "value_error" and "error" in context:
            reason = str(context["error"])
        elif error.get("type") == "missing":
            reason = "is required"
        elif error.get("type") == "extra_forbidden":
            reason = "is not a field of this command"
        else:
            reason = str(error.get("msg", "is not valid"))
        found.append(FieldError(where, reason))
    return tuple(found)


def refused(errors: tuple[FieldError, ...]) -> DomainError:
    """INVALID_INPUT naming every field at fault, the first as `field`."""
    assert errors, "a refusal names at least one field"
    message = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return DomainError(ErrorCode.INVALID_INPUT, message, field=errors[0].field, errors=errors)


def refusal(error: ValidationError) -> DomainError:
    return refused(field_errors(error.errors(include_url=False, include_input=False)))
