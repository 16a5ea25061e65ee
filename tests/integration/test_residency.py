"""Residency and sub-processors, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from api import create_app
from app import Ledger
from cli import banner
from domain.commands import (
    AddPaymentMethod,
    CorrectInvoice,
    DisengageSubprocessor,
    EngageSubprocessor,
)
from domain.errors import DomainError, ErrorCode
from domain.residency import SubprocessorList
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
