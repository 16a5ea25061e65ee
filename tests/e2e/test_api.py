"""The internal HTTP API: tokens and scopes, problem documents, idempotency, pagination."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from adapters.clock import SimulatedClock
from api import create_app
from app import Ledger
from settings import ApiToken, Permission
from tests.helpers import at, event_count
from tests.serving import serving

HTTP_THREADS = 16
CHANGES_PER_THREAD = 5

TOKENS = {
    "helpdesk": ApiToken(secret="helpdesk-secret", scopes=[Permission.WRITE]),
    "finance": ApiToken(secret="finance-secret", scopes=[Permission.FINANCE_READ]),
    "vendor": ApiToken(secret="vendor-secret", scopes=[Permission.ADMIN]),
}
WRITE = {"Authorization": "Bearer helpdesk-secret"}
FINANCE = {"Authorization": "Bearer finance-secret"}
ADMIN = {"Authorization": "Bearer vendor-secret"}
ACME: dict[str, Any] = {
    "owner": {"name": "Ada Lovelace", "email": "ada@acme.example"},
    "company": "Acme",
    "country": "US",
    "currency": "USD",
    "plan": "ticket",
    "cycle": "monthly",
    "seats": 2,
}


@pytest.fixture
def client(ledger: Ledger, clock: SimulatedClock) -> TestClient:
    at(ledger, clock, "2025-01-10T00:00:00Z")
    return TestClient(create_app(ledger, TOKENS))


def test_every_request_needs_a_valid_token_with_the_scope(client: TestClient) -> None:
    assert client.get("/accounts").status_code == 401
    wrong = client.get("/accounts", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.post("/accounts", json=ACME, headers=FINANCE).status_code == 403
    assert client.get("/ledger", headers=WRITE).status_code == 403
    vendor_only = "/accounts/00000000-0000-0000-0000-000000000000/suspension"
    assert (
        client.post(vendor_only, json={"reason": "terms_violation"}, headers=WRITE).status_code
        == 403
    )
    assert (
        client.post(vendor_only, json={"reason": "terms_violation"}, headers=ADMIN).status_code
        == 404
    )
    assert client.get("/ledger", headers=FINANCE).status_code == 200
    assert client.get("/ledger", headers=ADMIN).status_code == 200


def test_a_story_over_http_records_the_token_as_actor(client: TestClient, ledger: Ledger) -> None:
    opened = client.post("/accounts", json=ACME, headers=WRITE)
    assert opened.status_code == 201, opened.text
    account = opened.json()["id"]
    card = {"kind": "card", "token": "tok_acme"}
    assert client.post(f"/accounts/{account}/payment-method", json=card, headers=WRITE).is_success
    assert client.post(f"/accounts/{account}/seats", json={"count": 3}, headers=WRITE).is_success
    view = client.get(f"/accounts/{account}", headers=FINANCE).json()
    assert (view["status"], view["seats"]) == ("active", 5)
    invoices = client.get(f"/accounts/{account}/invoices", headers=FINANCE).json()
    assert [i["total"] for i in invoices["items"]] == [{"amount": "30.00", "currency": "USD"}]
    assert {e.actor for e in ledger.events() if "Account" in type(e).__qualname__} >= {"helpdesk"}


def test_refusals_are_problem_documents_and_record_nothing(
    client: TestClient, ledger: Ledger
) -> None:
    """Bad input gets a clear code and message (RFC 9457) and records nothing."""
    before = event_count(ledger)
    bad_email = client.post(
        "/accounts", json={**ACME, "owner": {"name": "A", "email": "x"}}, headers=WRITE
    )
    assert bad_email.status_code == 422
    assert bad_email.headers["content-type"] == "application/problem+json"
    assert (bad_email.json()["code"], bad_email.json()["field"]) == (
        "INVALID_INPUT",
        "owner.email",
    )
    missing = client.post("/accounts", json={"company": "Acme"}, headers=WRITE)
    assert (missing.status_code, missing.json()["code"]) == (422, "INVALID_INPUT")
    unknown = client.post(
        "/accounts/00000000-0000-0000-0000-000000000000/seats", json={"count": 1}, headers=WRITE
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "UNKNOWN_ACCOUNT")
    assert event_count(ledger) == before


def test_an_idempotency_key_returns_the_first_response_and_refuses_another_body(
    client: TestClient, ledger: Ledger
) -> None:
    key = {**WRITE, "Idempotency-Key": "open-acme-1"}
    first = client.post("/accounts", json=ACME, headers=key)
    after_first = event_count(ledger)
    again = client.post("/accounts", json=ACME, headers=key)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert event_count(ledger) == after_first
    other = client.post("/accounts", json={**ACME, "seats": 3}, headers=key)
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert event_count(ledger) == after_first


def test_lists_are_paginated_and_the_openapi_document_is_served(client: TestClient) -> None:
    ids = [
        client.post("/accounts", json={**ACME, "company": f"Acme {n}"}, headers=WRITE).json()["id"]
        for n in range(3)
    ]
    first = client.get("/accounts", params={"limit": 2}, headers=WRITE).json()
    assert [a["id"] for a in first["items"]] == ids[:2]
    rest = client.get(
        "/accounts", params={"limit": 2, "cursor": first["next_cursor"]}, headers=WRITE
    ).json()
    assert ([a["id"] for a in rest["items"]], rest["next_cursor"]) == (ids[2:], None)
    schema = client.get("/openapi.json").json()
    assert "/accounts/{account_id}/invoices" in schema["paths"]


@pytest.mark.parametrize(
    ("request_of", "status", "title", "code"),
    [
        (lambda c: c.get("/accounts"), 401, "Unauthorized", "UNAUTHORIZED"),
        (lambda c: c.get("/ledger", headers=WRITE), 403, "Forbidden", "FORBIDDEN"),
        (lambda c: c.get("/nowhere", headers=WRITE), 404, "Not Found", "NOT_FOUND"),
        (
            lambda c: c.delete("/accounts", headers=WRITE),
            405,
            "Method Not Allowed",
            "METHOD_NOT_ALLOWED",
        ),
        (
            lambda c: c.post("/accounts", json={}, headers=WRITE),
            422,
            "Unprocessable Entity",
            "INVALID_INPUT",
        ),
    ],
)
def test_every_error_is_an_rfc_9457_problem_titled_by_its_status_with_a_code(
    client: TestClient,
    request_of: Callable[[TestClient], Any],
    status: int,
    title: str,
    code: str,
) -> None:
    answer = request_of(client)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["status"], body["title"], body["code"]) == (status, title, code)
    assert body["detail"]


@pytest.fixture
def served(ledger: Ledger, clock: SimulatedClock) -> Iterator[str]:
    at(ledger, clock, "2025-01-10T00:00:00Z")
    with serving(create_app(ledger, TOKENS)) as url:
        yield url


def test_concurrent_seat_changes_over_http_lose_no_update(served: str) -> None:
    """16 client threads adding seats to one account over real HTTP: the final count is the
    sum of the accepted changes, on both stores."""
    with httpx2.Client(base_url=served, headers=WRITE, timeout=30) as client:
        account = client.post("/accounts", json=ACME).json()["id"]
    start = threading.Barrier(HTTP_THREADS)

    def add_seats(n: int) -> int:
        accepted = 0
        with httpx2.Client(base_url=served, headers=WRITE, timeout=30) as client:
            start.wait()
            for _ in range(CHANGES_PER_THREAD):
                response = client.post(f"/accounts/{account}/seats", json={"count": n})
                if response.status_code == 200:
                    accepted += n
        return accepted

    with ThreadPoolExecutor(HTTP_THREADS) as pool:
        added = sum(pool.map(add_seats, [1 + n % 3 for n in range(HTTP_THREADS)]))
    with httpx2.Client(base_url=served, headers=WRITE, timeout=30) as client:
        seats = client.get(f"/accounts/{account}").json()["seats"]
    assert added > 0
    assert seats == ACME["seats"] + added


def test_auditors_verify_replay_and_explain_over_http_with_the_audit_scope(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    tokens = {**TOKENS, "audit": ApiToken(secret="audit-secret", scopes=[Permission.AUDIT_READ])}
    client = TestClient(create_app(ledger, tokens))
    auditor = {"Authorization": "Bearer audit-secret"}
    at(ledger, clock, "2025-01-10T00:00:00Z")
    created = client.post("/accounts", json=ACME, headers=WRITE)
    account = created.json()["id"]
    card = {"kind": "card", "token": "tok_audit"}
    assert client.post(f"/accounts/{account}/payment-method", json=card, headers=WRITE).is_success
    at(ledger, clock, "2025-01-12T00:00:00Z")
    assert client.post(f"/accounts/{account}/seats", json={"count": 1}, headers=WRITE).is_success
    for path in ("/audit/verify", "/audit/replay", "/audit/documents/2025-000001"):
        assert client.get(path, headers=WRITE).status_code == 403
        assert client.get(path, headers=FINANCE).status_code == 403
    verified = client.get("/audit/verify", headers=auditor).json()
    assert verified["ok"] is True and verified["events"] > 5
    replayed = client.get("/audit/replay", headers=auditor).json()
    assert replayed["identical"] is True
    trail = client.get("/audit/documents/2025-000001", headers=auditor).json()
    assert trail["lines"][0]["rule"] == "BILL-2"
    missing = client.get("/audit/documents/2025-009999", headers=auditor)
    assert missing.status_code == 404 and missing.json()["code"] == "UNKNOWN_DOCUMENT"
    # the account as known before the seat change, as an auditor may ask
    before = client.get(
        f"/accounts/{account}",
        params={"known_at": "2025-01-11T00:00:00Z"},
        headers=auditor,
    ).json()
    assert before["seats"] == ACME["seats"]
    assert client.get(f"/accounts/{account}", headers=auditor).json()["seats"] == ACME["seats"] + 1
    naive = client.get(
        f"/accounts/{account}", params={"as_of": "2025-01-11T00:00:00"}, headers=auditor
    )
    assert naive.status_code == 422 and naive.json()["code"] == "INVALID_INPUT"


def test_opening_answers_201_with_the_account_and_its_location_and_commands_the_account(
    client: TestClient,
) -> None:
    opened = client.post("/accounts", json=ACME, headers={**WRITE, "Idempotency-Key": "open-1"})
    assert opened.status_code == 201
    account = opened.json()
    assert opened.headers["Location"] == f"/accounts/{account['id']}"
    assert (account["status"], account["seats"], account["plan"]) == ("trialing", 2, "ticket")
    assert client.get(opened.headers["Location"], headers=FINANCE).json() == account
    added = client.post(f"/accounts/{account['id']}/seats", json={"count": 3}, headers=WRITE)
    assert added.status_code == 200
    assert added.json()["seats"] == 5  # the account as the command left it
    # a repeat of the opening: the same account, as it stands now, and nothing recorded
    again = client.post("/accounts", json=ACME, headers={**WRITE, "Idempotency-Key": "open-1"})
    assert (again.status_code, again.json()["id"], again.json()["seats"]) == (
        201,
        account["id"],
        5,
    )
    assert again.headers["Location"] == opened.headers["Location"]


def test_a_missing_credit_window_is_a_404_problem_not_a_null(client: TestClient) -> None:
    account = client.post("/accounts", json=ACME, headers=WRITE).json()["id"]
    missing = client.get(f"/accounts/{account}/credit-window", headers=FINANCE)
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"


def test_reports_are_served_to_finance_as_json_money_and_as_csv(
    client: TestClient, ledger: Ledger, clock: SimulatedClock
) -> None:
    account = client.post("/accounts", json=ACME, headers=WRITE).json()["id"]
    card = {"kind": "card", "token": "tok_acme"}
    assert client.post(f"/accounts/{account}/payment-method", json=card, headers=WRITE).is_success
    assert client.get("/reports/invoices?month=2025-01", headers=WRITE).status_code == 403
    found = client.get("/reports/invoices?month=2025-01", headers=FINANCE)
    assert found.status_code == 200, found.text
    document = found.json()
    assert document["report"] == "invoices"
    [row] = document["rows"]
    assert row["number"] == "2025-000001"
    assert row["total"] == {"amount": "30.00", "currency": "USD"}
    as_csv = client.get(
        "/reports/invoices?month=2025-01", headers={**FINANCE, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("number,kind,issued_at,currency,net,vat,total")
    assert lines[1].startswith("2025-000001,invoice,")
    # as it could have been drawn up before the invoice was issued: empty
    before = client.get(
        "/reports/invoices?month=2025-01&known_at=2025-01-01T00:00:00Z", headers=FINANCE
    )
    assert before.json()["rows"] == []
    for bad, field in (("nonsense?month=2025-01", "report"), ("mrr?month=2025-13", "month")):
        refused = client.get(f"/reports/{bad}", headers=FINANCE)
        assert refused.status_code == 422
        assert (refused.json()["code"], refused.json()["field"]) == ("INVALID_INPUT", field)
    unknown = client.get("/reports/mrr?month=2025-01&currency=XYZ", headers=FINANCE)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "currency")


def test_subjects_mail_and_the_trial_balance_answer_in_their_documented_shapes(
    client: TestClient,
) -> None:
    """Each of these responses is checked against its model as it is served (FastAPI
    validates a response model), so a shape that drifted fails here."""
    consent = {"purposes": ["marketing"], "name": "Ada Lovelace", "email": "ada@acme.example"}
    given = client.post("/subjects", json=consent, headers=WRITE)
    assert given.status_code == 201
    subject = given.json()["id"]
    assert given.headers["Location"] == f"/subjects/{subject}"
    read = client.get(given.headers["Location"], headers=ADMIN)
    assert read.status_code == 200
    assert (read.json()["consents"], read.json()["erased"]) == (["marketing"], False)
    retention = client.get(f"/subjects/{subject}/retention", headers=ADMIN).json()
    assert {item["category"] for item in retention} >= {"marketing"}
    client.post("/accounts", json=ACME, headers=WRITE)
    outbox = client.get("/mail/outbox", headers=ADMIN)
    assert outbox.status_code == 200
    assert client.get("/due-work/set-aside", headers=ADMIN).json() == {
        "items": [],
        "next_cursor": None,
    }
    trial = client.get("/ledger", headers=FINANCE)
    assert (trial.status_code, trial.json()["balanced"]) == (200, True)
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"SubjectView", "RetentionView", "OutboxView", "SetAsideView"} <= set(schemas)


def test_a_price_change_answers_201_with_its_notices_and_location_and_is_read_back(
    client: TestClient, ledger: Ledger
) -> None:
    """BILL-6 over HTTP: the announcement is a resource, with how far its notices went."""
    client.post("/accounts", json=ACME, headers=WRITE)
    change = {
        "plan": "ticket",
        "currency": "USD",
        "cycle": "monthly",
        "price": "18.00 USD",
        "effective_on": "2025-03-01",
    }
    key = {**ADMIN, "Idempotency-Key": "price-1"}
    announced = client.post("/price-changes", json=change, headers=key)
    assert announced.status_code == 201, announced.text
    body = announced.json()
    assert announced.headers["Location"] == f"/price-changes/{body['number']}"
    assert body["price"] == {"amount": "18.00", "currency": "USD"}
    assert (body["plan"], body["effective_on"], body["notices_finished"]) == (
        "ticket",
        "2025-03-01",
        True,
    )
    assert body["accounts_gone_through"] == 1
    after = event_count(ledger)
    again = client.post("/price-changes", json=change, headers=key)
    assert (again.status_code, again.json()) == (201, body)
    assert event_count(ledger) == after
    assert client.get(announced.headers["Location"], headers=FINANCE).json() == body
    missing = client.get("/price-changes/7", headers=FINANCE)
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
