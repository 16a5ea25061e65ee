"""Every document the ledger issues is a valid EN 16931 e-invoice: the invoices and credit
notes of every public scenario, of our own, and of a simulated year (EU and non-EU, VAT IDs,
prorations, lifetime deals, corrections) pass the official rules in ../shared/einvoicing/:
the UBL 2.1 XSD, the CEN rules for UBL, the Peppol BIS Billing 3.0 rules for every document
whose buyer has an electronic address, and the CEN rules for CII with the Factur-X XSD.

The simulated year is a sample (SIMULATED_ACCOUNTS) small enough for every `make test`;
README, Documents, shows the same check on a few hundred accounts."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import facturx
import pytest
from lxml import etree

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.documents import Rendering
from domain.errors import DomainError, ErrorCode
from scenario import run_file
from settings import Settings
from simulation import DEFAULT_START, simulate
from tests.e2e.test_scenarios import FILES

VALIDATE = Path(__file__).resolve().parents[3] / "shared" / "einvoicing" / "validate.py"
SIMULATED_ACCOUNTS = 20
SIMULATED_MONTHS = 12
BUYER_ENDPOINT = (
    ".//{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
    "AccountingCustomerParty//"
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}EndpointID"
)


def _export(ledger: Ledger, *, folder: Path, prefix: str) -> None:
    """Every document issued, as the export writes it; one whose buyer was erased
    (GDPR-4) has no document to validate."""
    for number, rendered in ledger.issued_documents():
        for rendering in (Rendering.UBL, Rendering.CII):
            try:
                data = rendered(rendering)
            except DomainError as refused:
                assert refused.code is ErrorCode.DOCUMENT_ERASED
                continue
            (folder / rendering.value / f"{prefix}{number}.xml").write_bytes(data)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("einvoices")
    (folder / "ubl").mkdir()
    (folder / "cii").mkdir()
    for path in FILES:
        exporter = functools.partial(_export, folder=folder, prefix=f"{path.stem}_")
        assert run_file(path, inspect=exporter).failures == []
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store="memory://"), clock=clock, gateway=SandboxGateway())
    try:
        simulate(ledger, clock, accounts=SIMULATED_ACCOUNTS, months=SIMULATED_MONTHS, seed=7)
        _export(ledger, folder=folder, prefix="simulated_")
    finally:
        ledger.close()
    return folder


def _validate(files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATE), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_corpus_holds_every_kind_of_document(corpus: Path) -> None:
    """The sample is worth validating: invoices and credit notes, each VAT category
    (INV-4: S, AE, O), BILL-4 prorations, LTD-5 seat-days, buyers on Peppol and not."""
    kinds: Counter[str] = Counter()
    for path in (corpus / "ubl").iterdir():
        tree = etree.parse(str(path))
        root = etree.QName(tree.getroot()).localname
        kinds[root] += 1
        kinds["peppol" if tree.findall(BUYER_ENDPOINT) else "not-peppol"] += 1
        text = path.read_bytes()
        for category in (b"S", b"AE", b"O"):
            if b"<cbc:ID>" + category + b"</cbc:ID>" in text:
                kinds[f"category {category.decode()}"] += 1
        for unit in (b'unitCode="DAY"', b'unitCode="C62"'):
            if unit in text:
                kinds[unit.decode()] += 1
    for wanted in (
        "Invoice",
        "CreditNote",
        "peppol",
        "not-peppol",
        "category S",
        "category AE",
        "category O",
        'unitCode="DAY"',
    ):
        assert kinds[wanted] > 0, (wanted, kinds)


def test_every_ubl_document_passes_the_xsd_the_cen_and_the_peppol_rules(corpus: Path) -> None:
    files = sorted((corpus / "ubl").iterdir())
    result = _validate(files)
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert last == f"{len(files)} passed, 0 failed"


def test_every_cii_document_passes_the_cen_rules_and_the_factur_x_xsd(corpus: Path) -> None:
    files = sorted((corpus / "cii").iterdir())
    for path in files:
        assert facturx.xml_check_xsd(path.read_bytes(), flavor="factur-x", level="en16931")
    result = _validate(files)
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert last == f"{len(files)} passed, 0 failed"
