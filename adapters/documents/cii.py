"""A document as a UN/CEFACT CrossIndustryInvoice (D16B), Factur-X EN 16931 profile: the XML
the PDF embeds. What the document model holds and nothing else, in the order the Factur-X
schema asks for, the same bytes on every run (elements and attributes are written in a fixed
order, nothing depends on the clock)."""

from __future__ import annotations

from datetime import date

from lxml import etree

from adapters.documents.texts import EXEMPTION_REASON, PAYMENT_TERMS
from adapters.documents.xml import Element, Tags, number
from domain.documents import Document, DocumentLine, Party, PostalAddress, VatCategory

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
PREFIX: dict[str | None, str] = {"rsm": RSM, "ram": RAM, "udt": UDT}
_TAGS = Tags(PREFIX)
_sub = _TAGS.sub
_optional = _TAGS.optional
_number = number
GUIDELINE = "urn:cen.eu:en16931:2017"  # BT-24: Factur-X's EN 16931 profile


def render(document: Document) -> bytes:
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=PREFIX)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)
    header = _sub(root, "rsm:ExchangedDocument")
    _sub(header, "ram:ID", document.number)  # BT-1
    _sub(header, "ram:TypeCode", document.type_code)  # BT-3
    _date(_sub(header, "ram:IssueDateTime"), document.issue_date)  # BT-2
    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in document.lines:
        _line(transaction, line)
    _agreement(_sub(transaction, "ram:ApplicableHeaderTradeAgreement"), document)
    # BG-13 is not held (a service, nothing delivered), but the element is mandatory
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    _settlement(_sub(transaction, "ram:ApplicableHeaderTradeSettlement"), document)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _agreement(agreement: Element, document: Document) -> None:
    _sub(agreement, "ram:BuyerReference", document.buyer_reference)  # BT-10
    _party(_sub(agreement, "ram:SellerTradeParty"), document.seller)
    _party(_sub(agreement, "ram:BuyerTradeParty"), document.buyer)


def _party(element: Element, party: Party) -> None:
    """BG-4 / BG-7."""
    _sub(element, "ram:Name", party.name)  # BT-27 / BT-44
    if party.company_id is not None:  # BT-30 / BT-47
        _sub(_sub(element, "ram:SpecifiedLegalOrganization"), "ram:ID", party.company_id)
    if party.contact_name is not None or party.contact_email is not None:
        contact = _sub(element, "ram:DefinedTradeContact")
        _optional(contact, "ram:PersonName", party.contact_name)  # BT-41 / BT-56
        if party.contact_email is not None:  # BT-43 / BT-58
            email = _sub(contact, "ram:EmailURIUniversalCommunication")
            _sub(email, "ram:URIID", party.contact_email)
    _postal_address(_sub(element, "ram:PostalTradeAddress"), party.address)
    if party.electronic_address is not None:  # BT-34 / BT-49
        address = party.electronic_address
        uri = _sub(element, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", address.value, schemeID=address.scheme)
    if party.vat_id is not None:  # BT-31 / BT-48
        registration = _sub(element, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", party.vat_id, schemeID="VA")


def _postal_address(element: Element, address: PostalAddress) -> None:
    """BG-5 / BG-8."""
    _optional(element, "ram:PostcodeCode", address.postal_code)
    _optional(element, "ram:LineOne", address.street)
    _optional(element, "ram:CityName", address.city)
    _sub(element, "ram:CountryID", address.country)
    _optional(element, "ram:CountrySubDivisionName", address.province)


def _settlement(settlement: Element, document: Document) -> None:
    _sub(settlement, "ram:InvoiceCurrencyCode", document.currency)  # BT-5
    _breakdown(settlement, document)
    if document.period_start is not None and document.period_end is not None:
        _period(settlement, document.period_start, document.period_end)  # BG-14
    terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
    _sub(terms, "ram:Description", PAYMENT_TERMS[document.language])  # BT-20
    _date(_sub(terms, "ram:DueDateDateTime"), document.due_date)  # BT-9
    _totals(_sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation"), document)
    if document.preceding is not None:  # BT-25
        reference = _sub(settlement, "ram:InvoiceReferencedDocument")
        _sub(reference, "ram:IssuerAssignedID", document.preceding)


def _breakdown(settlement: Element, document: Document) -> None:
    """BG-23, in the schema's order: the reason (BT-120) comes before the category."""
    vat = document.vat
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:CalculatedAmount", _number(vat.tax_amount))  # BT-117
    _sub(tax, "ram:TypeCode", "VAT")
    exempt = vat.category is not VatCategory.STANDARD
    if exempt:
        reason = EXEMPTION_REASON[vat.category][document.language]
        _sub(tax, "ram:ExemptionReason", reason)  # BT-120
    _sub(tax, "ram:BasisAmount", _number(vat.taxable_amount))  # BT-116
    _sub(tax, "ram:CategoryCode", vat.category.value)  # BT-118
    if exempt:
        _optional(tax, "ram:ExemptionReasonCode", vat.exemption_code)  # BT-121
    if vat.rate is not None:  # BT-119; none for category O
        _sub(tax, "ram:RateApplicablePercent", _number(vat.rate))


def _totals(totals: Element, document: Document) -> None:
    """BG-22."""
    _sub(totals, "ram:LineTotalAmount", _number(document.line_total))  # BT-106
    _sub(totals, "ram:TaxBasisTotalAmount", _number(document.tax_exclusive))  # BT-109
    tax_total = _number(document.tax_total)  # BT-110, the one amount that names its currency
    _sub(totals, "ram:TaxTotalAmount", tax_total, currencyID=document.currency)
    _sub(totals, "ram:GrandTotalAmount", _number(document.tax_inclusive))  # BT-112
    if document.prepaid != 0:
        _sub(totals, "ram:TotalPrepaidAmount", _number(document.prepaid))  # BT-113
    _sub(totals, "ram:DuePayableAmount", _number(document.payable))  # BT-115


def _line(transaction: Element, line: DocumentLine) -> None:
    """BG-25."""
    item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.id)  # BT-126
    _sub(_sub(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.name)  # BT-153
    price = _sub(_sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", _number(line.unit_price))  # BT-146
    # BT-149, with the line's unit (BT-150): the price is per base quantity of it
    _sub(price, "ram:BasisQuantity", _number(line.base_quantity), unitCode=line.unit.value)
    delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
    _sub(delivery, "ram:BilledQuantity", _number(line.quantity), unitCode=line.unit.value)
    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", line.category.value)  # BT-151
    if line.rate is not None:  # BT-152; none for category O (BR-O-05)
        _sub(tax, "ram:RateApplicablePercent", _number(line.rate))
    if line.period_start is not None or line.period_end is not None:  # BG-26
        _period(settlement, line.period_start, line.period_end)
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram:LineTotalAmount", _number(line.net_amount))  # BT-131


def _period(parent: Element, start: date | None, end: date | None) -> None:
    period = _sub(parent, "ram:BillingSpecifiedPeriod")
    if start is not None:
        _date(_sub(period, "ram:StartDateTime"), start)
    if end is not None:
        _date(_sub(period, "ram:EndDateTime"), end)


def _date(parent: Element, day: date) -> None:
    """A date as CII writes one: format 102 is CCYYMMDD."""
    _sub(parent, "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")
