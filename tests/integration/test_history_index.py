"""Point-in-time reads start from the history index's checkpoints (projections.history):
they must give exactly what folding the whole history gives (TIME-2), whatever the order of
recording and effect, and forget what an erasure made unreadable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import projections.history
from adapters.clock import SimulatedClock
from app import Ledger
from domain.account import Account
from domain.commands import RecordActivity, RequestErasure
from domain.model import Aggregate, as_known
from settings import Settings
from tests.helpers import consent, open_account

START = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
# Mostly in order (effective near the recording), now and then backdated or ahead.
EFFECTS = st.one_of(st.integers(-2, 2), st.integers(-200, 200))
INSTANTS = st.integers(-10, 60)  # hours after START


def folded_whole(
    ledger: Ledger, aggregate_id: UUID, *, as_of: datetime | None, known_at: datetime | None
) -> Aggregate | None:
    stored = ledger.store.recorder.select_events(aggregate_id)
    return as_known((ledger.store.event(s) for s in stored), as_of=as_of, known_at=known_at)


def dumped(found: Aggregate | None) -> object:
    return None if found is None else found.model_dump()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    effects=st.lists(EFFECTS, min_size=1, max_size=40),
    queries=st.lists(st.tuples(INSTANTS, INSTANTS), min_size=1, max_size=8),
)
def test_time_2_a_read_from_checkpoints_equals_the_whole_fold(
    effects: list[int], queries: list[tuple[int, int]]
) -> None:
    """Events effective before, at and after their recording (backdated or ahead), a
    checkpoint every 4 events: every (as_of, known_at) read, including ones between reads
    that extended the index, equals folding the whole history."""
    chunk = projections.history.CHUNK
    projections.history.CHUNK = 4
    clock = SimulatedClock(START)
    ledger = Ledger(Settings(store="memory://"), clock=clock)
    try:
        account_id = open_account(ledger)
        for n, hours in enumerate(effects):
            clock.set(START + timedelta(hours=n + 1))
            account = ledger.store.aggregate(account_id)
            assert isinstance(account, Account)
            account.record_activity(START + timedelta(hours=n + 1 + hours))
            ledger.store.save(account)
            if n % 7 == 0:  # a read between writes: the index is extended, not rebuilt
                ledger.history.as_known(account_id, as_of=None, known_at=clock.now())
        for as_of_hours, known_hours in queries:
            as_of = START + timedelta(hours=as_of_hours)
            for known_at in (START + timedelta(hours=known_hours), None):
                expected = dumped(folded_whole(ledger, account_id, as_of=as_of, known_at=known_at))
                found = ledger.history.as_known(account_id, as_of=as_of, known_at=known_at)
                assert dumped(found) == expected
    finally:
        ledger.close()
        projections.history.CHUNK = chunk


def test_time_2_a_long_history_reads_only_the_chunk_around_the_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once indexed, a read as of an instant in the middle of 640 in-order events decodes at
    most one chunk of them from the store."""
    clock = SimulatedClock(START)
    ledger = Ledger(Settings(store="memory://"), clock=clock)
    try:
        account_id = open_account(ledger)
        for n in range(640):
            clock.set(START + timedelta(minutes=n + 1))
            ledger.execute(account_id, RecordActivity())
        middle = START + timedelta(minutes=300, seconds=30)
        expected = dumped(folded_whole(ledger, account_id, as_of=middle, known_at=None))
        ledger.history.as_known(account_id, as_of=None, known_at=None)  # index it
        decoded = []
        event = ledger.store.event

        def counting(stored: object) -> object:
            decoded.append(stored)
            return event(stored)  # type: ignore[arg-type]

        monkeypatch.setattr(ledger.store, "event", counting)
        found = ledger.history.as_known(account_id, as_of=middle, known_at=None)
        assert dumped(found) == expected
        assert len(decoded) <= projections.history.CHUNK
    finally:
        ledger.close()


def test_gdpr_4_an_erasure_drops_what_the_index_held(
    ledger: Ledger, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A point-in-time read before the erasure held the subject's name in memory (a
    checkpoint after every event); after the erasure is recorded, the same read finds it
    unreadable, as a fold from the store would."""
    monkeypatch.setattr(projections.history, "CHUNK", 1)
    lena = consent(ledger, ["marketing"], email="lena@lead.example", name="Lena Lead")
    when = ledger.now()
    assert ledger.subject(lena, as_of=when)["email"] == "lena@lead.example"
    clock.set(when + timedelta(hours=1))
    ledger.subject_request(lena, RequestErasure())
    again = ledger.subject(lena, as_of=when)
    assert again["email"] is None and again["name"] is None
