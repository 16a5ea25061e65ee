"""Invoices and credit notes leave the ledger as documents: each issued invoice records the
SHA-256 of its UBL, CII and PDF renderings, recorded by the documents follower after the
invoice is saved or when the document is first asked for, exactly once; the documents
render again from the log byte for byte, and they reach the owner by e-mail (PAY-3, INV-2),
the API and the command line."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from threading import Barrier
from typing import Any
from uuid import UUID

import facturx
import pikepdf
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters import documents
from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from adapters.mail import SmtpMailer
from api import create_app
from app import Ledger
from cli import app as cli_app
from domain.account import Account
from domain.commands import AddPaymentMethod, ChooseLanguage, CorrectInvoice, SetVatId
from domain.documents import Rendering
from domain.errors import DomainError, ErrorCode
from scenario import run_file
from settings import ApiToken, Permission, Settings
from tests.helpers import at, open_account
from tests.smtp import SmtpServer

TEMPLATES = Path(documents.__file__).parent / "templates"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def german_business(
    ledger: Ledger, clock: SimulatedClock, language: str = "en", *, documented: bool = True
) -> UUID:
    """A German business with a VAT ID (reverse charge, INV-4), charged on 2019-01-01;
    `documented`: and the scheduler's documents run has come by."""
    account = open_account(ledger, country="DE", currency="EUR", language=language)
    ledger.execute(account, SetVatId(vat_id="DE136695976"))
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_docs"))
    at(ledger, clock, "2019-01-02T00:00:00Z")
    if documented:
        ledger.issue_documents()
    return account


def test_inv_1_the_documents_follower_records_each_invoice_s_digests(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    account_id = german_business(ledger, clock, documented=False)
    assert ledger.load(account_id).documents == {}  # billing does not wait for rendering
    assert ledger.issue_documents() == 1
    assert ledger.issue_documents() == 0
    events = list(ledger.store.events.get(account_id))
    issued = [e for e in events if isinstance(e, Account.InvoiceIssued)]
    recorded = [e for e in events if isinstance(e, Account.DocumentIssued)]
    assert [e.invoice.number for e in issued] == [d.document.number for d in recorded]
    [invoice_event], [document_event] = issued, recorded
    assert document_event.originator_version > invoice_event.originator_version
    facts = document_event.document
    assert facts.version == documents.VERSION
    assert facts.seller == ledger.settings.seller()
    assert set(facts.sha256) == set(Rendering)
    for rendering in Rendering:
        data = ledger.document("2019-000001", rendering)
        assert hashlib.sha256(data).hexdigest() == facts.sha256[rendering]


def test_a_document_renders_the_same_bytes_again_and_its_check_says_so(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    german_business(ledger, clock)
    first = ledger.document("2019-000001", Rendering.PDF)
    assert ledger.document("2019-000001", Rendering.PDF) == first
    checked = ledger.check_document("2019-000001")
    assert checked["matches"] is True
    assert {k: v["matches"] for k, v in checked["renderings"].items()} == {
        "ubl": True,
        "cii": True,
        "pdf": True,
    }
    assert ledger.verify().ok  # the digests are events: the hash chain covers them


def test_a_tampered_rendering_fails_the_check(
    mem_ledger: Ledger, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check compares bytes: a renderer that writes anything else is caught."""
    german_business(mem_ledger, clock)
    real = documents.ubl.render
    monkeypatch.setattr(
        documents.ubl, "render", lambda d: real(d).replace(b"<cbc:ID>", b"<cbc:ID>X", 1)
    )
    checked = mem_ledger.check_document("2019-000001")
    assert checked["matches"] is False
    assert checked["renderings"]["ubl"]["matches"] is False
    assert checked["renderings"]["pdf"]["matches"] is True


def test_the_pdf_is_pdf_a_3_with_its_factur_x_xml_attached(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    german_business(mem_ledger, clock, language="sl")
    pdf = mem_ledger.document("2019-000001", Rendering.PDF)
    cii = mem_ledger.document("2019-000001", Rendering.CII)
    _, embedded = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert embedded == cii
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        meta = opened.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert "factur-x.xml" in opened.attachments


def test_inv_2_a_correction_issues_documents_for_the_credit_note_and_the_new_invoice(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    account_id = german_business(mem_ledger, clock)
    at(mem_ledger, clock, "2019-01-05T00:00:00Z")
    mem_ledger.execute(account_id, CorrectInvoice(company="ACME GmbH"))
    assert mem_ledger.issue_documents() == 2
    account = mem_ledger.load(account_id)
    assert sorted(account.documents) == ["2019-000001", "2019-000002", "CN-2019-000001"]
    ubl = mem_ledger.document("CN-2019-000001", Rendering.UBL)
    assert b"<CreditNote" in ubl
    assert b"<cbc:ID>2019-000001</cbc:ID>" in ubl  # BT-25: the invoice it reverses
    reissued = mem_ledger.document("2019-000002", Rendering.UBL)
    assert b"ACME GmbH" in reissued


def test_pay_3_the_receipt_carries_its_invoice_as_a_pdf(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    german_business(ledger, clock, language="nl")
    assert ledger.deliver_mail(_mailer(smtp)) == {"sent": 1}
    [mail] = smtp.inbox.received()
    [(name, data)] = _attachments(mail)
    assert name == "2019-000001.pdf"
    assert data == ledger.document("2019-000001", Rendering.PDF)


def test_inv_2_the_correction_sends_the_credit_note_and_the_new_invoice(
    ledger: Ledger, clock: SimulatedClock, smtp: SmtpServer
) -> None:
    account_id = german_business(ledger, clock)
    ledger.deliver_mail(_mailer(smtp))
    at(ledger, clock, "2019-01-05T00:00:00Z")
    ledger.execute(account_id, CorrectInvoice(company="ACME GmbH"))
    assert ledger.deliver_mail(_mailer(smtp)) == {"sent": 1}
    mail = smtp.inbox.received()[-1]
    assert mail["Subject"] == "Corrected invoice 2019-000002 replaces 2019-000001"
    names = [name for name, _ in _attachments(mail)]
    assert names == ["CN-2019-000001.pdf", "2019-000002.pdf"]
    # the notifications are the Terms' kinds alone: the correction is a mail of documents
    kinds = [n.kind.value for n in ledger.load(account_id).notifications]
    assert kinds == ["receipt"]


def test_the_api_answers_json_pdf_ubl_or_cii_by_accept_or_format(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    german_business(ledger, clock)
    tokens = {"finance": ApiToken(secret="f", scopes=[Permission.FINANCE_READ])}
    client = TestClient(create_app(ledger, tokens))
    auth = {"Authorization": "Bearer f"}
    as_json = client.get("/invoices/2019-000001", headers=auth)
    assert as_json.status_code == 200
    assert as_json.json()["number"] == "2019-000001"
    assert as_json.json()["vat_treatment"] == "reverse_charge"
    pdf = client.get("/invoices/2019-000001", headers=auth | {"Accept": "application/pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == ledger.document("2019-000001", Rendering.PDF)
    ubl = client.get("/invoices/2019-000001", headers=auth | {"Accept": "application/xml"})
    assert ubl.content == ledger.document("2019-000001", Rendering.UBL)
    cii = client.get("/invoices/2019-000001?format=cii", headers=auth)
    assert cii.content == ledger.document("2019-000001", Rendering.CII)
    missing = client.get("/invoices/2019-000099", headers=auth | {"Accept": "application/pdf"})
    assert (missing.status_code, missing.json()["code"]) == (404, "UNKNOWN_DOCUMENT")
    assert client.get("/invoices/2019-000001").status_code == 401


def test_the_cli_exports_a_month_and_checks_a_document(
    sqlite_store: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    try:
        account_id = german_business(ledger, clock)
        at(ledger, clock, "2019-01-05T00:00:00Z")
        ledger.execute(account_id, CorrectInvoice(company="ACME GmbH"))
        at(ledger, clock, "2019-02-02T00:00:00Z")  # the February renewal: not in January
        pdf = ledger.document("2019-000001", Rendering.PDF)
    finally:
        ledger.close()
    runner = CliRunner()
    out = tmp_path / "january"
    args = ["documents", "export", "--store", sqlite_store, "--format", "pdf"]
    exported = runner.invoke(
        cli_app, [*args, "--from", "2019-01-01", "--to", "2019-01-31", "--output", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == [
        "2019-000001.pdf",
        "2019-000002.pdf",
        "CN-2019-000001.pdf",
    ]
    assert (out / "2019-000001.pdf").read_bytes() == pdf
    checked = runner.invoke(
        cli_app, ["audit", "documents", "2019-000001", "--check", "--store", sqlite_store]
    )
    assert checked.exit_code == 0, checked.output
    assert '"matches": true' in checked.output
    shown = runner.invoke(cli_app, ["audit", "documents", "2019-000001", "--store", sqlite_store])
    assert shown.exit_code == 0, shown.output
    assert f'"pdf": "{hashlib.sha256(pdf).hexdigest()}"' in shown.output


def test_a_number_never_issued_has_no_document(mem_ledger: Ledger) -> None:
    with pytest.raises(DomainError) as refused:
        mem_ledger.document("2019-000001", Rendering.PDF)
    assert refused.value.code is ErrorCode.UNKNOWN_DOCUMENT


def test_the_language_a_document_was_issued_in_stays_its_language(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    """A document is rendered with what was recorded at its issue, not the account now."""
    account_id = german_business(mem_ledger, clock, language="pl")
    before = mem_ledger.document("2019-000001", Rendering.PDF)
    mem_ledger.execute(account_id, ChooseLanguage(language="bg"))
    assert mem_ledger.document("2019-000001", Rendering.PDF) == before


def _mailer(smtp: SmtpServer) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", smtp.port, security="none")


def _attachments(mail: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, Any]] = [
        (part.get_filename() or "", part.get_content()) for part in mail.iter_attachments()
    ]
    return [(name, bytes(data)) for name, data in found]


def test_a_document_asked_for_before_the_follower_came_to_it_is_issued_once(
    mem_ledger: Ledger, clock: SimulatedClock
) -> None:
    account_id = german_business(mem_ledger, clock, documented=False)
    pdf = mem_ledger.document("2019-000001", Rendering.PDF)
    recorded = mem_ledger.load(account_id).documents["2019-000001"]
    assert recorded.sha256[Rendering.PDF] == hashlib.sha256(pdf).hexdigest()
    assert mem_ledger.issue_documents() == 0
    mem_ledger.document("2019-000001", Rendering.UBL)
    events = list(mem_ledger.store.events.get(account_id))
    assert sum(isinstance(e, Account.DocumentIssued) for e in events) == 1


def test_racing_followers_record_each_document_once(
    store: str, clock: SimulatedClock, gateway: SandboxGateway
) -> None:
    """Two processes' followers over one store, started together: every invoice gets one
    DocumentIssued, whoever rendered it."""
    ledgers = [Ledger(Settings(store=store), clock=clock, gateway=gateway) for _ in range(2)]
    try:
        accounts = [german_business(ledgers[0], clock, documented=False) for _ in range(4)]
        start = Barrier(len(ledgers))

        def follow(ledger: Ledger) -> int:
            start.wait()
            return ledger.issue_documents()

        with ThreadPoolExecutor(len(ledgers)) as pool:
            done = list(pool.map(follow, ledgers))
        assert sum(done) >= 4
        for account_id in accounts:
            events = list(ledgers[1].store.events.get(account_id))
            issued = [e.document.number for e in events if isinstance(e, Account.DocumentIssued)]
            assert len(issued) == len(set(issued)) == 1
        assert ledgers[1].verify().ok
    finally:
        for ledger in ledgers:
            ledger.close()


def test_a_renderer_that_fails_for_one_account_stops_no_other(
    mem_ledger: Ledger, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = german_business(mem_ledger, clock, documented=False)
    second = german_business(mem_ledger, clock, language="pl", documented=False)
    real = documents.issue

    def failing(invoice: Any, **facts: Any) -> Any:
        if facts["language"] == "pl":
            raise RuntimeError("a renderer's bug")
        return real(invoice, **facts)

    monkeypatch.setattr(documents, "issue", failing)
    assert mem_ledger.issue_documents() == 1
    assert list(mem_ledger.load(first).documents) == ["2019-000001"]
    assert mem_ledger.load(second).documents == {}
    monkeypatch.undo()
    assert mem_ledger.document("2019-000002", Rendering.PDF).startswith(b"%PDF")


def test_gdpr_5_a_document_whose_billing_details_were_erased_is_gone_and_says_so() -> None:
    """Ten years on, the billing records' key is destroyed (GDPR-5): the invoice keeps its
    amounts and its recorded digests, but its buyer can no longer be named, so its
    document is refused with 410 rather than rendered without one."""
    story = Path(__file__).parents[1] / "scenarios" / "erasure-under-statutory-hold.yaml"
    answers: list[tuple[int, str]] = []

    def inspect(ledger: Ledger) -> None:
        tokens = {"finance": ApiToken(secret="f", scopes=[Permission.FINANCE_READ])}
        client = TestClient(create_app(ledger, tokens))
        pdf = {"Authorization": "Bearer f", "Accept": "application/pdf"}
        refused = client.get("/invoices/2025-000001", headers=pdf)
        answers.append((refused.status_code, refused.json()["code"]))
        as_json = client.get("/invoices/2025-000001", headers={"Authorization": "Bearer f"})
        answers.append((as_json.status_code, as_json.json()["total"]))

    assert run_file(story, inspect=inspect).failures == []
    assert answers == [(410, "DOCUMENT_ERASED"), (200, {"amount": "30.00", "currency": "USD"})]


def test_gdpr_5_the_export_names_the_documents_it_can_no_longer_write(
    sqlite_store: str, tmp_path: Path
) -> None:
    story = Path(__file__).parents[1] / "scenarios" / "erasure-under-statutory-hold.yaml"
    out = tmp_path / "ubl"
    outputs: list[str] = []

    def export(ledger: Ledger) -> None:
        store = ledger.settings.store
        args = ["documents", "export", "--store", store, "--format", "ubl", "--output"]
        result = CliRunner().invoke(cli_app, [*args, str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    assert run_file(story, store=sqlite_store, inspect=export).failures == []
    [output] = outputs
    assert "0 documents written" in output
    assert "2 not written, their billing details erased: 2025-000001, 2025-000002" in output
    assert list(out.iterdir()) == []
