"""Business refusals: one exception family carrying the error codes of SCENARIOS.md."""

from __future__ import annotations

from enum import StrEnum


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
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class DomainError(Exception):
    """A command was refused. Nothing was recorded."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


def invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, f"{field}: {message}", field=field)
