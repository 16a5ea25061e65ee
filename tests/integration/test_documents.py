"""The documents generated from the code (docs/EVENTS.md, docs/TRACEABILITY.md) are up to
date, and every rule of TERMS.md has code that names it and a test that names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import adapters.generated_docs as documents
from adapters.generated_docs import ROOT, STORIES, TERMS, gaps, generated, rules, traces
from cli import app as cli_app
from domain.account import Account


def test_the_generated_documents_are_up_to_date() -> None:
    for path, text in generated().items():
        assert path.exists(), f"{path.name} is missing: run seatledger audit docs"
        assert path.read_text() == text, f"{path.name} is out of date: run seatledger audit docs"


def test_every_rule_of_terms_has_code_and_a_test() -> None:
    found = traces(ROOT, TERMS, STORIES)
    assert len(found) == len(rules(TERMS)) >= 50
    assert gaps(found) == []
    bill_4 = next(t for t in found if t.rule.id == "BILL-4")
    assert any(place.startswith("domain/billing.py::Billing.") for place in bill_4.code)
    assert any("test_bill_4_" in place for place in bill_4.tests)
    assert "shared/scenarios/annual-upgrade-is-prorated.yaml" in bill_4.stories


def test_a_rule_that_nothing_names_is_a_gap(tmp_path: Path) -> None:
    terms = tmp_path / "TERMS.md"
    terms.write_text(TERMS.read_text() + "\n- **ZZZ-9** A rule nobody has written yet.\n")
    found = traces(ROOT, terms, STORIES)
    assert gaps(found) == ["ZZZ-9: no code in domain/ names it", "ZZZ-9: no test names it"]
    assert "| **ZZZ-9** A rule nobody has written yet. | **missing** | **missing** | — |" in (
        documents.traceability_matrix(found)
    )


def test_the_event_catalog_lists_every_recorded_event_with_its_version() -> None:
    catalog = documents.event_catalog()
    assert "### Account.InvoiceIssued — version 3" in catalog
    assert "### Account.SeatsAdded — version 1" in catalog
    assert "### LogSeal.Checkpointed — version 1" in catalog
    assert "| `owner` | `Person` | profile |" in catalog  # personal, sealed under its scope
    assert "### Account.AccountEvent" not in catalog  # a base, never recorded itself
    recorded = [
        name
        for name, value in vars(Account).items()
        if isinstance(value, type) and name in {"Opened", "Cancelled", "PoolClosed"}
    ]
    assert all(f"### Account.{name} —" in catalog for name in recorded)


def test_audit_docs_check_fails_on_a_stale_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["audit", "docs", "--check"]).exit_code == 0
    stale = tmp_path / "EVENTS.md"
    stale.write_text("# Event catalog\n\nan old one\n")
    monkeypatch.setattr(documents, "EVENTS_DOC", stale)
    checked = runner.invoke(cli_app, ["audit", "docs", "--check"])
    assert checked.exit_code == 1
    assert "out of date: EVENTS.md" in checked.output
