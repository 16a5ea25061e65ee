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
from domain.errors import DomainError, ErrorCode
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
    text = str(value)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 instant: {text!r}") from None
    if at.tzinfo is None:
        raise ValueError(f"an instant needs a zone: {text!r}")
    return at.astimezone(UTC)


# ---------------------------------------------------------------- commands


class Names:
    """Scenario names of accounts, mapped to ledger ids."""

    def __init__(self) -> None:
        self.accounts: dict[str, UUID] = {}

    def account(self, name: object) -> UUID:
        try:
            return self.accounts[str(name)]
        except KeyError:
            raise DomainError(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account named {name!r}", "account"
            ) from None


def _args(args: object) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise DomainError(ErrorCode.INVALID_INPUT, "a command takes a mapping of arguments")
    return dict(args)


def _take(args: dict[str, Any], *required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    missing = [k for k in required if k not in args]
    if missing:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"missing argument(s): {', '.join(missing)}", missing[0]
        )
    unknown = sorted(set(args) - set(required) - set(optional))
    if unknown:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"unknown argument(s): {', '.join(unknown)}", unknown[0]
        )
    return args


def _open_account(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(
        _args(raw),
        "account",
        "owner",
        "company",
        "country",
        "currency",
        "plan",
        "cycle",
        "seats",
        optional=("trial_days", "region", "language"),
    )
    name = str(args["account"])
    if name in names.accounts:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"account name {name!r} is already used", "account"
        )
    owner = args["owner"] if isinstance(args["owner"], dict) else {}
    names.accounts[name] = ledger.open_account(
        owner_name=owner.get("name", ""),
        owner_email=owner.get("email", ""),
        company=args["company"],
        country=args["country"],
        currency=args["currency"],
        plan=args["plan"],
        cycle=args["cycle"],
        seats=args["seats"],
        trial_days=args.get("trial_days"),
        region=args.get("region"),
        language=args.get("language", "en"),
    )


def _account_call(
    method: str, *required: str, optional: tuple[str, ...] = ()
) -> Callable[[Ledger, Names, object], None]:
    def run(ledger: Ledger, names: Names, raw: object) -> None:
        args = _take(_args(raw), "account", *required, optional=optional)
        account_id = names.account(args.pop("account"))
        getattr(ledger, method)(account_id, **args)

    return run


def _gateway(decline: bool) -> Callable[[Ledger, Names, object], None]:
    def run(ledger: Ledger, names: Names, raw: object) -> None:
        args = _take(_args(raw), "account")
        account_id = names.account(args["account"])
        assert isinstance(ledger.gateway, SandboxGateway), "only the sandbox gateway takes orders"
        (ledger.gateway.decline if decline else ledger.gateway.accept)(account_id)

    return run


def _announce(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(_args(raw), "plan", "currency", "cycle", "price", "effective_on")
    ledger.announce_price_change(**args)


def _sell_code(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(_args(raw), "code", optional=("currency",))
    ledger.sell_code(str(args["code"]), args.get("currency", "USD"))


def _redeem_code(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(
        _args(raw),
        "code",
        "account",
        optional=("owner", "company", "country", "currency", "region"),
    )
    name = str(args["account"])
    if name in names.accounts:
        extra = sorted(set(args) - {"code", "account"})
        if extra:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"an existing account takes no {extra[0]}", extra[0]
            )
        ledger.redeem_code(str(args["code"]), names.accounts[name])
        return
    owner = args.get("owner") if isinstance(args.get("owner"), dict) else {}
    assert isinstance(owner, dict)
    names.accounts[name] = ledger.redeem_code(
        str(args["code"]),
        owner_name=owner.get("name", ""),
        owner_email=owner.get("email", ""),
        company=args.get("company", ""),
        country=args.get("country", ""),
        currency=args.get("currency", "USD"),
        region=args.get("region"),
    )


def _give_consent(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(_args(raw), "subject", "purposes", optional=("email", "name", "account"))
    account = names.account(args["account"]) if "account" in args else None
    ledger.give_consent(
        str(args["subject"]),
        args["purposes"],
        email=args.get("email"),
        name=args.get("name"),
        account_id=account,
    )


def _withdraw_consent(ledger: Ledger, names: Names, raw: object) -> None:
    args = _take(_args(raw), "subject", "purposes")
    ledger.withdraw_consent(str(args["subject"]), args["purposes"])


def _subject_call(method: str) -> Callable[[Ledger, Names, object], None]:
    def run(ledger: Ledger, names: Names, raw: object) -> None:
        getattr(ledger, method)(str(_take(_args(raw), "subject")["subject"]))

    return run


COMMANDS: dict[str, Callable[[Ledger, Names, object], None]] = {
    "open_account": _open_account,
    "add_payment_method": _account_call("add_payment_method", "kind", "token"),
    "set_billing_details": _account_call(
        "set_billing_details", "name", "company", optional=("email", "address")
    ),
    "set_vat_id": _account_call("set_vat_id", "vat_id"),
    "choose_language": _account_call("choose_language", "language"),
    "add_seats": _account_call("add_seats", "count"),
    "remove_seats": _account_call("remove_seats", "count"),
    "change_plan": _account_call("change_plan", "plan"),
    "record_activity": _account_call("record_activity"),
    "cancel": _account_call("cancel", "via"),
    "suspend": _account_call("suspend", "reason"),
    "lift_suspension": _account_call("lift_suspension", "reason"),
    "report_shared_login": _account_call("report_shared_login", "login"),
    "resolve_shared_login": _account_call("resolve_shared_login", "login"),
    "announce_price_change": _announce,
    "decline_payments": _gateway(decline=True),
    "accept_payments": _gateway(decline=False),
    "correct_invoice": _account_call("correct_invoice", optional=("name", "company", "address")),
    "grant_prepaid_credit": _account_call(
        "grant_prepaid_credit", "amount", optional=("cancellation_fee",)
    ),
    "sell_code": _sell_code,
    "redeem_code": _redeem_code,
    "give_consent": _give_consent,
    "withdraw_consent": _withdraw_consent,
    "request_erasure": _subject_call("request_erasure"),
    "request_access": _subject_call("request_access"),
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
        return ledger.liability_cap(names.account(rest[0]), rest[2])
    if head == "subject" and len(rest) == 1:
        return ledger.subject(rest[0])
    if head == "retention" and len(rest) == 1:
        return ledger.retention(rest[0])
    if head == "subprocessors" and len(rest) == 3 and rest[1] == "on":
        return ledger.subprocessors(names.account(rest[0]), rest[2])
    raise ValueError(f"unknown query {query!r}")


# ---------------------------------------------------------------- matching


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

    with fresh_store(store) as url:
        try:
            settings = Settings(store=url, **settings_overrides)
        except ValidationError as error:
            fail("-", "settings", "valid settings", str(error).splitlines()[0])
            return outcome
        clock = SimulatedClock(EPOCH)
        ledger = Ledger(settings, clock=clock, gateway=SandboxGateway(), catalog=catalog)
        try:
            _run_steps(ledger, clock, scenario.steps, fail)
            if inspect is not None:
                inspect(ledger)
        finally:
            ledger.close()
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


def _run_steps(
    ledger: Ledger,
    clock: SimulatedClock,
    steps: list[dict[str, Any]],
    fail: Callable[[int | str, str, Any, Any], None],
) -> None:
    names = Names()
    latest = EPOCH
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            fail(number, "step", "a mapping", step)
            return
        if "expect" in step:
            if set(step) != {"expect"} or not isinstance(step["expect"], dict):
                fail(number, "step", "expect: {QUERY: EXPECTED}", step)
                return
            for query, expected in step["expect"].items():
                try:
                    actual = run_query(ledger, names, query)
                except (DomainError, ValueError) as error:
                    fail(number, str(query), expected, f"error: {error}")
                    continue
                for where, e, a in match(expected, actual, str(query)):
                    fail(number, where, e, a)
            continue
        instant_key = "advance" if "advance" in step else "at"
        try:
            instant = parse_instant(step.get(instant_key))
        except ValueError as error:
            fail(number, instant_key, "an instant with a zone", str(error))
            return
        if instant < latest:
            fail(
                number,
                instant_key,
                f"an instant at or after {latest.isoformat()}",
                instant.isoformat(),
            )
            return
        latest = instant
        _advance(ledger, clock, instant)
        if instant_key == "advance":
            if set(step) != {"advance"}:
                fail(number, "step", "advance alone", sorted(step))
                return
            continue
        commands = [k for k in step if k not in ("at", "error")]
        if len(commands) != 1 or commands[0] not in COMMANDS:
            fail(number, "step", f"exactly one command of {sorted(COMMANDS)}", commands)
            return
        command = commands[0]
        expected_error = step.get("error")
        try:
            COMMANDS[command](ledger, names, step[command])
        except DomainError as error:
            if expected_error != error.code.value:
                fail(
                    number,
                    command,
                    expected_error or "success",
                    f"{error.code.value}: {error.message}",
                )
            continue
        if expected_error is not None:
            fail(number, command, expected_error, "success")


def scenario_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found
