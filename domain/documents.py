"""What an invoice or credit note says as a document (EN 16931): its parties, lines with
quantity and unit price, VAT breakdown, totals and references. How it is written out (UBL,
CII, PDF) is an adapter's business (adapters/documents/); what it says is decided here once,
from what was recorded: the invoice as issued and the facts of its document's issue (the
seller then, the account's language then).

The BT-/BG-/BR- names are EN 16931's (business terms, groups and rules); the Peppol ones are
Peppol BIS Billing 3.0's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, field_validator

from domain.errors import DomainError, ErrorCode
from domain.invoicing import BillingDetails, Invoice, InvoiceLine, InvoiceStatus, Language, Unit
from domain.numbering import DocumentKind
from domain.vat import VatTreatment

# EAS (Electronic Address Scheme) of each EU member state's VAT number, as the Peppol code
# list has them, so that a buyer with a VAT ID can be addressed by it. Slovakia registers
# Peppol participants only by DIČ (0245), which is its VAT number without "SK"; Belgium by
# its enterprise number (0208), which is its VAT number without "BE"; Denmark by its CVR
# number (0184), its VAT number without "DK". Sweden and Finland have no VAT scheme in the
# list: their VAT numbers hold the organisation number (0007) and the business ID (OVT
# code, 0216: "0037" + the business ID), which are.
EAS_OF_VAT_NUMBER = {
    "AT": "9914",
    "BG": "9926",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "EL": "9933",
    "ES": "9920",
    "FR": "9957",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "IT": "0211",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "SI": "9949",
}
EAS_OF_NATIONAL_NUMBER = {"SK": "0245", "BE": "0208", "DK": "0184", "SE": "0007", "FI": "0216"}
ELECTRONIC_ADDRESS = re.compile(r"^(?P<scheme>[0-9]{4}):(?P<value>[A-Za-z0-9.\-_:]{1,100})$")


class ElectronicAddress(BaseModel):
    """Where a party receives e-invoices (BT-34 seller, BT-49 buyer): a Peppol participant
    identifier, an EAS scheme and a value."""

    model_config = ConfigDict(frozen=True)
    scheme: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Self:
        """ "0245:2020000002" as given in settings or billing details."""
        found = ELECTRONIC_ADDRESS.match(text)
        if found is None:
            raise ValueError("an electronic address is SCHEME:ID, the scheme four digits")
        return cls(scheme=found["scheme"], value=found["value"])

    @classmethod
    def of_vat_id(cls, vat_id: str) -> Self | None:
        """The address a VAT number gives its holder on Peppol, by its country's scheme."""
        prefix, number = vat_id[:2], vat_id[2:]
        if prefix in EAS_OF_VAT_NUMBER:
            return cls(scheme=EAS_OF_VAT_NUMBER[prefix], value=vat_id)
        scheme = EAS_OF_NATIONAL_NUMBER.get(prefix)
        if scheme is None:
            return None
        if prefix == "SE":
            number = number[:10]  # SE + organisation number + "01"
        elif prefix == "FI":
            number = "0037" + number
        return cls(scheme=scheme, value=number)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


class Seller(BaseModel):
    """The vendor as it stands on a document (BG-4): configured per deployment, recorded
    with each document it issues, so that a document re-renders as it was issued after the
    configuration has moved on."""

    model_config = ConfigDict(frozen=True)
    name: str  # BT-27, the legal name
    street: str
    city: str
    postal_code: str
    country: str  # BT-40; INV-4's seller country
    vat_id: str  # BT-31
    company_id: str  # BT-30, the legal registration (IČO in Slovakia)
    electronic_address: str | None = None  # BT-34; else derived from the VAT ID
    email: str | None = None

    @field_validator("electronic_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            ElectronicAddress.parse(value)
        return value

    def address(self) -> ElectronicAddress | None:
        if self.electronic_address is not None:
            return ElectronicAddress.parse(self.electronic_address)
        return ElectronicAddress.of_vat_id(self.vat_id)


class Rendering(StrEnum):
    """The three renderings of one document."""

    UBL = "ubl"  # Peppol BIS Billing 3.0, UBL 2.1
    CII = "cii"  # UN/CEFACT CII, Factur-X EN 16931 profile
    PDF = "pdf"  # PDF/A-3 with the CII embedded (Factur-X)


class IssuedDocument(BaseModel):
    """The facts of a document's issue, recorded with it: what it was rendered from
    besides the invoice (the seller, the language, the renderers' version) and the
    SHA-256 of each rendering, so that an auditor can re-render it and compare."""

    model_config = ConfigDict(frozen=True)
    number: str
    version: int  # of the renderers and templates (adapters/documents)
    language: Language
    seller: Seller
    buyer_reference: str  # BT-10
    sha256: dict[Rendering, str]
    # the libraries the bytes depend on, as they were: a mismatch names what moved
    libraries: dict[str, str]


class VatCategory(StrEnum):
    """EN 16931 VAT category codes (BT-118/BT-151) the ledger issues."""

    STANDARD = "S"
    REVERSE_CHARGE = "AE"
    NOT_SUBJECT = "O"


CATEGORY_OF = {
    VatTreatment.STANDARD: VatCategory.STANDARD,
    VatTreatment.REVERSE_CHARGE: VatCategory.REVERSE_CHARGE,
    VatTreatment.OUTSIDE_EU: VatCategory.NOT_SUBJECT,
}
# BT-121, the VATEX codes of an exemption; the reason's text (BT-120) is the renderer's, in
# the document's language.
EXEMPTION_CODE = {
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.NOT_SUBJECT: "VATEX-EU-O",
}
INVOICE_TYPE_CODE = {DocumentKind.INVOICE: "380", DocumentKind.CREDIT_NOTE: "381"}


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """BG-5 / BG-8."""

    street: str | None
    city: str | None
    postal_code: str | None
    province: str | None
    country: str


@dataclass(frozen=True, slots=True)
class Party:
    name: str  # BT-27 / BT-44: the company
    address: PostalAddress
    vat_id: str | None  # BT-31 / BT-48
    company_id: str | None  # BT-30 / BT-47
    electronic_address: ElectronicAddress | None  # BT-34 / BT-49
    contact_name: str | None = None  # BT-56
    contact_email: str | None = None  # BT-58


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """BG-25. net_amount = quantity x unit_price / base_quantity, rounded (Peppol R120)."""

    id: str  # BT-126
    name: str  # BT-153
    quantity: Decimal  # BT-129
    unit: Unit  # BT-130
    unit_price: Decimal  # BT-146
    base_quantity: Decimal  # BT-149
    net_amount: Decimal  # BT-131
    period_start: date | None  # BT-134
    period_end: date | None  # BT-135
    category: VatCategory  # BT-151
    rate: Decimal | None  # BT-152; none for category O (BR-O-05)
    rule: str  # the TERMS.md rule that produced the line


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """BG-23: one per category and rate (BR-S-08, BR-AE-08, BR-O-08)."""

    category: VatCategory  # BT-118
    rate: Decimal | None  # BT-119
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_code: str | None  # BT-121


@dataclass(frozen=True, slots=True)
class Document:
    number: str  # BT-1
    kind: DocumentKind
    type_code: str  # BT-3: 380 commercial invoice, 381 credit note
    issued_at: datetime
    issue_date: date  # BT-2
    due_date: date  # BT-9
    currency: str  # BT-5
    buyer_reference: str  # BT-10: the account, which the buyer quotes to the vendor
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    vat: VatBreakdown
    line_total: Decimal  # BT-106
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    payable: Decimal  # BT-115
    period_start: date | None  # BG-14
    period_end: date | None
    preceding: str | None  # BT-25: the invoice a credit note reverses, or a reissue replaces
    language: Language

    @property
    def on_peppol(self) -> bool:
        """A document goes over Peppol when both parties have an electronic address; a
        consumer, or a buyer without an identifier, gets an EN 16931 document by e-mail."""
        return self.seller.electronic_address is not None and (
            self.buyer.electronic_address is not None
        )

    @property
    def exempt(self) -> bool:
        return self.vat.category is not VatCategory.STANDARD


def renderable(invoice: Invoice) -> bool:
    """A document names its buyer (BT-44): one whose billing details were erased (GDPR-4,
    or GDPR-5 once their statutory period ends) can no longer be made."""
    return invoice.billed_to is not None


def check_renderable(invoice: Invoice) -> Invoice:
    if not renderable(invoice):
        raise DomainError(
            ErrorCode.DOCUMENT_ERASED,
            f"the billing details of {invoice.number} were erased (GDPR-4): its "
            "document can no longer be rendered",
            "number",
        )
    return invoice


def document_of(
    invoice: Invoice, *, seller: Seller, language: Language, buyer_reference: str
) -> Document:
    """The document of an invoice or credit note as it was issued (`invoice` is the value
    recorded at issue, not a later revision of its status)."""
    category = CATEGORY_OF[invoice.vat_treatment]
    rate = None if category is VatCategory.NOT_SUBJECT else invoice.vat_rate
    lines = tuple(_line(index, line, category, rate) for index, line in enumerate(invoice.lines))
    # BR-O-02: a document not subject to VAT names neither party's VAT identifier.
    named = category is not VatCategory.NOT_SUBJECT
    prepaid = (
        invoice.total
        if invoice.reissue_of is not None and invoice.status is InvoiceStatus.PAID
        else invoice.total * 0
    )
    document = Document(
        number=invoice.number,
        kind=invoice.kind,
        type_code=INVOICE_TYPE_CODE[invoice.kind],
        issued_at=invoice.issued_at,
        issue_date=invoice.issued_at.date(),
        due_date=invoice.issued_at.date(),  # billed in advance, charged on issue (BILL-2)
        currency=invoice.currency,
        buyer_reference=buyer_reference,
        seller=_seller_party(seller, named),
        buyer=_buyer_party(invoice, named),
        lines=lines,
        vat=VatBreakdown(
            category=category,
            rate=rate,
            taxable_amount=invoice.net,
            tax_amount=invoice.vat,
            exemption_code=EXEMPTION_CODE.get(category),
        ),
        line_total=invoice.net,
        tax_exclusive=invoice.net,
        tax_total=invoice.vat,
        tax_inclusive=invoice.total,
        prepaid=prepaid,
        payable=invoice.total - prepaid,
        period_start=invoice.period_start.date() if invoice.period_start else None,
        period_end=invoice.period_end.date() if invoice.period_end else None,
        preceding=invoice.credits or invoice.reissue_of,
        language=language,
    )
    _check(document)
    return document


def _line(
    index: int, line: InvoiceLine, category: VatCategory, rate: Decimal | None
) -> DocumentLine:
    return DocumentLine(
        id=str(index + 1),
        name=line.description,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        base_quantity=line.base_quantity,
        net_amount=line.amount,
        period_start=line.period_start,
        period_end=line.period_end,
        category=category,
        rate=rate,
        rule=line.rule,
    )


def _seller_party(seller: Seller, named: bool) -> Party:
    return Party(
        name=seller.name,
        address=PostalAddress(
            street=seller.street,
            city=seller.city,
            postal_code=seller.postal_code,
            province=None,
            country=seller.country,
        ),
        vat_id=seller.vat_id if named else None,
        company_id=seller.company_id,
        electronic_address=seller.address(),
        contact_email=seller.email,
    )


def _buyer_party(invoice: Invoice, named: bool) -> Party:
    """From the billing details recorded on the invoice (INV-2, INV-3); an address that was
    never given is the customer's country alone, which the VAT decision recorded."""
    billed: BillingDetails | None = invoice.billed_to
    assert billed is not None, "a document of erased billing details is not rendered"
    given = billed.address
    address = PostalAddress(
        street=given.street if given else None,
        city=given.city if given else None,
        postal_code=given.postal_code if given else None,
        province=given.state if given else None,
        country=given.country if given else invoice.vat_country,
    )
    vat_id = invoice.vat_id if named else None
    if billed.electronic_address is not None:
        electronic: ElectronicAddress | None = ElectronicAddress.parse(billed.electronic_address)
    else:
        electronic = ElectronicAddress.of_vat_id(vat_id) if vat_id else None
    company_id = next(iter(billed.company_ids.values()), None) if billed.company_ids else None
    return Party(
        name=billed.company or billed.name,
        address=address,
        vat_id=vat_id,
        company_id=company_id,
        electronic_address=electronic,
        contact_name=billed.name,
        contact_email=billed.email,
    )


def _check(document: Document) -> None:
    """BR-CO-10, BR-CO-13, BR-CO-15 and BR-S/AE/O-08 hold by construction: the invoice's
    net is the sum of its rounded lines and its tax is computed once on the net (MON-2)."""
    assert document.line_total == sum(line.net_amount for line in document.lines)
    assert document.tax_inclusive == document.tax_exclusive + document.tax_total
    assert document.vat.taxable_amount == document.line_total
    if document.exempt:
        assert document.tax_total == 0, "an exempt category carries no tax"
