"""The UBL and CII renderings of each kind of document the ledger issues, judged by the
official rules in ../shared/einvoicing/ (XSD, CEN EN 16931, Peppol BIS Billing 3.0), and the
facts the rules leave to us: which electronic address and VAT identifiers each party shows,
the exemption a reverse charge or a supply outside the EU names, and the invoice a credit
note reverses (BT-25)."""

from __future__ import annotations

import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree

from adapters.documents import cii, ubl
from domain.documents import Document
from domain.invoicing import Language
from tests.sample_documents import documents

VALIDATE = Path(__file__).resolve().parents[3] / "shared" / "einvoicing" / "validate.py"
NS = {"cac": ubl.CAC, "cbc": ubl.CBC, "ram": cii.RAM, "rsm": cii.RSM}


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATE), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def _ubl(document: Document) -> etree._Element:
    return etree.fromstring(ubl.render(document))


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_every_sample_passes_the_official_rules_in_each_language(tmp_path: Path) -> None:
    files = []
    for language in (Language.EN, Language.BG):
        for name, document in documents(language).items():
            stem = f"{name}-{language.value}"
            files.append(_write(tmp_path, f"{stem}.ubl.xml", ubl.render(document)))
            files.append(_write(tmp_path, f"{stem}.cii.xml", cii.render(document)))
            assert facturx.xml_check_xsd(cii.render(document), flavor="factur-x", level="en16931")
    result = _validate(*files)
    assert result.returncode == 0, result.stdout[-4000:]
    assert result.stdout.strip().splitlines()[-1] == f"{len(files)} passed, 0 failed"


def test_the_validator_catches_a_line_that_does_not_multiply_to_its_amount(
    tmp_path: Path,
) -> None:
    """The rules bite: a price that does not give the line amount breaks Peppol R120."""
    text = ubl.render(documents()["sk-business"]).replace(
        b'<cbc:PriceAmount currencyID="EUR">39.00</cbc:PriceAmount>',
        b'<cbc:PriceAmount currencyID="EUR">38.00</cbc:PriceAmount>',
    )
    result = _validate(_write(tmp_path, "broken.xml", text))
    assert result.returncode != 0
    assert "PEPPOL-EN16931-R120" in result.stdout


def test_a_slovak_business_is_addressed_by_its_dic_with_scheme_0245() -> None:
    root = _ubl(documents()["sk-business"])
    seller, buyer = root.findall(".//cac:Party/cbc:EndpointID", NS)
    assert (seller.get("schemeID"), seller.text) == ("0245", "2020273893")
    assert (buyer.get("schemeID"), buyer.text) == ("0245", "2120046819")
    assert root.findtext("cac:AccountingCustomerParty//cbc:StreetName", namespaces=NS)


def test_a_buyer_s_own_participant_id_wins_over_one_derived_from_its_vat_id() -> None:
    root = _ubl(documents()["given-address"])
    endpoint = root.find("cac:AccountingCustomerParty//cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("0106", "12345678")


def test_a_consumer_is_not_on_peppol_and_still_gets_an_en_16931_document() -> None:
    document = documents()["de-consumer"]
    assert not document.on_peppol
    root = _ubl(document)
    assert root.find("cac:AccountingCustomerParty//cbc:EndpointID", NS) is None
    assert root.findtext(".//cac:TaxSubtotal/cac:TaxCategory/cbc:ID", namespaces=NS) == "S"


@pytest.mark.parametrize(
    ("name", "buyer_vat_id"),
    [
        ("de-reverse-charge", "DE136695976"),
        ("bill-4-proration", "DE136695976"),
        ("ltd-5-seat-days", "FR40303265045"),
    ],
)
def test_br_ae_a_reverse_charge_names_both_vat_ids_and_its_exemption(
    name: str, buyer_vat_id: str
) -> None:
    root = _ubl(documents(Language.NL)[name])
    ids = root.findall(".//cac:PartyTaxScheme/cbc:CompanyID", NS)
    assert [i.text for i in ids] == ["SK2020273893", buyer_vat_id]
    category = root.find(".//cac:TaxSubtotal/cac:TaxCategory", NS)
    assert category.findtext("cbc:ID", namespaces=NS) == "AE"
    assert category.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == "VATEX-EU-AE"
    assert "Btw verlegd" in category.findtext("cbc:TaxExemptionReason", namespaces=NS)
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS) == "0.00"


def test_br_o_a_supply_outside_the_eu_names_no_vat_id_and_no_rate() -> None:
    root = _ubl(documents()["us-not-subject"])
    assert root.findall(".//cac:PartyTaxScheme", NS) == []
    assert root.findall(".//cac:ClassifiedTaxCategory/cbc:Percent", NS) == []
    category = root.find(".//cac:TaxSubtotal/cac:TaxCategory", NS)
    assert category.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == "VATEX-EU-O"
    assert root.findtext("cbc:DocumentCurrencyCode", namespaces=NS) == "USD"


def test_r120_prorations_and_seat_days_multiply_to_their_amounts() -> None:
    for name in ("bill-4-proration", "ltd-5-seat-days"):
        line = _ubl(documents()[name]).find("cac:InvoiceLine", NS)
        quantity = line.find("cbc:InvoicedQuantity", NS)
        assert quantity.get("unitCode") == "DAY"
        price = line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS)
        base = line.findtext("cac:Price/cbc:BaseQuantity", namespaces=NS)
        amount = line.findtext("cbc:LineExtensionAmount", namespaces=NS)
        exact = Decimal(quantity.text) * Decimal(price) / Decimal(base)
        assert exact.quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(amount)


def test_bt_25_a_credit_note_references_the_invoice_it_reverses_in_both_syntaxes() -> None:
    document = documents()["credit-note"]
    root = _ubl(document)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    reference = "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
    assert root.findtext(reference, namespaces=NS) == "2025-000001"
    assert root.find("cac:CreditNoteLine/cbc:CreditedQuantity", NS) is not None
    tree = etree.fromstring(cii.render(document))
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    cited = tree.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NS)
    assert cited == "2025-000001"
