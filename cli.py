"""The command line: `seatledger scenario run`, `simulate`, `report`, `project`, `serve`,
`scheduler`, `mail`, `subject export`, `audit`."""

from __future__ import annotations

import json
import logging
import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

# Only what Typer reads to build the command tree (`--help` included) is imported here:
# the types and defaults of the options. The ledger, the service (uvicorn, FastAPI, the
# scheduler), the simulation, the charts and the document renderers are imported by the
# commands that use them, so `seatledger --help` starts in a fraction of a second
# (tests/e2e/test_cli_startup.py keeps them out of `import cli`).
from domain.documents import Rendering
from domain.errors import DomainError, ErrorCode
from domain.money import Money
from projections.reports import (
    REPORTS,
    Month,
    ReportFormat,
    chart,
    combined,
    render_report,
    report_of,
)

if TYPE_CHECKING:
    from app import Ledger
    from settings import Settings

app = typer.Typer(no_args_is_help=True, help="seatledger: an event-sourced subscription ledger")
scenario_app = typer.Typer(no_args_is_help=True, help="Acceptance stories in YAML (SCENARIOS.md)")
app.add_typer(scenario_app, name="scenario")
subject_app = typer.Typer(no_args_is_help=True, help="Data subjects (GDPR)")
app.add_typer(subject_app, name="subject")
mail_app = typer.Typer(no_args_is_help=True, help="The owners' e-mails")
app.add_typer(mail_app, name="mail")
audit_app = typer.Typer(no_args_is_help=True, help="Auditors' tools: verify, replay, explain")
app.add_typer(audit_app, name="audit")
DAY_FORMAT = "%Y-%m-%d"
documents_app = typer.Typer(no_args_is_help=True, help="Invoices and credit notes as documents")
app.add_typer(documents_app, name="documents")
due_app = typer.Typer(no_args_is_help=True, help="Due work that raised and was set aside")
app.add_typer(due_app, name="due")
console = Console()
# simulation.DEFAULT_START as typer reads it (a naive date); that module imports
# the whole ledger, so the value is repeated here and a test holds the two equal
FIRST_DAY = datetime(2019, 6, 1)
# projections.finance.FOLLOW_PAGE_SIZE, repeated for the same reason and held equal the same way
FOLLOW_PAGE_SIZE = 50


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
    from scenario import run_file, scenario_files

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
def simulate(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    accounts: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
    months: Annotated[int, typer.Option(min=1, max=120)] = 12,
    seed: Annotated[int, typer.Option()] = 1,
    cohort: Annotated[
        bool, typer.Option(help="every account arrives at one instant, monthly, with a card")
    ] = False,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="first day (UTC)")
    ] = FIRST_DAY,
) -> None:
    """Writes a reproducible history (trials, seats, plans, annual and monthly, EU and US,
    VAT IDs, declines, pools, lifetime codes, cancellations, consents) through the
    Ledger's commands, then brings the finance projection up to date."""
    from rich.progress import Progress

    from adapters.clock import SimulatedClock
    from adapters.gateway import SandboxGateway
    from simulation import simulate as run_simulation

    settings = _settings(store)
    clock = SimulatedClock(start.replace(tzinfo=UTC))
    ledger = _ledger(settings, clock=clock, gateway=SandboxGateway())
    try:
        with Progress(console=console) as progress:
            days = progress.add_task("Simulating", total=None)
            summary = run_simulation(
                ledger,
                clock,
                accounts=accounts,
                months=months,
                seed=seed,
                on_day=lambda done, total: progress.update(days, completed=done, total=total),
                cohort=cohort,
            )
            log = progress.add_task("Finance projection", total=summary.events)
            ledger.catch_up_finance(on_page=lambda at: progress.update(log, completed=at))
        console.print(
            f"{summary.accounts} accounts, {summary.commands} commands "
            f"({sum(summary.refused.values())} refused), {summary.events} events; "
            f"the clock is at {clock.now().isoformat()}"
        )
        console.print("trial balance now:", ledger.ledger())
    finally:
        ledger.close()


@app.command()
def report(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(REPORTS)}")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    currency: Annotated[str | None, typer.Option(help="only this currency")] = None,
    format: Annotated[ReportFormat, typer.Option(help="table, csv, json or png")] = (
        ReportFormat.TABLE
    ),
    output: Annotated[Path | None, typer.Option(help="png: where to write the picture")] = None,
    store: Annotated[
        list[str] | None,
        typer.Option(
            help="the store; once per store where each region has its own (RES-1): the "
            "report is over all of them; default SEATLEDGER_STORE"
        ),
    ] = None,
) -> None:
    """A month-end report for finance (the same as Ledger.report), of one store or of a
    store per region combined."""
    with ExitStack() as stack:
        stores: list[str | None] = list(store) if store else [None]
        ledgers = [stack.enter_context(_opened(each)) for each in stores]
        facts = combined([ledger.facts() for ledger in ledgers])
        found = report_of(facts, name, month, currency)
        if format is ReportFormat.PNG:
            from adapters.charts import draw

            target = output or Path(f"{name}-{month}.png")
            draw(chart(facts, Month.parse(month), found), target)
            typer.echo(str(target))
        else:
            typer.echo(render_report(found, format), nl=False)


@app.command()
def project(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    once: Annotated[bool, typer.Option(help="catch up and stop")] = False,
    page_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="SQLite: events per transaction")
    ] = FOLLOW_PAGE_SIZE,
) -> None:
    """Runs the finance projection: follows the log into its tables, forever (the
    eventsourcing ProjectionRunner) or, with --once, up to the end of the log."""
    from projections.finance import run_projection

    settings = _settings(store)
    if once:
        ledger = _ledger(settings)
        try:
            typer.echo(f"finance projection at position {ledger.catch_up_finance()}")
        finally:
            ledger.close()
        return
    run_projection(settings.store, page_size=page_size)


@contextmanager
def _opened(store: str | None) -> Iterator[Ledger]:
    """A ledger on an existing store for one command (these commands read or repair what
    is there: a mistyped SQLite path must not become a new, empty store that answers as
    if nothing had happened); a refusal exits 2 with its code."""
    from adapters.store import shown, sqlite_file

    settings = _settings(store)
    path = sqlite_file(settings.store)
    if path is not None and not path.is_file():
        typer.echo(f"{shown(settings.store)}: no such store file", err=True)
        raise typer.Exit(2)
    ledger = _ledger(settings)
    try:
        yield ledger
    except DomainError as error:
        typer.echo(f"{error.code.value}: {error.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        ledger.close()


def _ledger(settings: Settings, **parts: Any) -> Ledger:
    """The ledger on the configured store; a store it cannot read exits 2, saying why."""
    from adapters.store import shown
    from adapters.store_format import StoreFormatError
    from app import Ledger

    try:
        return Ledger(settings, **parts)
    except StoreFormatError as error:
        typer.echo(f"{shown(settings.store)}: {error}", err=True)
        raise typer.Exit(2) from None


def _settings(store: str | None) -> Settings:
    """The settings from SEATLEDGER_* (and --store); a bad one exits 2 naming the variable
    and what it takes, never the value it was given (it may be a secret)."""
    from pydantic import ValidationError

    from settings import Settings

    try:
        settings = Settings(store=store) if store else Settings()
    except ValidationError as error:
        for found in error.errors(include_input=False, include_url=False):
            where = "_".join(str(part) for part in found["loc"][:1]).upper()
            typer.echo(f"INVALID_SETTING: SEATLEDGER_{where}: {found['msg']}", err=True)
        raise typer.Exit(2) from None
    if settings.store.startswith("sqlite:///"):
        Path(settings.store[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return settings


@app.command()
def serve(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    scheduler: Annotated[bool, typer.Option(help="also run the due work and mail")] = True,
    every: Annotated[int | None, typer.Option(min=1, help="seconds between scheduler runs")] = None,
) -> None:
    """Serves the internal HTTP API and, unless told not to, the scheduler (due work and
    mail delivery; SMTP from SEATLEDGER_SMTP_*). Tokens come from SEATLEDGER_API_TOKENS;
    with none configured, one token with every scope is made for this run and printed."""
    import uvicorn
    from pydantic import SecretStr

    from api import create_app
    from scheduler import Scheduler, mailer_from
    from settings import ApiToken, Permission

    settings = _settings(store)
    tokens = settings.api_tokens
    made = None
    if not tokens:
        made = secrets.token_urlsafe(32)
        tokens = {"local": ApiToken(secret=SecretStr(made), scopes=list(Permission))}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ledger = _ledger(settings)
    running = (
        Scheduler(ledger, every_seconds=every, mailer=mailer_from(settings)).start()
        if scheduler
        else None
    )
    config = uvicorn.Config(create_app(ledger, tokens), host=host, port=port)
    url = f"http://{host}:{port}"
    for line in banner(settings, url, made):
        console.print(line, soft_wrap=True)
    try:
        uvicorn.Server(config).run()
    finally:
        if running is not None:
            running.stop()
        ledger.close()


def banner(settings: Settings, url: str, made: str | None) -> list[str]:
    """What `serve` prints on start: where it listens, the store (its password masked),
    and the token made for this run, if one was."""
    from adapters.store import shown

    lines = [f"seatledger API on {url} (OpenAPI: {url}/docs), store {shown(settings.store)}"]
    if settings.region is not None:
        lines.append(f"this store keeps region {settings.region.value}'s data only (RES-1)")
    if made is not None:
        lines.append(f"token for this run (every scope): {made}")
        lines.append(f"try: curl -s -H 'Authorization: Bearer {made}' {url}/accounts")
    else:
        lines.append(f"tokens from SEATLEDGER_API_TOKENS: {', '.join(sorted(settings.api_tokens))}")
    if settings.smtp_host is None:
        lines.append("no SEATLEDGER_SMTP_HOST: e-mails wait in the outbox")
    return lines


@app.command("scheduler")
def run_scheduler(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
    every: Annotated[int | None, typer.Option(min=1, help="seconds between runs")] = None,
) -> None:
    """Runs only the scheduler (due work and mail delivery) until stopped. Start as many as
    you like: one is active per database, the others wait to take over."""
    from scheduler import Scheduler, mailer_from

    settings = _settings(store)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ledger = _ledger(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    running = Scheduler(ledger, every_seconds=every, mailer=mailer_from(settings)).start()
    try:
        stop.wait()
    finally:
        running.stop()
        ledger.close()


@mail_app.command("outbox")
def mail_outbox(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Every notification's delivery state."""
    from rich.table import Table

    with _opened(store) as ledger:
        rows = ledger.mail_outbox()
    table = Table(title=f"mail outbox: {len(rows)} notifications")
    names = ("notification", "kind", "state", "attempts", "next_attempt_at", "last_error")
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*(str(row[name] or "") for name in names))
    console.print(table)


@mail_app.command("release")
def mail_release(
    notification: Annotated[str, typer.Argument(help="the notification id")],
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Sends an uncertain or failed e-mail again, once you know it did not arrive."""
    with _opened(store) as ledger:
        released = ledger.release_mail(UUID(notification))
    if not released:
        typer.echo("no uncertain or failed e-mail with that id", err=True)
        raise typer.Exit(2)
    typer.echo("released: it goes out on the scheduler's next run")


@due_app.command("failed")
def due_failed(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Due work set aside because it raised: its task, error and where it was raised."""
    with _opened(store) as ledger:
        rows = ledger.failed_work()
    typer.echo(f"due work set aside: {len(rows)}")
    for row in rows:
        typer.echo(
            f"{row['key']}\n  {row['kind']}, {row['attempts']} attempt(s), last at "
            f"{row['failed_at'] or '-'}: {row['error']} at {row['where']}"
        )


@due_app.command("retry")
def due_retry(
    key: Annotated[str, typer.Argument(help="the set-aside task's key")],
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Carries out a set-aside task again, once its cause is fixed; exits 1 if it still
    raises."""
    with _opened(store) as ledger:
        row = ledger.retry_due_work(key, actor="cli")
    typer.echo(json.dumps(row, indent=2))
    if row["state"] != "done":
        raise typer.Exit(1)


@subject_app.command("export")
def subject_export(
    subject: Annotated[UUID, typer.Argument(help="the subject's id")],
    right: Annotated[
        str, typer.Option(help="access, portability or information (GDPR-3)")
    ] = "access",
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """GDPR-3: records an access request and prints everything the ledger holds on the
    subject as JSON (access and portability)."""
    from domain.commands import RequestAccess

    with _opened(store) as ledger:
        request = RequestAccess.parse({"right": right})
        typer.echo(json.dumps(ledger.subject_request(subject, request), indent=2, sort_keys=True))


@audit_app.command("checkpoint")
def audit_checkpoint(
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Seals the log as it stands: a Merkle root over every aggregate's last event (the
    scheduler does this every scheduler.CHECKPOINT_EVERY)."""
    with _opened(store) as ledger:
        sealed = ledger.checkpoint(actor="cli")
    typer.echo(json.dumps(sealed) if sealed else "nothing new since the last checkpoint")


@audit_app.command("verify")
def audit_verify(
    store: Annotated[
        list[str] | None,
        typer.Option(
            help="the store; once per store where each region has its own (RES-1): each is "
            "verified; default SEATLEDGER_STORE"
        ),
    ] = None,
) -> None:
    """Recomputes every event's hash chain and every checkpoint from the stored bytes; exits
    1 and names the first event that does not match. Over several stores: each store's
    summary by its (masked) address, and `ok` when every one verifies."""
    stores: list[str | None] = list(store) if store else [None]
    summaries = dict(_verified(each) for each in stores)
    every = all(summary["ok"] for summary in summaries.values())
    if len(summaries) == 1:
        typer.echo(json.dumps(next(iter(summaries.values())), indent=2))
    else:
        typer.echo(json.dumps({"ok": every, "stores": summaries}, indent=2))
    if not every:
        raise typer.Exit(1)


def _verified(store: str | None) -> tuple[str, dict[str, Any]]:
    """One store's verification summary, by the store's (masked) address."""
    from rich.progress import Progress

    from adapters.store import shown

    with _opened(store) as ledger, Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("verifying", total=None)
        result = ledger.verify(on_page=lambda position: bar.update(task, completed=position))
        return shown(ledger.settings.store), result.summary()


@audit_app.command("replay")
def audit_replay(
    until: Annotated[
        str | None, typer.Option(help="replay the log as recorded up to this instant (ISO 8601)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="write the result here too")] = None,
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Rebuilds every projection from the event log into a scratch store and compares it
    with the live one; exits 1 when any row differs (reported by table and key)."""
    from rich.progress import Progress

    with _opened(store) as ledger, Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replaying", total=ledger.store.recorder.max_notification_id())
        result = ledger.replay(until, on_page=lambda at: bar.update(task, completed=at))
    document = result.document()
    if output is not None:
        output.write_text(document)
    typer.echo(document, nl=False)
    if not result.identical:
        raise typer.Exit(1)


@audit_app.command("explain")
def audit_explain(
    number: Annotated[str, typer.Argument(help="an invoice or credit-note number")],
    as_json: Annotated[bool, typer.Option("--json", help="the trail as JSON")] = False,
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """The trail behind a document: each line and posting with its TERMS.md rule and the
    events it came from."""
    with _opened(store) as ledger:
        trail = ledger.explain(number)
    if as_json:
        typer.echo(json.dumps(trail, indent=2))
        return
    for line in render_trail(trail):
        typer.echo(line)


@audit_app.command("documents")
def audit_documents(
    number: Annotated[str, typer.Argument(help="an invoice or credit-note number")],
    check: Annotated[
        bool, typer.Option("--check", help="render it again and compare with the digests")
    ] = False,
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """The SHA-256 of each rendering of a document, as recorded at its issue; with
    --check, renders it again from the log and compares byte for byte (exits 1 when any
    rendering differs, naming the libraries then and now)."""
    with _opened(store) as ledger:
        if not check:
            recorded = ledger.recorded_document(number).sha256
            sha256 = {rendering.value: digest for rendering, digest in recorded.items()}
            typer.echo(json.dumps({"number": number, "sha256": sha256}, indent=2))
            return
        result = ledger.check_document(number)
    typer.echo(json.dumps(result, indent=2))
    if not result["matches"]:
        raise typer.Exit(1)


@documents_app.command("export")
def documents_export(
    output: Annotated[Path, typer.Option(help="the directory to write the files to")],
    rendering: Annotated[
        Rendering, typer.Option("--format", help="ubl, cii or pdf", case_sensitive=False)
    ],
    start: Annotated[
        datetime | None,
        typer.Option("--from", help="issued on or after this UTC day", formats=[DAY_FORMAT]),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", help="issued on or before this UTC day", formats=[DAY_FORMAT]),
    ] = None,
    store: Annotated[str | None, typer.Option(help="the store; default SEATLEDGER_STORE")] = None,
) -> None:
    """Writes one file per invoice and credit note issued from --from to --to (both days
    included), named by its number (2025-000001.xml, CN-2025-000001.pdf): a month's
    documents for the books."""
    from rich.progress import Progress

    output.mkdir(parents=True, exist_ok=True)
    extension = "pdf" if rendering is Rendering.PDF else "xml"
    with _opened(store) as ledger:
        after = None if end is None else end + timedelta(days=1)
        found = ledger.issued_documents(_utc(start), _utc(after))
        erased: list[str] = []
        with Progress(console=Console(stderr=True), transient=True) as bar:
            for number, rendered in bar.track(found, description="rendering"):
                try:
                    data = rendered(rendering)
                except DomainError as refused:
                    if refused.code is not ErrorCode.DOCUMENT_ERASED:
                        raise
                    erased.append(number)
                    continue
                (output / f"{number}.{extension}").write_bytes(data)
    typer.echo(f"{len(found) - len(erased)} documents written to {output}")
    if erased:
        # GDPR-4: the buyer's details are gone, so the document cannot be made again
        typer.echo(f"{len(erased)} not written, their billing details erased: {', '.join(erased)}")


def _utc(day: datetime | None) -> datetime | None:
    return None if day is None else day.replace(tzinfo=UTC)


def render_trail(trail: dict[str, Any]) -> list[str]:
    def money(value: dict[str, str]) -> str:
        text = Money.text_of(value)
        assert text is not None, "the trail writes every amount as money"
        return text

    def event(version: int) -> str:
        ref = trail["events"][str(version)]
        return (
            f"v{version} {ref['event']} effective {ref['effective_at']} recorded "
            f"{ref['recorded_at']} by {ref['actor'] or '-'} (sha256 {ref['digest'][:16]})"
        )

    doc = trail["document"]
    out = [
        f"{doc['kind']} {doc['number']} of account {doc['account']}, issued {doc['issued_at']}:"
        f" net {money(doc['net'])}, VAT {money(doc['vat'])}, total {money(doc['total'])}",
        f"  issued by {event(trail['issued_by']['version'])}",
    ]
    if doc["credits"] or doc["reissue_of"]:
        out.append(
            f"  credits {doc['credits']}" if doc["credits"] else f"  reissues {doc['reissue_of']}"
        )
    out += [f"  caused by {event(ref['version'])}" for ref in trail["caused_by"]]
    out.append("lines:")
    out += [
        f"  {ln['line']}. {ln['rule']:<9} {money(ln['amount']):>14}  {ln['description']}"
        f"  <- events {', '.join(f'v{v}' for v in ln['events'])}"
        for ln in trail["lines"]
    ]
    tax = trail["tax"]
    out.append(f"tax: {tax['rule']} {tax['treatment']} {tax['country']} {tax['rate']}")
    out.append("postings:")
    out += [
        f"  {p['at']} {p['ledger_account']:<24} {money(p['amount']):>14}  "
        f"{p['rule']:<9} <- v{p['event']}"
        for p in trail["postings"]
    ]
    out.append("revenue recognition:")
    out += [
        f"  line {s['line']} {s['revenue_account']:<24} {money(s['amount']):>14} over "
        f"[{s['from']}, {s['until']})  {s['rule']:<9} <- v{s['event']}"
        for s in trail["recognition"]
    ]
    out.append("settled by:")
    out += [
        f"  {s['at']} {money(s['amount']):>14}  {s['rule']:<9} <- v{s['event']}"
        for s in trail["settlements"]
    ]
    out.append("events:")
    out += [f"  {event(int(v))}" for v in trail["events"]]
    return out


@audit_app.command("docs")
def audit_docs(
    check: Annotated[bool, typer.Option(help="only check that they are up to date")] = False,
) -> None:
    """Writes the event catalog and the traceability matrix (docs/) from the code; with
    --check, exits 1 when either is out of date or a rule has no code or no test."""
    from adapters.generated_docs import ROOT, STORIES, TERMS, gaps, generated, traces

    stale = []
    for path, text in generated().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            typer.echo(f"wrote {path}")
    missing = gaps(traces(ROOT, TERMS, STORIES))
    for gap in missing:
        typer.echo(f"gap: {gap}", err=True)
    for name in stale:
        typer.echo(f"out of date: {name} (run seatledger audit docs)", err=True)
    if stale or missing:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
