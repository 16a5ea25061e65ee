"""The door: every bad input an attacker or a new user tried is a 4xx problem document
naming the fields at fault, and records nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.clock import SimulatedClock
from adapters.store import shown
from api import create_app
from api.body_limit import BODY_MAX_BYTES
from app import Ledger
from cli import banner
from settings import ApiToken, Permission, Settings
from tests.e2e.test_api import ACME, ADMIN, FINANCE, WRITE
from tests.e2e.test_api import TOKENS as API_TOKENS
from tests.helpers import at, event_count

TOKENS = {
    **API_TOKENS,
    "crm": ApiToken(secret="crm-secret", scopes=[Permission.WRITE]),
    "audit": ApiToken(secret="audit-secret", scopes=[Permission.AUDIT_READ]),
}
CRM = {"Authorization": "Bearer crm-secret"}
AUDIT = {"Authorization": "Bearer audit-secret"}
PRICE: dict[str, Any] = {
    "plan": "ticket",
    "currency": "USD",
    "cycle": "monthly",
    "price": "18.00 USD",
    "effective_on": "2025-03-01",
}
MEGABYTE = 1024 * 1024


@pytest.fixture
def client(ledger: Ledger, clock: SimulatedClock) -> TestClient:
    at(ledger, clock, "2025-01-10T00:00:00Z")
    return TestClient(create_app(ledger, TOKENS), raise_server_exceptions=False)


@pytest.fixture
def acme(client: TestClient) -> str:
    opened = client.post("/accounts", json=ACME, headers=WRITE)
    assert opened.status_code == 201, opened.text
    account: str = opened.json()["id"]
    return account


def refused(response: Any, status: int, *fields: str) -> None:
    """A problem document of `status` naming at least these fields."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    named = {e["field"] for e in body["errors"]}
    assert set(fields) <= named, (fields, named)
    if fields:
        assert body["code"] == "INVALID_INPUT" and body["field"] in named


BAD_OPENINGS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("10^30 seats", {"seats": 10**30}, ("seats",)),
    ("2^63 seats", {"seats": 2**63}, ("seats",)),
    ("seats as text", {"seats": "2"}, ("seats",)),
    ("an unassigned country", {"country": "ZZ"}, ("country",)),
    ("a lower-case country", {"country": "us"}, ("country",)),
    ("a currency not sold", {"currency": "GBP"}, ("currency",)),
    ("a NUL in the company", {"company": "Acme\x00Corp"}, ("company",)),
    (
        "a right-to-left override in the name",
        {"owner": {"name": "Ada \u202eecalevoL", "email": "ada@acme.example"}},
        ("owner.name",),
    ),
    (
        "a lone surrogate in the name",
        {"owner": {"name": "Ada \ud800", "email": "ada@acme.example"}},
        ("owner.name",),
    ),
    ("a 300-character company", {"company": "A" * 300}, ("company",)),
    ("a trial of 15 days", {"trial_days": 15}, ("trial_days",)),
    ("an unknown field", {"discount": "100%"}, ("discount",)),
    (
        "everything at once",
        {"seats": 0, "country": "ZZ", "cycle": "weekly", "region": "APAC"},
        ("seats", "country", "cycle", "region"),
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "fields"), BAD_OPENINGS, ids=[c[0] for c in BAD_OPENINGS]
)
def test_a_bad_opening_is_a_422_naming_every_field_and_records_nothing(
    client: TestClient, ledger: Ledger, case: str, change: dict[str, Any], fields: tuple[str, ...]
) -> None:
    before = event_count(ledger)
    body = json.dumps({**ACME, **change})  # ASCII, with escapes: a lone surrogate as sent
    headers = {**WRITE, "content-type": "application/json"}
    refused(client.post("/accounts", content=body, headers=headers), 422, *fields)
    assert event_count(ledger) == before


def test_bodies_past_the_limit_are_a_413_before_anything_reads_them(
    client: TestClient, ledger: Ledger, acme: str
) -> None:
    """A 50 MB owner name, a 1 MB payment token, a 1 MB lifetime code: refused at the door,
    declared or sent in chunks."""
    before = event_count(ledger)
    huge_name = {**ACME, "owner": {"name": "A" * (50 * MEGABYTE), "email": "a@acme.example"}}
    refused(client.post("/accounts", json=huge_name, headers=WRITE), 413)
    token = {"kind": "card", "token": "t" * MEGABYTE}
    refused(client.post(f"/accounts/{acme}/payment-method", json=token, headers=WRITE), 413)
    code = {"code": "L" * MEGABYTE, "currency": "USD"}
    refused(client.post("/codes", json=code, headers=ADMIN), 413)

    def chunks() -> Any:
        for _ in range(4):
            yield b" " * BODY_MAX_BYTES

    chunked = client.post(
        "/accounts", content=chunks(), headers={**WRITE, "content-type": "application/json"}
    )
    refused(chunked, 413)
    assert event_count(ledger) == before


@pytest.mark.parametrize(
    "token",
    ["4111111111111111", "tok_4111-1111-1111-1111", "5500005555555559", "tok visa", "", " "],
)
def test_pay_1_a_card_number_or_a_malformed_token_is_refused(
    client: TestClient, ledger: Ledger, acme: str, token: str
) -> None:
    """PAY-1: the ledger never holds card numbers: a token carrying one is refused."""
    before = event_count(ledger)
    card = {"kind": "card", "token": token}
    refused(client.post(f"/accounts/{acme}/payment-method", json=card, headers=WRITE), 422, "token")
    assert event_count(ledger) == before


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"price": "1e9"}, ("price",)),
        ({"price": "-0"}, ("price",)),
        ({"price": "-1.00 USD"}, ("price",)),
        ({"price": "16.123456"}, ("price",)),
        ({"price": "16.12 usd"}, ("price",)),
        ({"price": "NaN USD"}, ("price",)),
        ({"price": 18}, ("price",)),
        ({"price": "18.00 EUR"}, ("price",)),
        ({"price": "100001.00 USD"}, ("price",)),
        ({"effective_on": "9999-12-31"}, ("effective_on",)),
        ({"effective_on": "2025-03-01T00:00:00Z"}, ("effective_on",)),
        ({"effective_on": 1740787200}, ("effective_on",)),
        ({"plan": "Ticket Plus!"}, ("plan",)),
    ],
)
def test_bill_6_a_price_change_takes_money_only_as_documented(
    client: TestClient, ledger: Ledger, acme: str, change: dict[str, Any], fields: tuple[str, ...]
) -> None:
    """MON-1/MON-2: money is '18.00 USD' everywhere it is input, in the change's currency;
    nothing else is announced (BILL-6: no owner is notified of it)."""
    before = event_count(ledger)
    refused(client.post("/price-changes", json={**PRICE, **change}, headers=ADMIN), 422, *fields)
    assert event_count(ledger) == before
    taken = client.post("/price-changes", json=PRICE, headers=ADMIN)
    assert taken.status_code == 201, taken.text
    notified = client.get(f"/accounts/{acme}/notifications", headers=WRITE).json()["items"]
    assert [n["kind"] for n in notified] == ["price_change"]


def test_credit_1_a_prepaid_amount_is_taken_as_documented(
    client: TestClient, ledger: Ledger, acme: str
) -> None:
    """CREDIT-1: '1200.00 USD', the example the document shows, is what the API takes."""
    grant = f"/accounts/{acme}/prepaid-credit"
    before = event_count(ledger)
    refused(client.post(grant, json={"amount": "1200.00"}, headers=ADMIN), 422, "amount")
    refused(
        client.post(
            grant, json={"amount": "1200.00 USD", "cancellation_fee": "1.5"}, headers=ADMIN
        ),
        422,
        "cancellation_fee",
    )
    assert event_count(ledger) == before
    example = client.get("/openapi.json").json()["components"]["schemas"]["GrantPrepaidCredit"]
    amount = example["properties"]["amount"]["examples"][0]
    assert client.post(grant, json={"amount": amount}, headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/accounts/{acme}", {"as_of": "0001-01-01T00:00:00+14:00"}, "as_of"),
        ("/accounts/{acme}", {"as_of": "9999-12-31T23:59:59-14:00"}, "as_of"),
        ("/accounts/{acme}", {"known_at": "2025-01-01T00:00:00"}, "known_at"),
        ("/accounts/{acme}/balance", {"as_of": "not a time"}, "as_of"),
        ("/accounts/{acme}/liability-cap", {"on": "0001-01-01"}, "on"),
        ("/accounts/{acme}/liability-cap", {"on": "2025-01-01T00:00:00Z"}, "on"),
        ("/accounts/{acme}/subprocessors", {"on": "9999-12-31"}, "on"),
        ("/retention/due", {"before": "0001-01-01"}, "before"),
    ],
)
def test_a_point_in_time_out_of_range_is_a_422_never_a_500(
    client: TestClient, acme: str, path: str, params: dict[str, str], field: str
) -> None:
    refused(client.get(path.format(acme=acme), params=params, headers=ADMIN), 422, field)


def test_finance_and_audit_read_no_owners_addresses(client: TestClient, acme: str) -> None:
    client.post(
        f"/accounts/{acme}/payment-method", json={"kind": "card", "token": "tok"}, headers=WRITE
    )
    path = f"/accounts/{acme}/notifications"
    assert {n["to"] for n in client.get(path, headers=WRITE).json()["items"]} == {
        "ada@acme.example"
    }
    for reader in (FINANCE, AUDIT):
        items = client.get(path, headers=reader).json()["items"]
        assert items and {n["to"] for n in items} == {None}


def test_an_idempotency_key_is_the_tokens_own(client: TestClient, ledger: Ledger) -> None:
    """The same key from another token is another key: it neither returns the first
    token's result nor is refused as reused."""
    first = client.post("/accounts", json=ACME, headers={**WRITE, "Idempotency-Key": "k-1"})
    other = client.post(
        "/accounts", json={**ACME, "company": "Other"}, headers={**CRM, "Idempotency-Key": "k-1"}
    )
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"]
    again = client.post("/accounts", json=ACME, headers={**WRITE, "Idempotency-Key": "k-1"})
    assert again.json() == first.json()
    bad_key = client.post("/accounts", json=ACME, headers={**WRITE, "Idempotency-Key": "a b"})
    assert bad_key.status_code == 422


def test_the_store_password_is_masked_wherever_it_is_shown() -> None:
    url = "postgresql://ledger:s3cr%40t@db.internal:5432/ledger?schema=public"
    assert shown(url) == "postgresql://ledger:***@db.internal:5432/ledger?schema=public"
    in_query = "postgresql://db.internal/ledger?user=ledger&password=s3cr3t&schema=public"
    assert (
        shown(in_query) == "postgresql://db.internal/ledger?user=ledger&password=***&schema=public"
    )
    assert shown("sqlite:///var/seatledger.db") == "sqlite:///var/seatledger.db"
    printed = "\n".join(banner(Settings(store=url), "http://127.0.0.1:8000", None))
    assert "s3cr" not in printed and "ledger:***@db.internal" in printed
