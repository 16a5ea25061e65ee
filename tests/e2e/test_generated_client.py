"""The OpenAPI document is good enough to build a client from: openapi-spec-validator
accepts it, and a client generated from `/openapi.json` by openapi-python-client (into a
temporary folder) opens an account, adds seats, and reads the account, its invoices and a
report through its typed models, against the real server."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest
from openapi_spec_validator import validate

from adapters.clock import SimulatedClock
from api import create_app
from app import Ledger
from tests.e2e.test_api import ACME, TOKENS
from tests.helpers import at
from tests.serving import serving

PACKAGE = "seatledger_client"


@pytest.fixture
def served(ledger: Ledger, clock: SimulatedClock) -> Iterator[str]:
    at(ledger, clock, "2025-01-10T00:00:00Z")
    with serving(create_app(ledger, TOKENS)) as url:
        yield url


def generated(document: dict[str, Any], folder: Path) -> ModuleType:
    """The client openapi-python-client writes for `document`, imported from `folder`."""
    (folder / "openapi.json").write_text(json.dumps(document))
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter needed to import it
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(folder / "config.yaml"),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_opens_an_account_adds_seats_and_reads_it_through_typed_models(
    served: str, tmp_path: Path
) -> None:
    document = httpx2.get(f"{served}/openapi.json").json()
    validate(document)  # raises on an invalid OpenAPI 3.1 document
    client_package = generated(document, tmp_path)
    try:
        models = importlib.import_module(f"{PACKAGE}.models")
        writer = client_package.AuthenticatedClient(base_url=served, token="helpdesk-secret")
        finance = client_package.AuthenticatedClient(base_url=served, token="finance-secret")
        open_account = importlib.import_module(f"{PACKAGE}.api.accounts.open_account")
        body = models.OpenAccount.from_dict(ACME)
        opened = open_account.sync_detailed(client=writer, body=body)
        assert opened.status_code == 201
        account = opened.parsed
        assert isinstance(account, models.AccountView)
        assert account.seats == 2
        assert opened.headers["location"] == f"/accounts/{account.id}"

        add_payment_method = importlib.import_module(
            f"{PACKAGE}.api.account_commands.add_payment_method"
        )
        card = models.AddPaymentMethod.from_dict({"kind": "card", "token": "tok_acme"})
        assert add_payment_method.sync(account.id, client=writer, body=card) is not None
        add_seats = importlib.import_module(f"{PACKAGE}.api.account_commands.add_seats")
        added = add_seats.sync(account.id, client=writer, body=models.AddSeats(count=3))
        assert isinstance(added, models.AccountView)
        assert added.seats == 5

        get_account = importlib.import_module(f"{PACKAGE}.api.accounts.get_account")
        read = get_account.sync(account.id, client=finance)
        assert isinstance(read, models.AccountView)
        assert (read.status, read.seats) == (models.AccountStatus.ACTIVE, 5)

        list_invoices = importlib.import_module(f"{PACKAGE}.api.account_reads.list_invoices")
        invoices = list_invoices.sync(account.id, client=finance)
        assert isinstance(invoices, models.PageInvoiceView)
        [invoice] = invoices.items
        assert isinstance(invoice.total, models.MoneyView)
        assert (invoice.total.amount, invoice.total.currency) == ("30.00", "USD")

        report = importlib.import_module(f"{PACKAGE}.api.finance.report")
        found = report.sync("invoices", client=finance, month="2025-01")
        assert isinstance(found, models.ReportView)
        assert found.report == "invoices"
        [row] = found.rows
        assert row["number"] == invoice.number
        assert row["total"].to_dict() == {"amount": "30.00", "currency": "USD"}
    finally:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
