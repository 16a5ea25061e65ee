"""The command line: `seatledger scenario run`, `demo`, `serve`, `subject export`."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import track
from rich.table import Table

from adapters.clock import SimulatedClock
from api import create_app
from app import Ledger
from domain.errors import DomainError
from scenario import run_file, scenario_files
from scheduler import start_scheduler
from settings import Settings

app = typer.Typer(no_args_is_help=True, help="seatledger: an event-sourced subscription ledger")
scenario_app = typer.Typer(no_args_is_help=True, help="Acceptance stories in YAML (SCENARIOS.md)")
app.add_typer(scenario_app, name="scenario")
subject_app = typer.Typer(no_args_is_help=True, help="Data subjects (GDPR)")
app.add_typer(subject_app, name="subject")
console = Console()


@scenario_app.command("run")
def scenario_run(
    paths: Annotated[list[Path], typer.Argument(help="scenario files or folders")],
    store: Annotated[
        str | None,
        typer.Option(help="run on this store (sqlite:///PATH or postgresql://...), fresh per file"),
    ] = None,
) -> None:
    """Runs each file on a fresh ledger; prints one line per failed expectation and closes
    with 'N passed, N failed'."""
    files = scenario_files(paths)
    passed = failed = 0
    for path in files:
        outcome = run_file(path, store)
        for failure in outcome.failures:
            typer.echo(str(failure))
        if outcome.passed:
            passed += 1
        else:
            failed += 1
    typer.echo(f"{passed} passed, {failed} failed")
    raise typer.Exit(0 if failed == 0 and files else 1)


@app.command()
def demo(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    accounts: Annotated[int, typer.Option(min=1, max=500)] = 6,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """A few accounts living through a simulated year, through the Ledger's commands."""
    settings = Settings(store=store) if store else Settings()
    if settings.store.startswith("sqlite:///"):
        Path(settings.store[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
        days=400
    )
    clock = SimulatedClock(start)
    ledger = Ledger(settings, clock=clock)
    rng = random.Random(seed)
    plans = ["ticket", "ticket-chat", "all-inclusive"]
    countries = [("US", "USD"), ("DE", "EUR"), ("SK", "EUR"), ("FR", "EUR"), ("GB", "EUR")]
    ids = []
    for n in range(accounts):
        country, currency = rng.choice(countries)
        ids.append(
            ledger.open_account(
                owner_name=f"Demo Owner {n + 1}",
                owner_email=f"owner{n + 1}@demo.example",
                company=f"Demo Company {n + 1}",
                country=country,
                currency=currency,
                plan=rng.choice(plans),
                cycle=rng.choice(["monthly", "monthly", "annual"]),
                seats=rng.randint(1, 8),
            )
        )
        clock.set(clock.now() + timedelta(hours=1))
    for day in track(range(365), description="Living through a year"):
        at = start + timedelta(days=day + 1)
        for account_id in ids:
            if ledger.load(account_id).is_closed:
                continue
            roll = rng.random()
            ledger.run_due(at)
            clock.set(at)
            if day == 3 and roll < 0.8:
                ledger.add_payment_method(account_id, "card", f"tok_demo_{account_id.hex[:8]}")
            elif roll < 0.01:
                ledger.add_seats(account_id, rng.randint(1, 3))
            elif roll < 0.015:
                seats = ledger.load(account_id).seats
                if seats > 1:
                    ledger.remove_seats(account_id, 1)
            elif roll < 0.2:
                ledger.record_activity(account_id)
    for account_id in ids:
        view = ledger.account(account_id)
        table = Table(
            title=f"{view['slug']}: {view['status']}, {view['plan']} ({view['cycle']}), "
            f"{view['seats']} seats"
        )
        for column in ("number", "issued_at", "net", "vat", "total", "status"):
            table.add_column(column)
        for invoice in ledger.invoices(account_id):
            table.add_row(
                *(str(invoice[c]) for c in ("number", "issued_at", "net", "vat", "total", "status"))
            )
        console.print(table)
        console.print("balance:", ledger.balance(account_id))
    console.print("ledger:", ledger.ledger())
    ledger.close()


@app.command()
def serve(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    scheduler: Annotated[bool, typer.Option(help="also run the due work every minute")] = True,
) -> None:
    """Serves the internal HTTP API (tokens from SEATLEDGER_API_TOKENS) and, unless told
    not to, the scheduler."""
    settings = Settings(store=store) if store else Settings()
    if settings.store.startswith("sqlite:///"):
        Path(settings.store[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    if not settings.api_tokens:
        typer.echo("no API tokens: set SEATLEDGER_API_TOKENS", err=True)
        raise typer.Exit(2)
    ledger = Ledger(settings)
    running = start_scheduler(ledger) if scheduler else None
    try:
        uvicorn.run(create_app(ledger, settings.api_tokens), host=host, port=port)
    finally:
        if running is not None:
            running.shutdown()
        ledger.close()


@subject_app.command("export")
def subject_export(
    subject: Annotated[str, typer.Argument(help="the subject's key")],
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """GDPR-3: records an access request and prints everything the ledger holds on the
    subject as JSON (access and portability)."""
    settings = Settings(store=store) if store else Settings()
    ledger = Ledger(settings)
    try:
        typer.echo(json.dumps(ledger.request_access(subject), indent=2, sort_keys=True))
    except DomainError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    finally:
        ledger.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
