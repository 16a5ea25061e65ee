"""The scenario runner: YAML stories in time, run against a fresh ledger per file
(SCENARIOS.md). Scenario files are data; nothing here knows any particular one."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse
from uuid import UUID, uuid4

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.catalog import Catalog
from domain.commands import (
    AccountCommand,
    AddPaymentMethod,
    AddSeats,
    AnnouncePriceChange,
    Cancel,
    ChangePlan,
    ChooseLanguage,
    Command,
    CorrectInvoice,
    GiveConsent,
    GrantPrepaidCredit,
    LiftSuspension,
    OpenAccount,
    OpenWithCode,
    RecordActivity,
    RedeemCode,
    RemoveSeats,
    ReportSharedLogin,
    RequestAccess,
    RequestErasure,
    ResolveSharedLogin,
    SellCode,
    SetBillingDetails,
    SetVatId,
    SubjectRequest,
    Suspend,
    WithdrawConsent,
)
from domain.errors import DomainError, ErrorCode, invalid
from domain.money import Money
from domain.values import check_instant
from settings import Settings

MAX_STEPS = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: instants and dates stay text until we parse them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    rules: list[str] = []
    catalog: dict[str, Any] | None = None
    settings: dict[str, Any] = {}
    steps: list[dict[str, Any]] = Field(max_length=MAX_STEPS)


@dataclass
class Failure:
    file: str
    step: int | str
    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return (
            f"{self.file}: step {self.step}: {self.path}: "
            f"expected {self.expected!r}, actual {self.actual!r}"
        )


@dataclass
class Outcome:
    file: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def parse_instant(value: object) -> datetime:
    """An instant of a story (domain.values.check_instant); ValueError when not one."""
    return check_instant(str(value))


# ---------------------------------------------------------------- commands


class Names:
    """Scenario names of accounts and data subjects, mapped to ledger ids."""

    def __init__(self) -> None:
        self.accounts: dict[str, UUID] = {}
        self.subjects: dict[str, UUID] = {}

    def account(self, name: object) -> UUID:
        try:
            return self.accounts[str(name)]
        except KeyError:
            raise DomainError(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account named {name!r}", "account"
            ) from None

    def subject(self, name: object) -> UUID:
        try:
            return self.subjects[str(name)]
        except KeyError:
            raise DomainError(
                ErrorCode.UNKNOWN_SUBJECT, f"no data subject named {name!r}", "subject"
            ) from None

    def new_account(self, name: str) -> str:
        if name in self.accounts:
            raise invalid("account", f"account name {name!r} is already used")
        return name


Step = Callable[[Ledger, Names, dict[str, Any]], None]


def _name(args: dict[str, Any], key: str) -> str:
    """The scenario name a step gives under `key` (taken out of the command's fields)."""
    if key not in args:
        raise invalid(key, "is required")
    return str(args.pop(key))


def _on_account(kind: type[AccountCommand]) -> Step:
    def run(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
        account = names.account(_name(args, "account"))
        ledger.execute(account, kind.parse(args))

    return run


def _open_account(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
    name = names.new_account(_name(args, "account"))
    names.accounts[name] = ledger.open_account(OpenAccount.parse(args))


def _redeem_code(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
    """LTD: a code redeemed on the named account, or opening it when the name is new."""
    name = _name(args, "account")
    if name in names.accounts:
        ledger.redeem_code(names.accounts[name], RedeemCode.parse(args))
    else:
        names.accounts[name] = ledger.open_with_code(OpenWithCode.parse(args))


def _gateway(decline: bool) -> Step:
    def run(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
        account_id = names.account(_name(args, "account"))
        if args:
            raise invalid(sorted(args)[0], "is not an argument of this step")
        assert isinstance(ledger.gateway, SandboxGateway), "only the sandbox gateway takes orders"
        (ledger.gateway.decline if decline else ledger.gateway.accept)(account_id)

    return run


def _give_consent(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
    name = _name(args, "subject")
    if "account" in args:
        args["account"] = names.account(args["account"])
    names.subjects[name] = ledger.give_consent(GiveConsent.parse(args), names.subjects.get(name))


def _withdraw_consent(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
    subject = names.subject(_name(args, "subject"))
    ledger.withdraw_consent(subject, WithdrawConsent.parse(args))


def _subject_request(kind: type[SubjectRequest]) -> Step:
    def run(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
        subject = names.subject(_name(args, "subject"))
        ledger.subject_request(subject, kind.parse(args))

    return run


def _vendor(call: Callable[[Ledger, Any], object], kind: type[Command]) -> Step:
    def run(ledger: Ledger, names: Names, args: dict[str, Any]) -> None:
        call(ledger, kind.parse(args))

    return run


COMMANDS: dict[str, Step] = {
    "open_account": _open_account,
    **{
        kind.command: _on_account(kind)
        for kind in (
            AddPaymentMethod,
            SetBillingDetails,
            SetVatId,
            ChooseLanguage,
            AddSeats,
            RemoveSeats,
            ChangePlan,
            RecordActivity,
            Cancel,
            Suspend,
            LiftSuspension,
            ReportSharedLogin,
            ResolveSharedLogin,
            CorrectInvoice,
            GrantPrepaidCredit,
        )
    },
    "announce_price_change": _vendor(Ledger.announce_price_change, AnnouncePriceChange),
    "decline_payments": _gateway(decline=True),
    "accept_payments": _gateway(decline=False),
    "sell_code": _vendor(Ledger.sell_code, SellCode),
    "redeem_code": _redeem_code,
    "give_consent": _give_consent,
    "withdraw_consent": _withdraw_consent,
    "request_erasure": _subject_request(RequestErasure),
    "request_access": _subject_request(RequestAccess),
}


# ---------------------------------------------------------------- queries


def run_query(ledger: Ledger, names: Names, query: str) -> Any:
    words = str(query).split()
    if not words:
        raise ValueError("empty query")
    head, rest = words[0], words[1:]
    if head == "ledger" and not rest:
        return ledger.ledger()
    per_account: dict[str, Callable[[UUID], Any]] = {
        "account": ledger.account,
        "invoices": ledger.invoices,
        "payments": ledger.payments,
        "refunds": ledger.refunds,
        "balance": ledger.balance,
        "notifications": ledger.notifications,
        "credit_window": ledger.credit_window,
    }
    if head in per_account and len(rest) == 1:
        return per_account[head](names.account(rest[0]))
    if head == "liability_cap" and len(rest) == 3 and rest[1] == "on":
        return ledger.liability_cap(names.account(rest[0]), rest[2])["cap"]
    if head == "subject" and len(rest) == 1:
        return ledger.subject(names.subject(rest[0]))
    if head == "retention" and len(rest) == 1:
        return ledger.retention(names.subject(rest[0]))
    if head == "subprocessors" and len(rest) == 3 and rest[1] == "on":
        return ledger.subprocessors(names.account(rest[0]), rest[2])
    raise ValueError(f"unknown query {query!r}")


# ---------------------------------------------------------------- matching


def _story_money(actual: Any) -> Any:
    """The ledger writes money as {amount, currency}; the story format as "30.00 USD"."""
    text = Money.text_of(actual)
    return actual if text is None else text


def _same_scalar(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    if str(expected) == str(actual):
        return True
    with contextlib.suppress(ValueError):
        return parse_instant(expected) == parse_instant(actual)
    return False


def match(expected: Any, actual: Any, path: str) -> list[tuple[str, Any, Any]]:
    """Mappings match on the keys given; lists in length and order; {contains: [...]} as an
    ordered subsequence; scalars by value."""
    if (
        isinstance(expected, dict)
        and set(expected) == {"contains"}
        and isinstance(expected["contains"], list)
    ):
        if not isinstance(actual, list):
            return [(path, expected, actual)]
        position = 0
        for wanted in expected["contains"]:
            while position < len(actual) and match(wanted, actual[position], path):
                position += 1
            if position == len(actual):
                return [(path, expected, actual)]
            position += 1
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(path, expected, actual)]
        mismatches: list[tuple[str, Any, Any]] = []
        for key, value in expected.items():
            if key not in actual:
                mismatches.append((f"{path}.{key}", value, "<missing>"))
            else:
                mismatches += match(value, actual[key], f"{path}.{key}")
        return mismatches
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [(path, expected, actual)]
        found: list[tuple[str, Any, Any]] = []
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found += match(e, a, f"{path}[{index}]")
        return found
    actual = _story_money(actual)
    return [] if _same_scalar(expected, actual) else [(path, expected, actual)]


# ---------------------------------------------------------------- running


@contextlib.contextmanager
def fresh_store(store: str | None) -> Iterator[str]:
    """A fresh, empty store for one scenario file: memory by default; on SQLite a new file
    beside the one named; on PostgreSQL a new schema, dropped afterwards."""
    if store is None:
        yield "memory://"
        return
    parsed = urlparse(store)
    if parsed.scheme == "sqlite":
        folder = Path(store[len("sqlite:///") :]).parent
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            yield f"sqlite:///{scratch}/scenario.db"
        return
    if parsed.scheme in ("postgresql", "postgres"):
        import psycopg

        schema = f"scenario_{uuid4().hex[:16]}"
        conninfo = store.split("?")[0]
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{conninfo}?{urlencode({'schema': schema, 'pool_size': '2'})}"
        finally:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return
    yield store


def run_file(
    path: Path, store: str | None = None, inspect: Callable[[Ledger], None] | None = None
) -> Outcome:
    """Runs one story on a fresh ledger; `inspect` sees the ledger at the story's end."""
    outcome = Outcome(str(path))

    def fail(step: int | str, where: str, expected: Any, actual: Any) -> None:
        outcome.failures.append(Failure(str(path), step, where, expected, actual))

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        scenario = ScenarioFile.model_validate(data)
        settings_overrides = dict(scenario.settings)
        catalog = Catalog.from_data(scenario.catalog) if scenario.catalog else None
    except (OSError, yaml.YAMLError, ValidationError, DomainError) as error:
        fail("-", "file", "a valid scenario file", str(error).splitlines()[0])
        return outcome

    with contextlib.ExitStack() as opened:
        try:
            url = opened.enter_context(fresh_store(store))
            settings = Settings(store=url, **settings_overrides)
        except ValidationError as error:
            fail("-", "settings", "valid settings", str(error).splitlines()[0])
            return outcome
        except Exception as error:  # a store that cannot be made fails this file only
            fail("-", "store", "a fresh store", f"{type(error).__name__}: {error}")
            return outcome
        clock = SimulatedClock(EPOCH)
        try:
            ledger = Ledger(settings, clock=clock, gateway=SandboxGateway(), catalog=catalog)
        except Exception as error:  # nor one that cannot be opened
            fail("-", "store", "a ledger on the store", f"{type(error).__name__}: {error}")
            return outcome
        opened.callback(ledger.close)
        _run_steps(ledger, clock, scenario.steps, fail)
        if inspect is not None:
            inspect(ledger)
    return outcome


def _advance(ledger: Ledger, clock: SimulatedClock, until: datetime) -> None:
    """Runs all scheduled work due up to `until`, each piece at its own instant."""
    for _ in range(MAX_STEPS * 100):
        due = ledger.next_due()
        if due is None or due > until:
            break
        clock.set(max(due, clock.now()))
        ledger.run_due(due)
    clock.set(until)


Fail = Callable[[int | str, str, Any, Any], None]


def _run_steps(
    ledger: Ledger, clock: SimulatedClock, steps: list[dict[str, Any]], fail: Fail
) -> None:
    """Runs the story's steps in order; a step the file gets wrong, or one that raises
    something other than a refusal, ends the story there (its failure says which)."""
    names = Names()
    latest = EPOCH
    for number, step in enumerate(steps, start=1):
        try:
            reached = _run_step(ledger, clock, names, number, step, latest, fail)
        except Exception as error:  # a defect: this story fails, the next file still runs
            last = (str(error).strip().splitlines() or [""])[-1]
            fail(number, "step", "no unexpected error", f"{type(error).__name__}: {last}")
            return
        if reached is None:
            return
        latest = reached


def _run_step(
    ledger: Ledger,
    clock: SimulatedClock,
    names: Names,
    number: int,
    step: object,
    latest: datetime,
    fail: Fail,
) -> datetime | None:
    """One step; the instant reached, or None when the file is wrong here."""
    if not isinstance(step, dict):
        fail(number, "step", "a mapping", step)
        return None
    if "expect" in step:
        if set(step) != {"expect"} or not isinstance(step["expect"], dict):
            fail(number, "step", "expect: {QUERY: EXPECTED}", step)
            return None
        for query, expected in step["expect"].items():
            try:
                actual = run_query(ledger, names, query)
            except (DomainError, ValueError) as error:
                fail(number, str(query), expected, f"error: {error}")
                continue
            for where, e, a in match(expected, actual, str(query)):
                fail(number, where, e, a)
        return latest
    instant_key = "advance" if "advance" in step else "at"
    try:
        instant = parse_instant(step.get(instant_key))
    except ValueError as error:
        fail(number, instant_key, "an instant with a zone", str(error))
        return None
    if instant < latest:
        expected_instant = f"an instant at or after {latest.isoformat()}"
        fail(number, instant_key, expected_instant, instant.isoformat())
        return None
    _advance(ledger, clock, instant)
    if instant_key == "advance":
        if set(step) != {"advance"}:
            fail(number, "step", "advance alone", sorted(step))
            return None
        return instant
    commands = [k for k in step if k not in ("at", "error")]
    if len(commands) != 1 or commands[0] not in COMMANDS:
        fail(number, "step", f"exactly one command of {sorted(COMMANDS)}", commands)
        return None
    command = commands[0]
    expected_error = step.get("error")
    arguments = step[command]
    try:
        if not isinstance(arguments, dict):
            raise invalid(command, "takes a mapping of arguments")
        COMMANDS[command](ledger, names, dict(arguments))
    except DomainError as error:
        if expected_error != error.code.value:
            actual = f"{error.code.value}: {error.message}"
            fail(number, command, expected_error or "success", actual)
        return instant
    if expected_error is not None:
        fail(number, command, expected_error, "success")
    return instant


def scenario_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found
