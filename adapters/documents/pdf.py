"""A document as PDF/A-3b with its CII embedded (Factur-X, EN 16931 profile): HTML from the
Jinja2 template of the document's version, in its language (Babel writes the money, dates
and numbers), laid out by WeasyPrint, the XML attached by `factur-x`.

The same document gives the same bytes on every run and every machine with the same
libraries: nothing here reads the clock. WeasyPrint's font subsets carry a timestamp that
fontTools takes from SOURCE_DATE_EPOCH, and `factur-x` stamps the wall clock into the PDF's
dates, so both are pinned to the document's issue instant.
"""

from __future__ import annotations

import io
import os
import threading
import tomllib
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import facturx
import pikepdf
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from adapters.documents.texts import EXEMPTION_REASON, PAYMENT_TERMS
from domain.documents import Document, Party
from domain.numbering import DocumentKind

TEMPLATES = Path(__file__).parent / "templates"
# SOURCE_DATE_EPOCH is process-wide: one rendering at a time may set it, and so one at a
# time uses the fonts below
_EPOCH = threading.Lock()


@cache
def _fonts() -> FontConfiguration:
    """One font configuration for the process: a new one per rendering keeps its fonts
    alive, and a long-running scheduler would grow by a fraction of a megabyte a document."""
    return FontConfiguration()


@cache
def _template(version: int) -> tuple[Template, str, dict[str, dict[str, str]]]:
    folder = TEMPLATES / f"v{version}"
    environment = Environment(
        loader=FileSystemLoader(folder), autoescape=True, undefined=StrictUndefined
    )
    labels = tomllib.loads((folder / "labels.toml").read_text(encoding="utf-8"))
    style = (folder / "style.css").read_text(encoding="utf-8")
    return environment.get_template("document.html.j2"), style, labels


def render(document: Document, cii: bytes, version: int) -> bytes:
    html = _html(document, version)
    epoch = int(document.issued_at.timestamp())
    with _EPOCH:
        before = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        try:
            laid_out: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
                pdf_variant="pdf/a-3b", font_config=_fonts()
            )
        finally:
            if before is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = before
    attached: bytes = facturx.generate_from_binary(
        laid_out,
        cii,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        lang=document.language.value,
        pdf_metadata=_metadata(document),
    )
    return _pinned(attached, document.issued_at)


def _html(document: Document, version: int) -> str:
    template, style, labels = _template(version)
    language = document.language.value
    locale = Locale.parse(language)
    credit = document.kind is DocumentKind.CREDIT_NOTE
    words = labels[language]

    def money(value: Decimal) -> str:
        return format_currency(value, document.currency, locale=locale)

    def price(value: Decimal, base: Decimal) -> str:
        # a prorated price keeps every digit it was charged with (R120)
        text = format_currency(value, document.currency, locale=locale, decimal_quantization=False)
        return text if base == 1 else f"{text} / {format_decimal(base, locale=locale)}"

    def quantity(value: Decimal) -> str:
        return format_decimal(value, locale=locale, decimal_quantization=False)

    def rate(value: Decimal | None) -> str:
        return "" if value is None else f"{format_decimal(value, locale=locale)} %"

    def day(value: date) -> str:
        return format_date(value, format="medium", locale=locale)

    def address(party: Party) -> list[str]:
        given = party.address
        if given.province:  # as North America writes it: city, state and ZIP code
            region = " ".join(part for part in (given.province, given.postal_code) if part)
            place = ", ".join(part for part in (given.city, region) if part)
        else:
            place = " ".join(part for part in (given.postal_code, given.city) if part)
        country = locale.territories.get(given.country, given.country)
        return [row for row in (given.street, place, country) if row]

    exemption = EXEMPTION_REASON.get(document.vat.category, {}).get(document.language)
    return template.render(
        doc=document,
        t=words,
        title=words["credit_note" if credit else "invoice"],
        credit=credit,
        style=style,
        exemption=exemption,
        terms=PAYMENT_TERMS[document.language],
        money=money,
        price=price,
        quantity=quantity,
        rate=rate,
        day=day,
        address=address,
    )


def _metadata(document: Document) -> dict[str, str]:
    kind = "Credit note" if document.kind is DocumentKind.CREDIT_NOTE else "Invoice"
    return {
        "author": document.seller.name,
        "keywords": "Factur-X, EN 16931",
        "title": f"{document.seller.name}: {kind} {document.number}",
        "subject": f"{kind} {document.number} of {document.issue_date.isoformat()}",
    }


def _pinned(data: bytes, issued_at: datetime) -> bytes:
    """The dates `factur-x` took from the clock, set to the issue instant, and a file
    identifier computed from the content rather than drawn at random."""
    instant = issued_at.isoformat()
    stamp = "D:" + issued_at.strftime("%Y%m%d%H%M%S") + "+00'00'"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.docinfo["/CreationDate"] = stamp
        pdf.docinfo["/ModDate"] = stamp
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            for key in ("xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate"):
                if key in meta:
                    meta[key] = instant
        for spec in pdf.attachments.values():
            stream = spec.obj.EF.F
            if "/Params" in stream:
                stream.Params.ModDate = pikepdf.String(stamp)
                if "/CreationDate" in stream.Params:
                    stream.Params.CreationDate = pikepdf.String(stamp)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, qdf=False)
    return out.getvalue()
