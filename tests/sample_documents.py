"""Documents of each kind the ledger issues, built through the domain as the account builds
them (build_invoice, then document_of), for the renderers' tests: standard VAT in the
seller's country with and without a VAT ID, reverse charge, not subject to VAT, a BILL-4
proration, an LTD-5 seat-days charge, a LOGIN-1 surcharge and an INV-2 credit note."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from domain.documents import Document, Seller, document_of
from domain.invoicing import Address, BillingDetails, Charge, Invoice, Language, Unit, build_invoice
from domain.numbering import DocumentKind
from domain.vat import VatTable, decide_vat

SELLER = Seller(
    name="Seatledger Vendor s.r.o.",
    street="Hlavná 1",
    city="Bratislava",
    postal_code="811 01",
    country="SK",
    vat_id="SK2020273893",
    company_id="12345678",
    email="billing@vendor.example",
)
AT = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
PERIOD = (date(2025, 3, 10), date(2025, 4, 10))


def _invoice(
    number: str,
    country: str,
    vat_id: str | None,
    lines: list[Charge],
    *,
    currency: str = "EUR",
    address: Address | None = None,
    electronic_address: str | None = None,
    periodic: bool = True,
) -> Invoice:
    """`periodic`: a renewal's invoice has the period it bills; a BILL-4 or LTD-5 invoice
    has none, only its line's."""
    vat = decide_vat(
        customer_country=country,
        vat_id=vat_id,
        seller_country="SK",
        issue_day=AT.date(),
        table=VatTable.default(),
    )
    return build_invoice(
        number=number,
        kind=DocumentKind.INVOICE,
        issued_at=AT,
        currency=currency,
        lines=lines,
        vat=vat,
        vat_id=vat_id,
        billed_to=BillingDetails(
            name="Ada Lovelace",
            email="ada@buyer.example",
            company="Buyer Ltd",
            address=address,
            electronic_address=electronic_address,
        ),
        plan="all-inclusive",
        period_start=datetime(2025, 3, 10, 9, 30, tzinfo=UTC) if periodic else None,
        period_end=datetime(2025, 4, 10, 9, 30, tzinfo=UTC) if periodic else None,
    )


def _seats(count: int, price: str) -> Charge:
    return Charge(
        f"all-inclusive (monthly), {count} seats x {price} EUR, 2025-03-10 to 2025-04-10",
        count,
        Unit.ONE,
        Decimal(price),
        "BILL-2",
        period=PERIOD,
    )


def invoices() -> dict[str, Invoice]:
    """One invoice per case, by name."""
    bratislava = Address(street="Obchodná 5", city="Bratislava", postal_code="811 06", country="SK")
    berlin = Address(street="Unter den Linden 1", city="Berlin", postal_code="10117", country="DE")
    boston = Address(
        street="1 Main St", city="Boston", postal_code="02108", state="MA", country="US"
    )
    proration = Charge(
        "Upgrade to all-inclusive, 4 seats: yearly rate 1560.00 EUR from 1170.00 EUR, "
        "193/365 days remaining",
        193,
        Unit.DAY,
        Decimal("390.00"),
        "BILL-4",
        base_quantity=365,
        period=(date(2025, 7, 1), date(2026, 1, 10)),
    )
    seat_days = Charge(
        "Extra seats beyond the lifetime deal: 30 seat-days x 39.00 EUR / 30 days",
        30,
        Unit.DAY,
        Decimal("39.00"),
        "LTD-5",
        base_quantity=30,
        period=(date(2019, 11, 5), date(2019, 12, 5)),
    )
    surcharge = Charge(
        "Shared login surcharge, 2025-03-10 to 2025-04-10",
        1,
        Unit.ONE,
        Decimal("39.00"),
        "LOGIN-1",
        period=PERIOD,
    )
    return {
        # a Slovak business: SK VAT at the standard rate, DIČ as its Peppol address (0245)
        "sk-business": _invoice(
            "2025-000001", "SK", "SK2120046819", [_seats(3, "39.00")], address=bratislava
        ),
        # a German consumer: SK seller, DE VAT rate (no VAT ID, no electronic address)
        "de-consumer": _invoice("2025-000002", "DE", None, [_seats(1, "39.00")]),
        # a German business with a VAT ID: reverse charge (AE), addressed by 9930
        "de-reverse-charge": _invoice(
            "2025-000003", "DE", "DE136695976", [_seats(2, "39.00"), surcharge], address=berlin
        ),
        # a US customer: not subject to EU VAT (O)
        "us-not-subject": _invoice(
            "2025-000004", "US", None, [_seats(5, "42.00")], currency="USD", address=boston
        ),
        "bill-4-proration": _invoice(
            "2025-000005", "DE", "DE136695976", [proration], address=berlin, periodic=False
        ),
        "ltd-5-seat-days": _invoice(
            "2025-000006", "FR", "FR40303265045", [seat_days], address=None, periodic=False
        ),
        # a buyer who gave a Peppol participant ID of its own
        "given-address": _invoice(
            "2025-000007",
            "NL",
            "NL004495445B01",
            [_seats(2, "39.00")],
            electronic_address="0106:12345678",
        ),
    }


def credit_note(invoice: Invoice, number: str = "CN-2025-000001") -> Invoice:
    """INV-2: the credit note reversing an invoice in full, as Account.correct_invoice
    makes it."""
    return invoice.model_copy(
        update={"number": number, "kind": DocumentKind.CREDIT_NOTE, "credits": invoice.number}
    )


def documents(language: Language = Language.EN) -> dict[str, Document]:
    found = invoices()
    found["credit-note"] = credit_note(found["sk-business"])
    return {
        name: document_of(invoice, seller=SELLER, language=language, buyer_reference="acme-3f2a")
        for name, invoice in found.items()
    }
