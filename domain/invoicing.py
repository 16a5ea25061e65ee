"""Invoices, credit notes, payments and notifications as value objects (INV, PAY, MON-2),
and the account's part that issues, looks up and corrects its invoices (INV-1..4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.dates import within_days
from domain.errors import DomainError, ErrorCode, invalid
from domain.model import Event, TEvent
from domain.money import Money, round_half_up
from domain.numbering import DocumentKind, Numbering
from domain.personal import Personal, Scope
from domain.policy import Terms
from domain.vat import VatDecision, VatTreatment, decide_vat

# INV-2: the correction window of the last invoice.
CORRECTION_WINDOW_DAYS = 15


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
    """Who an invoice is made out to (INV-2, INV-3). Its fields added later have defaults:
    it is stored sealed (GDPR-4), and an upcaster cannot open the seal to add them."""

    model_config = ConfigDict(frozen=True)
    name: str
    email: str | None = None
    company: str
    address: Address | None = None
    company_ids: dict[str, str] = {}
    # A Peppol participant ID the buyer gave ("0245:2020000002"): where e-invoices go.
    electronic_address: str | None = None


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CREDITED = "credited"


class Unit(StrEnum):
    """What a line's quantity counts, as UN/ECE Recommendation 20 codes (EN 16931 BT-130)."""

    ONE = "C62"  # seats, surcharges, a pool: things counted one by one
    DAY = "DAY"  # days of a period, or seat-days


@dataclass(frozen=True, slots=True)
class Charge:
    """A line as a rule states it: quantity x unit price / base quantity, over a period.
    The amount is exact here; the invoice rounds it once (MON-2)."""

    description: str
    quantity: Decimal | int
    unit: Unit
    unit_price: Decimal
    rule: str
    base_quantity: Decimal | int = 1
    period: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        assert self.quantity > 0 and self.base_quantity > 0, "a line counts something"
        assert self.unit_price >= 0, "a price is never negative (EN 16931 BR-27)"

    @property
    def amount(self) -> Fraction:
        return Fraction(self.quantity) * Fraction(self.unit_price) / Fraction(self.base_quantity)


class InvoiceLine(BaseModel):
    """A line as issued: its amount is quantity x unit price / base quantity, rounded once
    (so a document's line satisfies Peppol R120), for the supply period it names."""

    model_config = ConfigDict(frozen=True)
    description: str
    amount: Decimal
    rule: str  # the TERMS.md rule that produced the line
    quantity: Decimal
    unit: Unit
    unit_price: Decimal
    base_quantity: Decimal
    period_start: date | None
    period_end: date | None


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
    vat_id: str | None = None  # the buyer's, as on the profile at issue (none outside the EU)
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


def upcast_lines(invoice: dict[str, object]) -> None:
    """Lines issued before quantities were recorded said only their amount: as a document,
    each is one unit at that amount, over the invoice's period."""
    lines = invoice["lines"]
    assert isinstance(lines, list)
    for line in lines:
        line.setdefault("quantity", "1")
        line.setdefault("unit", Unit.ONE.value)
        line.setdefault("unit_price", line["amount"])
        line.setdefault("base_quantity", "1")
        for end in ("start", "end"):
            instant = invoice.get(f"period_{end}")
            line.setdefault(f"period_{end}", str(instant)[:10] if instant else None)


def build_invoice(
    *,
    number: str,
    kind: DocumentKind,
    issued_at: datetime,
    currency: str,
    lines: list[Charge],
    vat: VatDecision,
    vat_id: str | None,
    billed_to: BillingDetails | None,
    **extra: object,
) -> Invoice:
    """MON-2: each line is rounded once to the minor unit (half up); the net total is the sum
    of rounded lines; VAT is computed on the net total and rounded once."""
    rounded = [
        InvoiceLine(
            description=charge.description,
            amount=round_half_up(charge.amount, currency),
            rule=charge.rule,
            quantity=Decimal(charge.quantity),
            unit=charge.unit,
            unit_price=charge.unit_price,
            base_quantity=Decimal(charge.base_quantity),
            period_start=charge.period[0] if charge.period else None,
            period_end=charge.period[1] if charge.period else None,
        )
        for charge in lines
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
        vat_id=vat_id if vat.treatment is not VatTreatment.OUTSIDE_EU else None,
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


class PaymentMethodKind(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"


class PaymentMethod(BaseModel):
    """PAY-1: a kind and an opaque processor token; never a card number."""

    model_config = ConfigDict(frozen=True)
    kind: PaymentMethodKind
    token: str


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


class Invoicing:
    """The account's part that issues its invoices and credit notes, finds them and folds
    later facts into them."""

    if TYPE_CHECKING:  # what this part uses of the rest of the account
        id: UUID
        owner: Person | None
        company: str
        country: str
        currency: str
        plan: str
        vat_id: str | None
        billing_details: BillingDetails | None
        payment_method: PaymentMethod | None
        invoices: list[Invoice]
        _pending: list[Event]
        InvoiceIssued: ClassVar[type[Event]]
        InvoiceCorrected: ClassVar[type[Event]]

        def trigger(self, event_class: type[TEvent], at: datetime, **fields: Any) -> TEvent: ...
        def check_takes_commands(self) -> None: ...

    def _invoice_at(self, number: str) -> int:
        for n, invoice in enumerate(self.invoices):
            if invoice.number == number:
                return n
        raise invalid("invoice", f"no invoice {number!r} on this account")

    def invoice(self, number: str) -> Invoice:
        return self.invoices[self._invoice_at(number)]

    def revise_invoice(self, number: str, **changes: Any) -> None:
        """Folds a later fact into an issued invoice's derived state (status, dunning):
        the account holds a revised copy, and the issued object stays as it was."""
        n = self._invoice_at(number)
        self.invoices[n] = self.invoices[n].model_copy(update=changes)

    def open_invoices(self) -> list[Invoice]:
        return [
            i
            for i in self.invoices
            if i.kind is DocumentKind.INVOICE and i.status is InvoiceStatus.OPEN
        ]

    def default_billing_details(self) -> BillingDetails | None:
        """The billing details set, else the owner's (None once both were erased, GDPR-4)."""
        if self.billing_details is not None or self.owner is None:
            return self.billing_details
        return BillingDetails(name=self.owner.name, email=self.owner.email, company=self.company)

    def billing_details_complete(self) -> bool:
        """INV-3: real full name, e-mail, company name and a postal address (street, city,
        postal code, state or province where the country has them, country)."""
        details = self.billing_details
        if details is None or not details.email or details.address is None:
            return False
        address = details.address
        needs_state = address.country in ("US", "CA", "AU")
        return all(
            (details.name, details.company, address.street, address.city, address.postal_code)
        ) and (bool(address.state) or not needs_state)

    def issue_invoice(
        self,
        lines: list[Charge],
        at: datetime,
        terms: Terms,
        numbering: Numbering,
        *,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
    ) -> Invoice | None:
        """INV-1: numbered from the gapless series of the issue year. INV-4: VAT decided from
        the profile at this instant. PAY-2: an invoice with a positive total is charged to the
        payment method (its first attempt is due now). TRIAL-1: the free plan never invoices."""
        vat = decide_vat(
            customer_country=self.country,
            vat_id=self.vat_id,
            seller_country=terms.seller_country,
            issue_day=at.date(),
            table=terms.vat_table,
        )
        exact_total = sum((charge.amount for charge in lines), start=Fraction(0))
        if exact_total <= 0:
            return None
        invoice = build_invoice(
            number=numbering.next(DocumentKind.INVOICE, self.id, at),
            kind=DocumentKind.INVOICE,
            issued_at=at,
            currency=self.currency,
            lines=lines,
            vat=vat,
            vat_id=self.vat_id,
            billed_to=self.default_billing_details(),
            plan=self.plan,
            period_start=period_start,
            period_end=period_end,
            next_attempt_at=at if self.payment_method is not None else None,
        )
        caused_by = [e.originator_version for e in self._pending]
        self.trigger(self.InvoiceIssued, at, invoice=invoice, caused_by=caused_by)
        return invoice

    def correct_invoice(
        self,
        *,
        name: str | None,
        company: str | None,
        address: Address | None,
        at: datetime,
        numbering: Numbering,
    ) -> None:
        """INV-2: the billing details of the last invoice may be corrected within 15 days of
        its issue: a credit note reverses it in full and a new invoice with the same lines and
        tax and the corrected details replaces it; what was paid on the old invoice is
        applied to the new one. The reissued invoice starts its own window."""
        self.check_takes_commands()
        assert (name, company, address) != (None, None, None), "the command names a change"
        last = next((i for i in reversed(self.invoices) if i.kind is DocumentKind.INVOICE), None)
        if last is None:
            raise invalid("account", "the account has no invoice to correct")
        if not within_days(last.issued_at, CORRECTION_WINDOW_DAYS, at):
            raise DomainError(
                ErrorCode.CORRECTION_WINDOW_CLOSED,
                f"invoice {last.number} was issued more than {CORRECTION_WINDOW_DAYS} days ago;"
                " new billing details apply from the next invoice",
                "account",
            )
        if last.billed_to is None:
            raise invalid("account", f"the billing details of {last.number} were erased (GDPR-4)")
        details = last.billed_to.model_copy(
            update={
                k: v
                for k, v in {
                    "name": name,
                    "company": company,
                    "address": address,
                }.items()
                if v is not None
            }
        )
        credit_number = numbering.next(DocumentKind.CREDIT_NOTE, self.id, at)
        new_number = numbering.next(DocumentKind.INVOICE, self.id, at)
        credit_note = last.model_copy(
            update={
                "number": credit_number,
                "kind": DocumentKind.CREDIT_NOTE,
                "issued_at": at,
                "credits": last.number,
                "reissue_of": None,
                "status": InvoiceStatus.PAID,
                "next_attempt_at": None,
                "declines": 0,
                "first_declined_at": None,
            }
        )
        reissued = last.model_copy(
            update={
                "number": new_number,
                "issued_at": at,
                "billed_to": details,
                "reissue_of": last.number,
                "credits": None,
            }
        )
        self.trigger(
            self.InvoiceCorrected, at, credit_note=credit_note, reissued=reissued, details=details
        )
