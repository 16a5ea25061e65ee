"""One invoice or credit note by its number: as JSON, or as the document that was sent."""

import hashlib
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from api.params import DocumentNumber
from api.security import Reader, TheLedger
from domain.documents import Rendering
from ledger.views import InvoiceView

router = APIRouter()


class DocumentFormat(StrEnum):
    """What GET /invoices/{number} answers with."""

    JSON = "json"
    UBL = "ubl"
    CII = "cii"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {"json": "application/json", "pdf": "application/pdf"}.get(
            self.value, "application/xml"
        )

    @property
    def extension(self) -> str:
        return {"pdf": "pdf", "json": "json"}.get(self.value, "xml")

    @classmethod
    def from_accept(cls, accept: str | None) -> "DocumentFormat":
        """The first of the Accept header's types that names a rendering (XML is UBL, the
        e-invoice); JSON otherwise."""
        for part in (accept or "").split(","):
            media = part.split(";")[0].strip().lower()
            if media == "application/pdf":
                return cls.PDF
            if media in ("application/xml", "text/xml"):
                return cls.UBL
            if media in ("application/json", "*/*"):
                return cls.JSON
        return cls.JSON


@router.get(
    "/invoices/{number}",
    tags=["account reads"],
    responses={
        200: {
            "model": InvoiceView,
            "content": {
                "application/json": {},
                "application/pdf": {},
                "application/xml": {},
            },
            "description": "The invoice as JSON, or its document: PDF/A-3 (Factur-X), "
            "UBL (Peppol BIS Billing 3.0) or CII",
        }
    },
)
def invoice(
    number: DocumentNumber,
    actor: Reader,
    ledger: TheLedger,
    format: Annotated[
        DocumentFormat | None,
        Query(description="json, ubl, cii or pdf; else the Accept header decides"),
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """One invoice or credit note. As a document, it is rendered from the log, the
    same bytes as when it was issued (`seatledger audit documents NUMBER --check`)."""
    chosen = format or DocumentFormat.from_accept(accept)
    if chosen is DocumentFormat.JSON:
        return JSONResponse(ledger.invoice(number))
    data = ledger.document(number, Rendering(chosen.value))
    return Response(
        data,
        media_type=chosen.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{number}.{chosen.extension}"',
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
        },
    )
