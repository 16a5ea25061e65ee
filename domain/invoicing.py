"""Invoices, credit notes, payments and notifications as value objects (INV, PAY, MON-2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.money import Money, round_half_up
from domain.numbering import DocumentKind
from domain.personal import Personal, Scope
from domain.vat import VatDecision, VatTreatment


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    email: str


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)
    street: str
    city: str
    postal_code: str
    state: str | None = None
    country: str


class BillingDetails(BaseModel):
    """Who an invoice is made out to (INV-2, INV-3)."""

    model_config = ConfigDict(frozen=True)
    name: str
    email: str | None = None
    company: str
    address: Address | None = None
    company_ids: dict[str, str] = {}


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CREDITED = "credited"


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    description: str
    amount: Decimal
    rule: str  # the TERMS.md rule that produced the line


class Invoice(BaseModel):
    """An issued document. Never changed once issued (INV-1): its status is derived from
    later facts (payments, credit notes), which the account folds in by holding a revised
    copy (`Account.revise_invoice`); the object itself is frozen, so copies of the account
    share it."""

    model_config = ConfigDict(frozen=True)

    number: str
    kind: DocumentKind
    issued_at: datetime
    currency: str
    lines: list[InvoiceLine]
    net: Decimal
    vat: Decimal
    total: Decimal
    vat_treatment: VatTreatment
    vat_country: str
    vat_rate: Decimal
    vat_id: str | None = None
    billed_to: Annotated[BillingDetails | None, Personal(Scope.BILLING)]
    plan: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    credits: str | None = None  # a credit note: the invoice it reverses
    reissue_of: str | None = None
    status: InvoiceStatus = InvoiceStatus.OPEN
    declines: int = 0
    first_declined_at: datetime | None = None
    next_attempt_at: datetime | None = None

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


def build_invoice(
    *,
    number: str,
    kind: DocumentKind,
    issued_at: datetime,
    currency: str,
    lines: list[tuple[str, Fraction | Decimal, str]],
    vat: VatDecision,
    vat_id: str | None,
    billed_to: BillingDetails | None,
    **extra: object,
) -> Invoice:
    """MON-2: each line is rounded once to the minor unit (half up); the net total is the sum
    of rounded lines; VAT is computed on the net total and rounded once."""
    rounded = [
        InvoiceLine(description=text, amount=round_half_up(amount, currency), rule=rule)
        for text, amount, rule in lines
    ]
    net = sum((line.amount for line in rounded), start=round_half_up(Decimal(0), currency))
    vat_amount = round_half_up(net * vat.rate_percent / 100, currency)
    return Invoice(
        number=number,
        kind=kind,
        issued_at=issued_at,
        currency=currency,
        lines=rounded,
        net=net,
        vat=vat_amount,
        total=net + vat_amount,
        vat_treatment=vat.treatment,
        vat_country=vat.country,
        vat_rate=vat.rate_percent,
        vat_id=vat_id if vat.treatment is VatTreatment.REVERSE_CHARGE else None,
        billed_to=billed_to,
        **extra,
    )


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class Payment(BaseModel):
    model_config = ConfigDict(frozen=True)
    invoice: str
    amount: Decimal
    status: PaymentStatus
    at: datetime
    attempt: int
    reference: str


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)
    amount: Decimal
    at: datetime
    rule: str


class NotificationKind(StrEnum):
    """SCENARIOS.md: these kinds and no others."""

    RECEIPT = "receipt"
    PRICE_CHANGE = "price_change"
    PACKAGE_EXCEEDED = "package_exceeded"
    PAYMENT_DECLINED = "payment_declined"
    SUSPENDED = "suspended"
    CANCELLATION_CONFIRMED = "cancellation_confirmed"
    INACTIVITY_WARNING = "inactivity_warning"
    ACCOUNT_DELETED = "account_deleted"


class Language(StrEnum):
    """What an owner's e-mails are written in: English and the languages the Terms exist in
    (seeds/: Polish, Bulgarian, Dutch, Slovenian). English unless the account chose another."""

    EN = "en"
    PL = "pl"
    BG = "bg"
    NL = "nl"
    SL = "sl"


class Notification(BaseModel):
    """A message the owner is sent; recorded as a fact, delivered by the outbox."""

    model_config = ConfigDict(frozen=True)
    id: UUID
    kind: NotificationKind
    to: Annotated[str | None, Personal(Scope.PROFILE)]
    at: datetime
    subject: str | None = None  # invoice number, price change, ... what it is about
