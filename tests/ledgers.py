"""Test fixtures: a ledger on SQLite and on PostgreSQL, with a simulated clock.

PostgreSQL tests create their own database for the session and a schema per test, and drop
them afterwards. Outside CI a missing server skips them with a reason; in CI (CI=true) a
missing server fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from settings import Settings

PG_SERVER = os.environ.get("SEATLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test session's own, dropped at the end."""
    name = f"seatledger_test_{os.getpid()}_{uuid4().hex[:6]}"
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not answering: {error}")
        pytest.skip(f"PostgreSQL is not answering at {PG_SERVER}: {error}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_store(pg_database: str) -> Iterator[str]:
    """A fresh schema in the session's database."""
    schema = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_database}?schema={schema}&pool_size=4&max_overflow=20"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    """Every test that takes `store` runs on both stores."""
    fixture = "sqlite_store" if request.param == "sqlite" else "pg_store"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(utc("2019-01-01T00:00:00Z"))


@pytest.fixture
def gateway() -> SandboxGateway:
    return SandboxGateway()


@pytest.fixture
def ledger(store: str, clock: SimulatedClock, gateway: SandboxGateway) -> Iterator[Ledger]:
    ledger = Ledger(Settings(store=store), clock=clock, gateway=gateway)
    yield ledger
    ledger.close()


@pytest.fixture
def mem_ledger(clock: SimulatedClock, gateway: SandboxGateway) -> Iterator[Ledger]:
    """An in-memory ledger, for rules whose storage does not matter."""
    ledger = Ledger(Settings(store="memory://"), clock=clock, gateway=gateway)
    yield ledger
    ledger.close()
