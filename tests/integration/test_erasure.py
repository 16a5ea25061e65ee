"""Erasure by crypto-shredding (GDPR-4) and the statutory hold (GDPR-5), proved on the stored
bytes of SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from threading import Barrier
from urllib.parse import parse_qs, urlparse
from uuid import UUID, uuid4

import psycopg
import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from adapters.keys import TABLE as KEYS_TABLE
from adapters.keys import EventSealer, MemoryKeyStore, lookup
from app import Ledger
from domain.commands import (
    AddPaymentMethod,
    Cancel,
    RequestErasure,
    SetBillingDetails,
    WithdrawConsent,
)
from domain.personal import Scope
from domain.subjects import Purpose
from settings import Settings
from tests.helpers import at, consent, event_count, open_account, pg_schema, totals
from tests.ledgers import utc

OWNER_NAME = "Ada Erasable"
OWNER_EMAIL = "ada.erasable@acme.example"
LEAD_EMAIL = "lena.lead@prospect.example"
LEAD_NAME = "Lena Leadbetter"
STREET = "Shredder Street 42"
AGENT_LOGIN = "agent.shared@acme.example"
PLAINTEXTS = tuple(
    text.encode() for text in (OWNER_NAME, OWNER_EMAIL, LEAD_EMAIL, LEAD_NAME, STREET, AGENT_LOGIN)
)
THREADS = 8
PURGE_WAIT_S = 30


def stored_bytes(store: str) -> bytes:
    """Every byte the store holds: SQLite's database file and write-ahead log; every page of
    every table, index and TOAST table of the PostgreSQL schema, dead tuples included."""
    parsed = urlparse(store)
    if parsed.scheme == "sqlite":
        path = Path(store[len("sqlite:///") :])
        files = (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
        return b"".join(p.read_bytes() for p in files if p.exists())
    schema = parse_qs(parsed.query)["schema"][0]
    pages = []
    with psycopg.connect(store.split("?")[0], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        relations = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'i') "
            "UNION ALL SELECT t.oid::regclass::text FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = c.reltoastrelid "
            "WHERE n.nspname = %s",
            (schema, schema),
        ).fetchall()
        assert relations, "the scan found no tables"
        for (name,) in relations:
            size = conn.execute(
                "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
                (name,),
            ).fetchone()
            assert size is not None
            for block in range(int(size[0])):
                page = conn.execute("SELECT get_raw_page(%s, %s)", (name, block)).fetchone()
                assert page is not None
                pages.append(bytes(page[0]))
    return b"".join(pages)


def purged(ledger: Ledger, clock: SimulatedClock, *subjects: UUID) -> None:
    """Runs the scheduler until these subjects' erasures are purged from the storage: at
    once, unless a session of the database (autovacuum's too) briefly holds a snapshot
    old enough to keep them pending."""
    deadline = time.monotonic() + PURGE_WAIT_S
    while any(ledger.subject(s)["erasure_pending"] for s in subjects):
        assert time.monotonic() < deadline, "the erasure stayed pending"
        time.sleep(0.1)
        ledger.run_due(clock.now())


def customer_and_lead(ledger: Ledger, clock: SimulatedClock) -> tuple[UUID, UUID, UUID]:
    """An account whose owner Ada is a data subject, and Lena, a lead: their ids."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    account = open_account(
        ledger, owner_name=OWNER_NAME, owner_email=OWNER_EMAIL, company="Acme", seats=2
    )
    ledger.execute(
        account,
        SetBillingDetails(
            name=OWNER_NAME,
            company="Acme",
            email=OWNER_EMAIL,
            address={
                "street": STREET,
                "city": "Boston",
                "postal_code": "02110",
                "state": "MA",
                "country": "US",
            },
        ),
    )
    ledger.execute(account, AddPaymentMethod(kind="card", token="tok_acme"))
    ada = consent(ledger, ["marketing"], email=OWNER_EMAIL, name=OWNER_NAME, account=account)
    lena = consent(ledger, ["marketing"], email=LEAD_EMAIL, name=LEAD_NAME)
    at(ledger, clock, "2025-03-15T00:00:00Z")
    return account, ada, lena


def test_gdpr_4_erased_keys_and_plaintext_are_gone_from_the_stored_bytes(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    """GDPR-4: personal fields are stored sealed; erasure destroys the key and the look-up
    from the subject's address, and neither key, look-up nor plaintext survives in the
    database. GDPR-5: the billing key outlives the request until the statutory period
    ends; every amount stays as it was."""
    account, ada, lena = customer_and_lead(ledger, clock)
    keys = ledger.store.keys
    now = clock.now()
    lead_key = keys.current(lena, Scope.SUBJECT, now)[1]
    owner_key = keys.current(ada, Scope.SUBJECT, now)[1]
    profile_key = keys.current(account, Scope.PROFILE, now)[1]
    billing_key = keys.current(account, Scope.BILLING, now)[1]
    content_key = keys.current(account, Scope.CONTENT, now)[1]
    lookups = (lookup(LEAD_EMAIL), lookup(OWNER_EMAIL))
    before = stored_bytes(store)
    for secret in (lead_key, owner_key, profile_key, billing_key, content_key, *lookups):
        assert secret in before, "the scan must see the key tables, or it proves nothing"
    for plain in PLAINTEXTS:
        assert plain not in before, f"{plain!r} was stored in clear"
    amounts = totals(ledger, account)

    at(ledger, clock, "2025-03-20T00:00:00Z")
    ledger.subject_request(lena, RequestErasure())
    ledger.subject_request(ada, RequestErasure())

    purged(ledger, clock, lena, ada)
    after = stored_bytes(store)
    for secret in (lead_key, owner_key, profile_key, *lookups):
        assert secret not in after
    assert billing_key in after  # GDPR-5: invoices keep their billing details for now
    assert content_key in after  # the agents' logins are not the owner's data
    replayed = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    try:
        lead = replayed.subject(lena)
        assert (lead["name"], lead["email"], lead["erased"]) == (None, None, True)
        assert replayed.subject(ada)["name"] is None
        assert replayed.load(account).owner is None
        assert {n["to"] for n in replayed.notifications(account)} == {None}
        assert totals(replayed, account) == amounts
        assert {i["billed_to"]["name"] for i in replayed.invoices(account)} == {OWNER_NAME}
        assert replayed.ledger()["balanced"] is True
    finally:
        replayed.close()

    ledger.execute(account, Cancel(via="button"))
    at(ledger, clock, "2036-01-01T00:00:00Z")
    assert ledger.load(account).erased_scopes == [Scope.BILLING, Scope.CONTENT, Scope.PROFILE]
    purged(ledger, clock, ada)
    final = stored_bytes(store)
    assert billing_key not in final
    assert content_key not in final
    assert {i["billed_to"] for i in ledger.invoices(account)} == {None}
    assert totals(ledger, account)[: len(amounts)] == amounts
    done = event_count(ledger)
    assert ledger.run_due(clock.now()) == 0
    assert event_count(ledger) == done


def test_gdpr_4_a_sealed_field_opens_only_in_its_own_event() -> None:
    """GDPR-4: the event's identity is bound into the seal, so a ciphertext copied into
    another event (or another holder's) is refused, not silently opened."""
    keys = MemoryKeyStore()
    holder = uuid4()
    now = utc("2025-01-01T00:00:00Z")
    envelope = EventSealer(keys, holder, 1, now).seal(Scope.SUBJECT, {"email": LEAD_EMAIL})
    assert EventSealer(keys, holder, 1, now).unseal(Scope.SUBJECT, envelope) == {
        "email": LEAD_EMAIL
    }
    with pytest.raises(ValueError, match="does not belong"):
        EventSealer(keys, holder, 2, now).unseal(Scope.SUBJECT, envelope)
    keys.shred(holder, Scope.SUBJECT, now)
    assert EventSealer(keys, holder, 1, now).unseal(Scope.SUBJECT, envelope) is None


def test_concurrent_first_writes_of_one_holder_share_one_key(
    store: str, clock: SimulatedClock
) -> None:
    """Racing writers that each seal a first field for the same holder get the same key, so
    no sealed field is left under a key that a later erasure would miss."""
    ledger = Ledger(Settings(store=store), clock=clock)
    holder = uuid4()
    start = Barrier(THREADS)

    def first_key() -> UUID:
        start.wait()
        return ledger.store.keys.current(holder, Scope.PROFILE, ledger.now())[0]

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            found = {f.result() for f in [pool.submit(first_key) for _ in range(THREADS)]}
        assert len(found) == 1
        assert ledger.store.keys.shred(holder, Scope.PROFILE, ledger.now()) == 1
        assert ledger.store.keys.secret(found.pop()) is None
    finally:
        ledger.close()


class Interrupted(Exception):
    """Stands for the process dying between destroying a key and recording it."""


def test_gdpr_4_an_erasure_interrupted_after_the_key_went_is_recorded_on_the_next_run(
    store: str, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GDPR-4: keys are destroyed before the fact is recorded, so an interruption in between
    leaves the data unreadable, and the erasure, still due, is recorded once by the next
    run."""
    first = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    at(first, clock, "2025-01-01T00:00:00Z")
    lee = consent(first, ["marketing"], email=LEAD_EMAIL, name="Lee P")
    at(first, clock, "2025-02-01T00:00:00Z")
    first.withdraw_consent(lee, WithdrawConsent(purposes=[Purpose.MARKETING]))

    def die(*args: object, **kwargs: object) -> None:
        raise Interrupted

    monkeypatch.setattr(first.tx, "transact", die)
    with pytest.raises(Interrupted):
        first.run_due(clock.now())
    first.close()
    monkeypatch.undo()

    second = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    try:
        assert second.subject(lee)["name"] is None  # unreadable already
        assert second.subject(lee)["erased"] is False  # not yet recorded
        assert second.run_due(clock.now()) == 1
        assert second.subject(lee)["erased"] is True
        assert second.run_due(clock.now()) == 0
    finally:
        second.close()


@contextmanager
def older_snapshot(store: str) -> Iterator[Callable[[], None]]:
    """Another session that took its snapshot now and keeps its transaction open until the
    function it yields ends it: a PostgreSQL REPEATABLE READ transaction, an SQLite read
    transaction on the write-ahead log."""
    parsed = urlparse(store)
    if parsed.scheme == "sqlite":
        reader = sqlite3.connect(store[len("sqlite:///") :], isolation_level=None)
        reader.execute("BEGIN")
        reader.execute(f"SELECT count(*) FROM {KEYS_TABLE}").fetchone()
        try:
            yield reader.rollback
        finally:
            reader.close()
        return
    database, _ = pg_schema(store)
    with psycopg.connect(database) as other:
        other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        other.execute("SELECT 1").fetchone()  # its snapshot: older than the erasure
        yield other.rollback


def test_gdpr_4_an_erasure_that_an_older_snapshot_could_still_see_is_pending_until_it_ends(
    ledger: Ledger, store: str, clock: SimulatedClock
) -> None:
    """GDPR-4 on the storage: while another session holds a snapshot older than the erasure,
    the database must keep the old row (PostgreSQL) or page (SQLite's log) it can see: the
    erasure is carried out (the key is gone for the ledger) but reports itself pending, and
    the scheduler's first run after that session ends completes it: no byte of the key,
    the e-mail's look-up, the e-mail or the name is left."""
    at(ledger, clock, "2025-01-10T00:00:00Z")
    lena = consent(ledger, ["marketing"], email=LEAD_EMAIL, name=LEAD_NAME)
    secret = ledger.store.keys.current(lena, Scope.SUBJECT, clock.now())[1]
    traces = (secret, lookup(LEAD_EMAIL), LEAD_EMAIL.encode(), LEAD_NAME.encode())
    with older_snapshot(store) as end_it:
        erased = ledger.subject_request(lena, RequestErasure())
        assert (erased["erased"], erased["name"], erased["erasure_pending"]) == (True, None, True)
        assert secret in stored_bytes(store)  # kept for the older snapshot
        ledger.run_due(clock.now())
        assert ledger.subject(lena)["erasure_pending"] is True
        end_it()
    purged(ledger, clock, lena)
    after = stored_bytes(store)
    for trace in traces:
        assert trace not in after, trace
