"""The PDF of a document: PDF/A-3 with its CII attached as Factur-X, the same bytes in every
process, laid out in the document's language, and looked at: a page of an invoice and of a
credit note in two languages are rendered to PNG and kept in var/artefacts/documents/."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import facturx
import pikepdf
import pytest

from adapters.documents import cii, pdf, render, ubl
from domain.documents import Rendering
from domain.invoicing import Language
from tests.helpers import ARTEFACTS as ALL_ARTEFACTS
from tests.sample_documents import documents

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ALL_ARTEFACTS / "documents"
FACTUR_X = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"  # its XMP namespace
# What version 1 of the renderers writes. A renderer or template that writes anything else
# is a new version (adapters/documents: VERSION, VERSIONS), never an edit of this one: the
# documents issued with version 1 must re-render to the bytes their digests name.
TEMPLATE_V1_SHA256 = "5084742b4b70b7fa7e6038a70a601f05e09af11e0ea2585e00bea771758a1544"
SAMPLE_V1_SHA256 = {
    Rendering.UBL: "83deab2efbdc459c7e0375b9dda0a5405fef7c9b88de8a2607b0606efe3655a1",
    Rendering.CII: "e1ecebc8c0b399debd03209959ad3f477cab5db2e042dbac3bfbf8931b8dc628",
}


def _template_digest(version: int) -> str:
    """The SHA-256 of what a template version is made of, file names included."""
    hasher = hashlib.sha256()
    for path in sorted((pdf.TEMPLATES / f"v{version}").iterdir()):
        hasher.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed (Debian's poppler-utils; .ci/run installs it)")
    return found


def _text(data: bytes) -> str:
    out = subprocess.run(
        [_tool("pdftotext"), "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode()


def test_the_pdf_is_pdf_a_3b_with_the_cii_attached_as_factur_x() -> None:
    document = documents(Language.PL)["de-reverse-charge"]
    made = render(document)
    with pikepdf.open(io.BytesIO(made[Rendering.PDF])) as opened:
        meta = opened.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert meta[f"{{{FACTUR_X}}}ConformanceLevel"] == "EN 16931"
        assert meta[f"{{{FACTUR_X}}}DocumentFileName"] == "factur-x.xml"
        spec = opened.attachments["factur-x.xml"]
        assert spec.obj.AFRelationship == "/Data"
        assert spec.get_file().read_bytes() == made[Rendering.CII]
    _, embedded = facturx.get_facturx_xml_from_pdf(made[Rendering.PDF], check_xsd=True)
    assert embedded == made[Rendering.CII]


def test_a_document_renders_the_same_bytes_in_another_process() -> None:
    """Nothing in the bytes comes from the clock, a random source or the process: the
    PDF's dates are the issue instant and its file identifier is made from its content."""
    document = documents(Language.SL)["credit-note"]
    here = render(document)
    script = (
        "import sys, hashlib;"
        "from tests.sample_documents import documents;"
        "from adapters.documents import render;"
        "from domain.invoicing import Language;"
        "made = render(documents(Language.SL)['credit-note']);"
        "print(' '.join(hashlib.sha256(made[k]).hexdigest() for k in sorted(made)))"
    )
    elsewhere = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert elsewhere == [hashlib.sha256(here[k]).hexdigest() for k in sorted(here)]


def test_the_pdf_dates_are_the_issue_instant() -> None:
    document = documents()["sk-business"]
    data = render(document, only=Rendering.PDF)[Rendering.PDF]
    with pikepdf.open(io.BytesIO(data)) as opened:
        assert str(opened.docinfo["/CreationDate"]) == "D:20250310093000+00'00'"
        assert str(opened.docinfo["/ModDate"]) == "D:20250310093000+00'00'"
        meta = opened.open_metadata()
        assert meta["xmp:CreateDate"] == document.issued_at.isoformat()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (Language.EN, ["Credit note", "Credit note for invoice 2025-000001", "Amount credited"]),
        (Language.SL, ["Dobropis", "Dobropis k računu 2025-000001", "Znesek dobropisa"]),
        (Language.BG, ["Кредитно известие", "към фактура 2025-000001"]),
    ],
)
def test_inv_2_a_credit_note_says_in_its_language_which_invoice_it_reverses(
    language: Language, words: list[str]
) -> None:
    text = _text(render(documents(language)["credit-note"], only=Rendering.PDF)[Rendering.PDF])
    for word in words:
        assert word in text


def test_inv_4_the_pdf_carries_the_legal_mention_in_its_language() -> None:
    reverse = documents(Language.PL)["de-reverse-charge"]
    text = _text(render(reverse, only=Rendering.PDF)[Rendering.PDF])
    assert "Odwrotne obciążenie" in text
    assert "DE136695976" in text  # the buyer's VAT ID (BR-AE-02)
    outside = documents(Language.NL)["us-not-subject"]
    text = _text(render(outside, only=Rendering.PDF)[Rendering.PDF])
    assert "Niet onderworpen aan btw in de EU" in text
    assert "$210.00" in text or "US$ 210,00" in text


def test_money_dates_and_numbers_are_written_the_way_the_language_writes_them() -> None:
    text = _text(render(documents(Language.SL)["sk-business"], only=Rendering.PDF)[Rendering.PDF])
    assert "143,91 €" in text  # Babel: decimal comma, the sign after the amount
    assert "10. mar. 2025" in text
    proration = documents(Language.EN)["bill-4-proration"]
    text = _text(render(proration, only=Rendering.PDF)[Rendering.PDF])
    assert "193 days" in text
    assert "€390.00 / 365" in text  # the yearly rate difference per 365 days (R120)


def test_every_language_names_every_label() -> None:
    labels = tomllib.loads((pdf.TEMPLATES / "v1" / "labels.toml").read_text(encoding="utf-8"))
    assert set(labels) == {language.value for language in Language}
    for language, words in labels.items():
        assert set(words) == set(labels["en"]), language


def test_version_1_renders_what_it_always_rendered() -> None:
    """A renderer or template edited in place would change the bytes of documents already
    issued with version 1; a new version is added instead."""
    assert _template_digest(1) == TEMPLATE_V1_SHA256
    document = documents()["de-reverse-charge"]
    assert {
        Rendering.UBL: hashlib.sha256(ubl.render(document)).hexdigest(),
        Rendering.CII: hashlib.sha256(cii.render(document)).hexdigest(),
    } == SAMPLE_V1_SHA256


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("de-reverse-charge", Language.EN),
        ("de-reverse-charge", Language.PL),
        ("credit-note", Language.EN),
        ("credit-note", Language.SL),
    ],
)
def test_a_page_of_an_invoice_and_a_credit_note_is_rendered_to_png(
    name: str, language: Language
) -> None:
    """Kept as artefacts, to be looked at: the layout, the language, the mentions."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    data = render(documents(language)[name], only=Rendering.PDF)[Rendering.PDF]
    stem = ARTEFACTS / f"{name}-{language.value}"
    stem.with_suffix(".pdf").write_bytes(data)
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "100", "-singlefile", "-f", "1", "-l", "1", "-"],
        input=data,
        stdout=stem.with_suffix(".png").open("wb"),
        check=True,
    )
    png = stem.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (827, 1170)  # A4 at 100 dpi
