"""Schemathesis against the served OpenAPI document: generated requests to every operation of
the real server find no 5xx and no response outside the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

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
def served_schema(sqlite_store: str, clock: SimulatedClock) -> Iterator[Any]:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    open_account(ledger)  # something to find, besides what is not there
    try:
        with serving(create_app(ledger, TOKENS)) as url:
            yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    finally:
        ledger.close()


def test_no_server_error_and_every_response_as_documented(served_schema: Any) -> None:
    operations = [result.ok() for result in served_schema.get_all_operations()]
    assert len(operations) > 30  # every route of the API is in the document
    for operation in operations:

        @given(case=operation.as_strategy())
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
