"""Document renderers: one document (domain/documents.py) written out three ways, each a
pure function of it, byte for byte the same on every run.

- `ubl`: UBL 2.1 Invoice / CreditNote, Peppol BIS Billing 3.0;
- `cii`: UN/CEFACT CrossIndustryInvoice, Factur-X EN 16931 profile;
- `pdf`: PDF/A-3, laid out from a Jinja2 template in the document's language, with the CII
  embedded as Factur-X.

A document is re-rendered, for an auditor or a customer, with the version it was issued
with (`IssuedDocument.version`): a change of what any renderer writes is a new version, and
the old one stays here for the documents issued with it.

The PDF renderer (`pdf`: WeasyPrint, factur-x, pikepdf, half a second to import) is
imported by `render` when a PDF is asked for, not with this package: a process that never
renders one (the CLI, most tests) does not pay for it.
"""

from __future__ import annotations

import hashlib
from importlib import metadata

from adapters.documents import cii, ubl
from domain.documents import Document, IssuedDocument, Rendering, Seller, document_of
from domain.invoicing import Invoice, Language

VERSION = 1  # what new documents are issued with
VERSIONS = (1,)  # every version a recorded document may name
# the libraries whose releases the bytes depend on
LIBRARIES = ("lxml", "weasyprint", "factur-x", "pikepdf", "fonttools", "Babel", "Jinja2")


def render(
    document: Document, version: int = VERSION, only: Rendering | None = None
) -> dict[Rendering, bytes]:
    """Every rendering of a document, or `only` one (the PDF embeds the CII, so that one
    is made for it either way)."""
    assert version in VERSIONS, f"no renderers of version {version}"
    made: dict[Rendering, bytes] = {}
    if only in (None, Rendering.UBL):
        made[Rendering.UBL] = ubl.render(document)
    if only is not Rendering.UBL:
        made[Rendering.CII] = cii.render(document)
    if only in (None, Rendering.PDF):
        from adapters.documents import pdf  # deferred: see the module docstring

        made[Rendering.PDF] = pdf.render(document, made[Rendering.CII], version)
    return made if only is None else {only: made[only]}


def digests(renderings: dict[Rendering, bytes]) -> dict[Rendering, str]:
    return {kind: hashlib.sha256(data).hexdigest() for kind, data in renderings.items()}


def libraries() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


def issue(
    invoice: Invoice, *, seller: Seller, language: Language, buyer_reference: str
) -> IssuedDocument:
    """The document of an invoice as it is issued now: its renderings' digests and what
    they were rendered from besides the invoice."""
    issued = IssuedDocument(
        number=invoice.number,
        version=VERSION,
        language=language,
        seller=seller,
        buyer_reference=buyer_reference,
        sha256={},
        libraries=libraries(),
    )
    renderings = rendered(invoice, issued)
    return issued.model_copy(update={"sha256": digests(renderings)})


def rendered(
    invoice: Invoice, issued: IssuedDocument, only: Rendering | None = None
) -> dict[Rendering, bytes]:
    """The renderings of an issued document, from what was recorded: the invoice as issued
    and its document's facts, with the renderers of the version it names."""
    document = document_of(
        invoice,
        seller=issued.seller,
        language=issued.language,
        buyer_reference=issued.buyer_reference,
    )
    return render(document, issued.version, only)
