"""Residency and sub-processors, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from adapters.clock import SimulatedClock
from app import Ledger
from domain.commands import DisengageSubprocessor, EngageSubprocessor
from domain.errors import DomainError, ErrorCode
from domain.residency import SubprocessorList
from tests.helpers import at, open_account


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
