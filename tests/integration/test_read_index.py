"""The read side's lists, a page at a time from the read index: accounts by status, plan,
currency and cycle; open prepaid pools, now and as known (TIME-2); retention deadlines.
And the index as a read model: a rebuild from zero gives the tables that followed the log,
racing followers write each change once, and a follower killed (SIGKILL) and restarted
ends with exactly the tables of a rebuild."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from api import create_app
from app import Ledger
from domain.account import Account
from domain.commands import (
    Cancel,
    ChangePlan,
    GrantPrepaidCredit,
    RequestRestriction,
    Suspend,
    WithdrawConsent,
)
from domain.errors import DomainError, ErrorCode
from domain.subjects import Purpose
from ledger.listings import cursor
from ledger.reading import NOW, Knowledge, Reader
from ledger.views import Page
from projections.read_index import ReadIndex, ReadIndexView, index_view_for
from settings import ApiToken, Permission, Settings
from simulation import DEFAULT_START, simulate
from tests.helpers import at, consent, eventually, open_account

REPO = Path(__file__).resolve().parents[2]


def every_page(read: Any, limit: int, **query: Any) -> list[Page[dict[str, Any]]]:
    """Every page of a list, `limit` items each, following the cursors to the end."""
    pages = [read(limit=limit, **query)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < 100, "the cursors never end"
        pages.append(read(limit=limit, after=pages[-1].next_cursor, **query))
    return pages


def items(pages: list[Page[dict[str, Any]]], key: str = "id") -> list[Any]:
    return [item[key] for page in pages for item in page.items]


def test_accounts_are_listed_a_page_at_a_time_in_the_order_opened_and_by_status_plan_currency_and_cycle(  # noqa: E501
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-01T00:00:00Z")
    a = open_account(ledger, company="A", plan="ticket")
    b = open_account(ledger, company="B", plan="all-inclusive", currency="EUR", country="DE")
    c = open_account(ledger, company="C", plan="ticket", cycle="annual")
    d = open_account(ledger, company="D", plan="ticket")
    e = open_account(ledger, company="E", plan="ticket-chat")
    ledger.execute(d, Suspend(reason="terms_violation"))
    ledger.execute(e, Cancel(via="button"))
    ids = [str(x) for x in (a, b, c, d, e)]

    pages = every_page(ledger.accounts, 2)
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert items(pages) == ids
    assert pages[0].items[1] == {
        "id": str(b),
        "status": "trialing",
        "plan": "all-inclusive",
        "currency": "EUR",
        "cycle": "monthly",
    }
    assert items(every_page(ledger.accounts, 1, status="suspended")) == [str(d)]
    assert items(every_page(ledger.accounts, 1, status="cancelled")) == [str(e)]
    monthly_ticket = {"plan": "ticket", "currency": "USD", "cycle": "monthly"}
    assert items(every_page(ledger.accounts, 1, **monthly_ticket)) == [str(a), str(d)]
    assert items(every_page(ledger.accounts, 1, currency="EUR")) == [str(b)]
    assert items(every_page(ledger.accounts, 3, cycle="annual")) == [str(c)]
    assert ledger.accounts(status="active").items == []

    ledger.execute(a, ChangePlan(plan="all-inclusive"))  # the index follows the account
    assert items(every_page(ledger.accounts, 5, **monthly_ticket)) == [str(d)]
    assert ledger.accounts(limit=1).items[0]["plan"] == "all-inclusive"


def test_a_cursor_of_another_list_a_made_up_one_or_a_limit_out_of_bounds_is_refused(
    mem_ledger: Ledger,
) -> None:
    open_account(mem_ledger, company="A")
    open_account(mem_ledger, company="B")
    accounts = mem_ledger.accounts(limit=1).next_cursor
    assert accounts is not None
    for wrong in ("not-a-cursor", cursor("credit-windows", 1), cursor("accounts", "1")):
        with pytest.raises(DomainError) as refused:
            mem_ledger.accounts(after=wrong)
        assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "cursor")
    with pytest.raises(DomainError) as refused:
        mem_ledger.credit_windows(after=accounts)
    assert refused.value.field == "cursor"
    for limit in (0, 501):
        with pytest.raises(DomainError) as refused:
            mem_ledger.accounts(limit=limit)
        assert refused.value.field == "limit"
    filters: list[tuple[str, dict[str, str]]] = [
        ("status", {"status": "closed"}),
        ("cycle", {"cycle": "weekly"}),
        ("currency", {"currency": "GBP"}),
    ]
    for field, wrong_filter in filters:
        with pytest.raises(DomainError) as refused:
            mem_ledger.accounts(**wrong_filter)  # type: ignore[arg-type]
        assert refused.value.field == field


class CountingReader(Reader):
    """The ledger's reader, counting the accounts folded for a query."""

    def __init__(self, reader: Reader) -> None:
        super().__init__(reader.store, reader.history)
        self.folded: list[UUID] = []

    def account(self, account_id: UUID, known: Knowledge = NOW) -> Account:
        self.folded.append(account_id)
        return super().account(account_id, known)


def test_credit_3_finance_pages_through_the_open_pools_folding_only_the_accounts_that_have_one(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-01T00:00:00Z")
    accounts = [open_account(ledger, company=f"Pool {n}", seats=2) for n in range(8)]
    for n in (1, 4, 6):
        ledger.execute(accounts[n], GrantPrepaidCredit(amount="1200.00 USD"))
    at(ledger, clock, "2025-02-01T00:00:00Z")
    ledger.execute(accounts[4], Cancel(via="button"))  # CREDIT-5: its pool is closed
    counting = CountingReader(ledger.listings.reader)
    ledger.listings.reader = counting

    pages = every_page(ledger.credit_windows, 1)
    assert [len(p.items) for p in pages] == [1, 1]
    assert items(pages, "account") == [str(accounts[1]), str(accounts[6])]
    assert [p.items[0]["slug"] for p in pages] == ["pool-1", "pool-6"]
    assert pages[0].items[0]["ends_on"] == "2026-01-01"
    assert counting.folded == [accounts[1], accounts[6]]


def test_time_2_credit_windows_as_known_before_a_pool_was_granted_and_before_it_closed(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-01T00:00:00Z")
    one = open_account(ledger, company="One", seats=2)
    two = open_account(ledger, company="Two", seats=2)
    open_account(ledger, company="Three", seats=2)
    ledger.execute(one, GrantPrepaidCredit(amount="1200.00 USD"))
    at(ledger, clock, "2025-02-01T00:00:00Z")
    ledger.execute(two, GrantPrepaidCredit(amount="2400.00 USD"))
    at(ledger, clock, "2025-03-01T00:00:00Z")
    ledger.execute(one, Cancel(via="button"))

    def shown(**when: str) -> list[str]:
        return items(every_page(ledger.credit_windows, 1, **when), "slug")

    assert shown() == ["two"]
    assert shown(known_at="2025-01-15T00:00:00Z") == ["one"]
    assert shown(known_at="2025-02-15T00:00:00Z") == ["one", "two"]
    assert shown(as_of="2025-02-15T00:00:00Z") == ["one", "two"]
    assert shown(known_at="2024-12-31T00:00:00Z") == []
    remaining = ledger.credit_windows(known_at="2025-02-15T00:00:00Z").items[0]["remaining"]
    assert remaining == ledger.credit_window(one, known_at="2025-02-15T00:00:00Z")["remaining"]  # type: ignore[index]


def test_gdpr_2_retention_deadlines_are_paged_earliest_first_and_follow_the_account(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-01T00:00:00Z")
    lee = consent(ledger, ["marketing"], email="lee@prospect.example", name="Lee P")
    kim = consent(ledger, ["marketing", "customer_service"], email="kim@p.example", name="Kim")
    acme = open_account(ledger, company="Acme")
    owner = consent(ledger, ["marketing"], email="ada@acme.example", name="Ada", account=acme)
    at(ledger, clock, "2025-02-01T00:00:00Z")
    ledger.withdraw_consent(kim, WithdrawConsent(purposes=[Purpose.MARKETING]))
    ledger.subject_request(lee, RequestRestriction())

    everything = ledger.falls_due("2100-01-01", limit=500)
    assert everything.next_cursor is None
    assert [i["due_on"] for i in everything.items] == sorted(i["due_on"] for i in everything.items)
    for limit in (1, 2, 3):
        pages = every_page(partial(ledger.falls_due, "2100-01-01"), limit)
        assert [i for p in pages for i in p.items] == everything.items
    assert {i["subject"] for i in everything.items} == {str(lee), str(kim)}  # Ada: in use
    assert ledger.falls_due("2025-02-01").items == []
    assert ledger.falls_due("2025-02-02").items == [
        {
            "subject": str(kim),
            "category": "marketing",
            "due_on": "2025-02-01",
            "basis": "withdrawn",
            "done": False,
        }
    ]

    at(ledger, clock, "2025-02-10T00:00:00Z")
    ledger.execute(acme, Cancel(via="button"))  # the account's end of use moves Ada's
    ada = [i for i in ledger.falls_due("2100-01-01").items if i["subject"] == str(owner)]
    assert [(i["category"], i["due_on"], i["basis"]) for i in ada] == [
        ("account_content", "2025-03-12", "cancelled"),  # CANCEL-3
        ("marketing", "2030-02-10", "consent"),
    ]


def test_the_http_lists_read_by_cursor_and_refuse_a_cursor_they_did_not_give(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    at(ledger, clock, "2025-01-01T00:00:00Z")
    tokens = {
        "desk": ApiToken(secret="desk", scopes=[Permission.WRITE]),
        "books": ApiToken(secret="books", scopes=[Permission.FINANCE_READ]),
        "dpo": ApiToken(secret="dpo", scopes=[Permission.ADMIN]),
    }
    client = TestClient(create_app(ledger, tokens))
    desk, books, dpo = ({"Authorization": f"Bearer {t}"} for t in ("desk", "books", "dpo"))
    opened = [open_account(ledger, company=f"Co {n}", plan="ticket") for n in range(3)]
    ledger.execute(opened[2], GrantPrepaidCredit(amount="1200.00 USD"))
    consent(ledger, ["marketing"], email="lee@prospect.example", name="Lee P")

    first = client.get("/accounts", params={"limit": 2, "plan": "ticket"}, headers=desk).json()
    assert [a["id"] for a in first["items"]] == [str(opened[0]), str(opened[1])]
    assert set(first["items"][0]) == {"id", "status", "plan", "currency", "cycle"}
    rest = client.get("/accounts", params={"cursor": first["next_cursor"]}, headers=desk).json()
    assert ([a["id"] for a in rest["items"]], rest["next_cursor"]) == ([str(opened[2])], None)
    windows = client.get("/credit-windows", params={"limit": 2}, headers=books).json()
    assert [w["account"] for w in windows["items"]] == [str(opened[2])]
    due = client.get("/retention/due", params={"before": "2031-01-01"}, headers=dpo).json()
    assert [d["category"] for d in due["items"]] == ["marketing"]

    wrong = client.get("/credit-windows", params={"cursor": first["next_cursor"]}, headers=books)
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["field"]) == (
        422,
        "INVALID_INPUT",
        "cursor",
    )
    bad = client.get("/accounts", params={"status": "closed"}, headers=desk)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


# ------------------------------------------------------------------ the index as a read model


def history(store: str, *, accounts: int, months: int, seed: int, follow: bool = False) -> Ledger:
    """A simulated history with pools granted and one closed, consents and their accounts;
    with `follow`, the ledger's index catches up every few days as queries would."""
    clock = SimulatedClock(DEFAULT_START)
    ledger = Ledger(Settings(store=store), clock=clock, gateway=SandboxGateway())
    pooled: list[UUID] = []

    def day(n: int, _: int) -> None:
        if follow and n % 7 == 0:
            ledger.accounts(limit=1)
        if n in (20, 40):
            for summary in ledger.accounts(status="active").items:
                account = UUID(summary["id"])
                amount = f"2400.00 {summary['currency']}"
                if account not in pooled and granted(account, amount):
                    pooled.append(account)
                    break
        if n == 60 and pooled:
            with suppress(DomainError):  # unless the simulation closed it first
                ledger.execute(pooled[0], Cancel(via="button"))  # CREDIT-5 closes its pool

    def granted(account: UUID, amount: str) -> bool:
        try:
            ledger.execute(account, GrantPrepaidCredit(amount=amount))
        except DomainError:
            return False
        return True

    simulate(ledger, clock, accounts=accounts, months=months, seed=seed, on_day=day)
    return ledger


def rebuilt(ledger: Ledger) -> dict[str, list[tuple[str, ...]]]:
    """The index folded from zero into a fresh (in-memory) view."""
    index = ReadIndex(index_view_for("memory://"))
    try:
        index.catch_up(ledger.store)
        return index.view.dump()
    finally:
        index.view.close()


def test_the_index_rebuilt_from_zero_equals_the_one_that_followed_the_log(store: str) -> None:
    ledger = history(store, accounts=12, months=4, seed=3, follow=True)
    try:
        ledger.accounts(limit=1)
        live = ledger.listings.index.view.dump()
        assert len(live["ix_accounts"]) == 12
        assert len(live["ix_pools"]) >= 2
        assert any(row[5] != "None" for row in live["ix_pools"])  # one was closed
        assert live["ix_subjects"] and live["ix_deadlines"]
        assert live == rebuilt(ledger)
        assert rebuilt(ledger) == rebuilt(ledger)
    finally:
        ledger.close()


def test_racing_followers_write_every_change_once(store: str) -> None:
    ledger = history(store, accounts=10, months=3, seed=5)
    followers = [ReadIndex(index_view_for(store)) for _ in range(4)]
    try:
        barrier = threading.Barrier(len(followers))
        errors: list[BaseException] = []

        def follow(index: ReadIndex) -> None:
            try:
                barrier.wait()
                index.catch_up(ledger.store, chunk=97)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=follow, args=(f,)) for f in followers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        end = ledger.store.recorder.max_notification_id()
        assert all(f.view.position() == end for f in followers)
        assert followers[0].view.dump() == rebuilt(ledger)
    finally:
        for index in followers:
            index.view.close()
        ledger.close()


def follower(store: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.read_worker", "follow", store],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def reached(view: ReadIndexView, position: int) -> bool:
    return view.position() >= position


def test_an_index_follower_killed_and_restarted_neither_loses_nor_repeats(store: str) -> None:
    ledger = history(store, accounts=40, months=9, seed=11)
    view = index_view_for(store)
    try:
        end = ledger.store.recorder.max_notification_id() or 0
        assert end > 1000
        kills = []
        for fraction in (0.2, 0.5, 0.8):
            process = follower(store)
            eventually(partial(reached, view, int(end * fraction)), 120)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills.append(view.position())
        assert all(position < end for position in kills), f"a kill came too late: {kills}"
        assert kills == sorted(kills)
        process = follower(store)
        try:
            eventually(lambda: view.position() == end, 120)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert view.dump() == rebuilt(ledger)
    finally:
        view.close()
        ledger.close()
