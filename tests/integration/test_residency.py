"""Residency and sub-processors, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from api import create_app
from app import Ledger
from cli import app as cli_app
from cli import banner
from domain.commands import (
    AddPaymentMethod,
    AddSeats,
    Cancel,
    CorrectInvoice,
    DisengageSubprocessor,
    EngageSubprocessor,
)
from domain.errors import DomainError, ErrorCode
from domain.residency import SubprocessorList
from projections.reports import REPORTS, combined, report_document, report_of
from settings import Settings
from tests.e2e.test_api import FINANCE, TOKENS
from tests.helpers import at, event_count, open_account


def test_res_1_the_list_changes_only_by_recorded_events_and_answers_by_date(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    """RES-1: each sub-processor with the regions it serves; sorted by name."""
    at(ledger, clock, "2025-01-10T09:00:00Z")
    eu = open_account(ledger, company="Euro", country="SK", currency="EUR")
    us = open_account(ledger, company="Yankee")
    ledger.engage_subprocessor(
        EngageSubprocessor(name="Hetzner Online GmbH", regions=["EU"], from_day="2025-03-01")
    )
    ledger.disengage_subprocessor(
        DisengageSubprocessor(name="Linode LLC (EU)", until_day="2025-06-01")
    )
    with pytest.raises(DomainError) as refused:
        ledger.engage_subprocessor(
            EngageSubprocessor.parse(
                {"name": "Mars Hosting", "regions": ["MARS"], "from_day": "2025-03-01"}
            )
        )
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert "Hetzner Online GmbH" not in ledger.subprocessors(eu, "2025-02-28")
    assert "Hetzner Online GmbH" in ledger.subprocessors(eu, "2025-03-01")
    assert "Hetzner Online GmbH" not in ledger.subprocessors(us, "2025-03-01")
    assert "Linode LLC (EU)" in ledger.subprocessors(eu, "2025-05-31")
    assert "Linode LLC (EU)" not in ledger.subprocessors(eu, "2025-06-01")
    assert ledger.subprocessors(us, "2025-06-01") == sorted(ledger.subprocessors(us, "2025-06-01"))
    changes = [type(e).__name__ for e in ledger.events() if e.originator_id == SubprocessorList.ID]
    assert changes == ["Seeded", "Engaged", "Disengaged"]


@pytest.fixture
def eu_ledger(store: str, clock: SimulatedClock, gateway: SandboxGateway) -> Iterator[Ledger]:
    """The ledger of a store that keeps region EU's data only (SEATLEDGER_REGION=EU)."""
    found = Ledger(Settings(store=store, region="EU"), clock=clock, gateway=gateway)
    yield found
    found.close()


def test_inv_1_and_res_1_a_regions_ledger_numbers_its_own_series_and_takes_its_accounts_only(
    eu_ledger: Ledger, clock: SimulatedClock
) -> None:
    at(eu_ledger, clock, "2025-01-15T10:00:00Z")
    nova = open_account(eu_ledger, company="Nova SARL", country="FR", currency="EUR")
    eu_ledger.execute(nova, AddPaymentMethod(kind="card", token="tok"))
    at(eu_ledger, clock, "2025-01-29T10:00:00Z")
    eu_ledger.execute(nova, CorrectInvoice(company="Nova Research SARL"))
    assert [(d["number"], d["kind"]) for d in eu_ledger.invoices(nova)] == [
        ("EU-2025-000001", "invoice"),
        ("CN-EU-2025-000001", "credit_note"),
        ("EU-2025-000002", "invoice"),
    ]
    assert eu_ledger.invoice("CN-EU-2025-000001")["credits"] == "EU-2025-000001"
    # RES-1: an account of the US is not kept here, and nothing of it is recorded
    before = event_count(eu_ledger)
    with pytest.raises(DomainError) as refused:
        open_account(eu_ledger, company="Yankee", country="US")
    assert (refused.value.code, refused.value.errors[0].field) == (
        ErrorCode.INVALID_INPUT,
        "region",
    )
    with pytest.raises(DomainError):
        open_account(eu_ledger, company="Explicit", country="FR", region="US")
    assert event_count(eu_ledger) == before
    # the number is served over HTTP, as JSON and as a document
    client = TestClient(create_app(eu_ledger, TOKENS))
    found = client.get("/invoices/EU-2025-000002", headers=FINANCE)
    assert (found.status_code, found.json()["account"]) == (200, str(nova))
    ubl = client.get("/invoices/CN-EU-2025-000001?format=ubl", headers=FINANCE)
    assert ubl.status_code == 200 and b"CN-EU-2025-000001" in ubl.content


def test_res_1_the_service_says_which_regions_data_its_store_keeps() -> None:
    regional = banner(Settings(store="memory://", region="EU"), "http://127.0.0.1:8000", None)
    assert "this store keeps region EU's data only (RES-1)" in regional
    every = banner(Settings(store="memory://"), "http://127.0.0.1:8000", None)
    assert not any("region" in line for line in every)


def story(place: Callable[[str], tuple[Ledger, SimulatedClock]]) -> None:
    """One history of an EU and a US customer, told to whichever ledger keeps each region:
    one store for both, or a store per region, each with its own clock."""
    ledgers = {id(place(r)[0]): place(r) for r in ("EU", "US")}

    def when(instant: str) -> None:
        for ledger, clock in ledgers.values():
            at(ledger, clock, instant)

    eu, us = place("EU")[0], place("US")[0]
    when("2025-01-10T09:00:00Z")
    nova = open_account(eu, company="Nova SARL", country="FR", currency="EUR", plan="ticket")
    acme = open_account(us, company="ACME", cycle="annual", seats=2)
    eu.execute(nova, AddPaymentMethod(kind="card", token="tok_nova"))
    us.execute(acme, AddPaymentMethod(kind="card", token="tok_acme"))
    when("2025-01-20T09:00:00Z")
    eu.execute(nova, CorrectInvoice(company="Nova Research SARL"))
    when("2025-02-20T09:00:00Z")
    eu.execute(nova, AddSeats(count=2))
    us.execute(acme, AddSeats(count=1))  # BILL-4: prorated at once
    when("2025-04-02T09:00:00Z")
    eu.execute(nova, Cancel(via="button"))
    when("2025-06-01T00:00:00Z")


def test_res_1_reports_over_a_store_per_region_equal_the_one_stores(tmp_path: Path) -> None:
    """The same history on one store and on a store per region: every report of every
    month, over both regions' stores combined, is the one store's, but for the numbers,
    which each region's own series gives (INV-1)."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    one_clock = SimulatedClock(start)
    one = Ledger(Settings(store=f"sqlite:///{tmp_path}/one.db"), clock=one_clock)
    clocks = {region: SimulatedClock(start) for region in ("EU", "US")}
    regional = {
        region: Ledger(
            Settings(store=f"sqlite:///{tmp_path}/{region.lower()}.db", region=region),
            clock=clock,
        )
        for region, clock in clocks.items()
    }
    try:
        story(lambda region: (one, one_clock))
        story(lambda region: (regional[region], clocks[region]))
        both = combined([ledger.facts() for ledger in regional.values()])
        alone = one.facts()
        numbered = ("number", "credits")
        for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05"):
            for name in REPORTS:
                mine = report_document(report_of(both, name, month))
                theirs = report_document(report_of(alone, name, month))
                if name == "invoices":
                    for document in (mine, theirs):
                        document["rows"] = sorted(
                            json.dumps({k: v for k, v in r.items() if k not in numbered})
                            for r in document["rows"]
                        )
                assert mine == theirs, (name, month)
        issued = [
            r
            for m in ("2025-01", "2025-02", "2025-03")
            for r in report_of(both, "invoices", m).rows
        ]
        assert len(issued) >= 6  # both customers' invoices, the credit note and the reissue
        assert {row[3] for row in issued} == {"EUR", "USD"}
        assert report_of(both, "mrr", "2025-03").rows  # something to compare, in the end
        eu_numbers = [i["number"] for i in regional["EU"].invoices(regional["EU"].account_ids()[0])]
        assert eu_numbers[:3] == ["EU-2025-000001", "CN-EU-2025-000001", "EU-2025-000002"]
        assert report_of(both, "trial_balance", "2025-05").summary["balanced"] is True
        # the command line: one --store per region, the same report
        stores = [f"--store=sqlite:///{tmp_path}/{region}.db" for region in ("eu", "us")]
        printed = CliRunner().invoke(
            cli_app, ["report", "mrr", "--month", "2025-03", "--format", "json", *stores]
        )
        assert printed.exit_code == 0, printed.output
        assert json.loads(printed.output) == report_document(report_of(both, "mrr", "2025-03"))
    finally:
        one.close()
        for ledger in regional.values():
            ledger.close()
