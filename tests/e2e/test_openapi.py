"""Schemathesis against the served OpenAPI document: generated requests to every operation of
the real server, on both stores, find no 5xx and no response outside the documented schema.
Account routes are asked about a real account (and so reach the domain), the rest about
generated ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from adapters.clock import SimulatedClock
from api import create_app
from app import Ledger
from settings import ApiToken, Permission, Settings
from tests.helpers import open_account
from tests.serving import serving

TOKENS = {"fuzzer": ApiToken(secret="fuzzer-secret", scopes=[Permission.ADMIN])}
HEADERS = {"Authorization": "Bearer fuzzer-secret"}
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def served_schema(store: str, clock: SimulatedClock) -> Iterator[tuple[Any, str]]:
    """The served document, and an account of the ledger serving it."""
    ledger = Ledger(Settings(store=store), clock=clock)
    account = open_account(ledger)
    try:
        with serving(create_app(ledger, TOKENS)) as url:
            yield schemathesis.openapi.from_url(f"{url}/openapi.json"), str(account)
    finally:
        ledger.close()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=[m.value for m in GenerationMode])
def test_no_server_error_and_every_response_as_documented(
    served_schema: tuple[Any, str], mode: GenerationMode
) -> None:
    """Bodies, paths and queries as documented (positive) and not (negative): never a 5xx,
    every response as the document says."""
    schema, account = served_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # every route of the API is in the document
    for operation in operations:
        known = {"account_id": account} if "{account_id}" in operation.path else None

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            case.call_and_validate(
                headers=HEADERS,
                checks=[
                    not_a_server_error,
                    response_schema_conformance,
                    status_code_conformance,
                    content_type_conformance,
                ],
            )

        call()


def test_the_document_shows_what_the_service_accepts(sqlite_store: str) -> None:
    """A bearer scheme (the Authorize button), enums for plan (the catalog's), cycle,
    currency and country, bounds, and money examples in the one format taken."""
    ledger = Ledger(Settings(store=sqlite_store))
    try:
        document = TestClient(create_app(ledger, TOKENS)).get("/openapi.json").json()
    finally:
        ledger.close()
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a token of SEATLEDGER_API_TOKENS",
    }
    assert document["paths"]["/accounts"]["post"]["security"] == [{"HTTPBearer": []}]
    schemas = document["components"]["schemas"]
    opening = schemas["OpenAccount"]["properties"]
    assert opening["plan"]["enum"] == ["all-inclusive", "free", "ticket", "ticket-chat"]
    assert schemas["Cycle"]["enum"] == ["monthly", "annual"]
    assert opening["currency"]["enum"] == ["EUR", "USD"]
    assert "SK" in opening["country"]["enum"] and "ZZ" not in opening["country"]["enum"]
    assert (opening["seats"]["minimum"], opening["seats"]["maximum"]) == (1, 10_000)
    assert schemas["AnnouncePriceChange"]["properties"]["price"]["examples"] == ["18.00 USD"]
    assert "pattern" in schemas["GrantPrepaidCredit"]["properties"]["amount"]
    assert "x-seatledger-catalog-plans" not in json.dumps(document)


def test_the_interactive_documentation_needs_no_network(sqlite_store: str) -> None:
    """/docs loads Swagger UI from the service itself: every script and style it names is
    served by it, none from a CDN."""
    ledger = Ledger(Settings(store=sqlite_store))
    try:
        client = TestClient(create_app(ledger, TOKENS))
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    finally:
        ledger.close()
