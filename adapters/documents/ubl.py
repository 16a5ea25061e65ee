"""A document as a UBL 2.1 Invoice or CreditNote, Peppol BIS Billing 3.0: what the document
model holds and nothing else, in the order the UBL schemas ask for, the same bytes on every
run (elements and attributes are written in a fixed order, nothing depends on the clock)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from adapters.documents.texts import EXEMPTION_REASON, PAYMENT_TERMS
from adapters.documents.xml import Element, Tags, number
from domain.documents import (
    Document,
    DocumentLine,
    Party,
    PostalAddress,
    VatBreakdown,
    VatCategory,
)
from domain.numbering import DocumentKind

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PREFIX: dict[str | None, str] = {"cac": CAC, "cbc": CBC}
_TAGS = Tags(PREFIX)
_sub = _TAGS.sub
_optional = _TAGS.optional
_number = number
# BT-24 and BT-23: Peppol BIS Billing 3.0, its one business process
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def render(document: Document) -> bytes:
    credit = document.kind is DocumentKind.CREDIT_NOTE
    kind = "CreditNote" if credit else "Invoice"
    default = CREDIT_NOTE if credit else INVOICE
    nsmap: dict[str | None, str] = {None: default, **PREFIX}
    root = etree.Element(f"{{{default}}}{kind}", nsmap=nsmap)
    _header(root, document, kind)
    _party(_sub(root, "cac:AccountingSupplierParty"), document.seller)
    _party(_sub(root, "cac:AccountingCustomerParty"), document.buyer)
    _sub(_sub(root, "cac:PaymentTerms"), "cbc:Note", PAYMENT_TERMS[document.language])  # BT-20
    _tax_total(root, document)
    _totals(root, document)
    for line in document.lines:
        _line(root, document, line, kind)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _header(root: Element, document: Document, kind: str) -> None:
    _sub(root, "cbc:CustomizationID", CUSTOMIZATION)
    _sub(root, "cbc:ProfileID", PROFILE)
    _sub(root, "cbc:ID", document.number)  # BT-1
    _sub(root, "cbc:IssueDate", document.issue_date.isoformat())  # BT-2
    # BT-9: a UBL 2.1 CreditNote has no DueDate; its place there is PaymentMeans, which
    # needs a payment means code (BT-81) the document does not hold, so it is left out.
    if kind == "Invoice":
        _sub(root, "cbc:DueDate", document.due_date.isoformat())
    _sub(root, f"cbc:{kind}TypeCode", document.type_code)  # BT-3
    _sub(root, "cbc:DocumentCurrencyCode", document.currency)  # BT-5
    _sub(root, "cbc:BuyerReference", document.buyer_reference)  # BT-10
    if document.period_start is not None and document.period_end is not None:
        _period(root, document.period_start, document.period_end)  # BG-14
    if document.preceding is not None:  # BT-25
        reference = _sub(_sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _sub(reference, "cbc:ID", document.preceding)


def _party(role: Element, party: Party) -> None:
    """BG-4 / BG-7."""
    element = _sub(role, "cac:Party")
    if party.electronic_address is not None:  # BT-34 / BT-49
        address = party.electronic_address
        _sub(element, "cbc:EndpointID", address.value, schemeID=address.scheme)
    _postal_address(_sub(element, "cac:PostalAddress"), party.address)
    if party.vat_id is not None:  # BT-31 / BT-48
        scheme = _sub(element, "cac:PartyTaxScheme")
        _sub(scheme, "cbc:CompanyID", party.vat_id)
        _sub(_sub(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _sub(element, "cac:PartyLegalEntity")
    _sub(legal, "cbc:RegistrationName", party.name)  # BT-27 / BT-44
    if party.company_id is not None:  # BT-30 / BT-47
        _sub(legal, "cbc:CompanyID", party.company_id)
    if party.contact_name is not None or party.contact_email is not None:
        contact = _sub(element, "cac:Contact")
        _optional(contact, "cbc:Name", party.contact_name)  # BT-41 / BT-56
        _optional(contact, "cbc:ElectronicMail", party.contact_email)  # BT-43 / BT-58


def _postal_address(element: Element, address: PostalAddress) -> None:
    """BG-5 / BG-8."""
    _optional(element, "cbc:StreetName", address.street)
    _optional(element, "cbc:CityName", address.city)
    _optional(element, "cbc:PostalZone", address.postal_code)
    _optional(element, "cbc:CountrySubentity", address.province)
    _sub(_sub(element, "cac:Country"), "cbc:IdentificationCode", address.country)


def _tax_total(root: Element, document: Document) -> None:
    total = _sub(root, "cac:TaxTotal")
    _amount(total, "cbc:TaxAmount", document.tax_total, document)  # BT-110
    _breakdown(_sub(total, "cac:TaxSubtotal"), document.vat, document)


def _breakdown(subtotal: Element, vat: VatBreakdown, document: Document) -> None:
    """BG-23."""
    _amount(subtotal, "cbc:TaxableAmount", vat.taxable_amount, document)  # BT-116
    _amount(subtotal, "cbc:TaxAmount", vat.tax_amount, document)  # BT-117
    category = _sub(subtotal, "cac:TaxCategory")
    _sub(category, "cbc:ID", vat.category.value)  # BT-118
    if vat.rate is not None:  # BT-119; none for category O
        _sub(category, "cbc:Percent", _number(vat.rate))
    if vat.category is not VatCategory.STANDARD:
        _optional(category, "cbc:TaxExemptionReasonCode", vat.exemption_code)  # BT-121
        reason = EXEMPTION_REASON[vat.category][document.language]
        _sub(category, "cbc:TaxExemptionReason", reason)  # BT-120
    _sub(_sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _totals(root: Element, document: Document) -> None:
    """BG-22."""
    totals = _sub(root, "cac:LegalMonetaryTotal")
    _amount(totals, "cbc:LineExtensionAmount", document.line_total, document)  # BT-106
    _amount(totals, "cbc:TaxExclusiveAmount", document.tax_exclusive, document)  # BT-109
    _amount(totals, "cbc:TaxInclusiveAmount", document.tax_inclusive, document)  # BT-112
    if document.prepaid != 0:
        _amount(totals, "cbc:PrepaidAmount", document.prepaid, document)  # BT-113
    _amount(totals, "cbc:PayableAmount", document.payable, document)  # BT-115


def _line(root: Element, document: Document, line: DocumentLine, kind: str) -> None:
    """BG-25: InvoiceLine / InvoicedQuantity, or CreditNoteLine / CreditedQuantity."""
    quantity = "CreditedQuantity" if kind == "CreditNote" else "InvoicedQuantity"
    element = _sub(root, f"cac:{kind}Line")
    _sub(element, "cbc:ID", line.id)  # BT-126
    _sub(element, f"cbc:{quantity}", _number(line.quantity), unitCode=line.unit.value)
    _amount(element, "cbc:LineExtensionAmount", line.net_amount, document)  # BT-131
    if line.period_start is not None or line.period_end is not None:  # BG-26
        _period(element, line.period_start, line.period_end)
    item = _sub(element, "cac:Item")
    _sub(item, "cbc:Name", line.name)  # BT-153
    category = _sub(item, "cac:ClassifiedTaxCategory")
    _sub(category, "cbc:ID", line.category.value)  # BT-151
    if line.rate is not None:  # BT-152; none for category O (BR-O-05)
        _sub(category, "cbc:Percent", _number(line.rate))
    _sub(_sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    price = _sub(element, "cac:Price")
    _amount(price, "cbc:PriceAmount", line.unit_price, document)  # BT-146
    # BT-149, with the line's unit (BT-150): the price is per base quantity of it
    _sub(price, "cbc:BaseQuantity", _number(line.base_quantity), unitCode=line.unit.value)


def _period(parent: Element, start: date | None, end: date | None) -> None:
    period = _sub(parent, "cac:InvoicePeriod")
    if start is not None:
        _sub(period, "cbc:StartDate", start.isoformat())
    if end is not None:
        _sub(period, "cbc:EndDate", end.isoformat())


def _amount(parent: Element, tag: str, value: Decimal, document: Document) -> None:
    _sub(parent, tag, _number(value), currencyID=document.currency)
