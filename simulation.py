"""A synthetic customer base that drives the Ledger through the same commands the API
uses, day by day, with the scheduler's due work run between days: something real for the
reports to chew on.

Reproducible: the same seed, sizes and start give the same history (figures, numbers,
dates; account ids are random UUIDs). Commands the ledger refuses (a seat below one, a
plan it is already on) are counted, not fatal: customers do try such things.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from stdnum.eu import vat as eu_vat

from adapters.clock import SimulatedClock
from adapters.gateway import SandboxGateway
from app import Ledger
from domain.cancellation import CancellationChannel
from domain.catalog import Cycle
from domain.commands import (
    AccountCommand,
    AddPaymentMethod,
    AddSeats,
    Cancel,
    ChangePlan,
    CorrectInvoice,
    GiveConsent,
    GrantPrepaidCredit,
    OpenAccount,
    OpenWithCode,
    Owner,
    PostalAddress,
    RecordActivity,
    RemoveSeats,
    ReportSharedLogin,
    SellCode,
    SetBillingDetails,
    SetVatId,
    WithdrawConsent,
)
from domain.dates import add_months
from domain.errors import DomainError, ErrorCode
from domain.invoicing import PaymentMethodKind
from domain.subjects import Purpose

DEFAULT_START = datetime(2019, 6, 1, tzinfo=UTC)  # lifetime codes still redeemable (LTD-2)
PLANS = ("ticket", "ticket-chat", "all-inclusive")
# (country, currency, weight): EU customers bill in EUR, the rest in USD.
COUNTRIES = (
    ("US", "USD", 40),
    ("CA", "USD", 5),
    ("GB", "USD", 5),
    ("DE", "EUR", 15),
    ("FR", "EUR", 8),
    ("NL", "EUR", 8),
    ("PL", "EUR", 8),
    ("SK", "EUR", 6),
    ("SI", "EUR", 3),
    ("BG", "EUR", 2),
)
VAT_ID_DIGITS = {"DE": 9, "FR": 11, "NL": 12, "PL": 10, "SK": 10, "SI": 8, "BG": 9}
VAT_ID_TRIES = 10_000
# Daily chances, per live account, of what its people (or its card) do.
P_ACTIVITY = 0.04
CHANCES = (
    ("add_seats", 0.006),
    ("remove_seats", 0.003),
    ("change_plan", 0.001),
    ("cancel", 0.0006),
    ("card_declines", 0.0008),
    ("grant_prepaid_credit", 0.0004),
    ("report_shared_login", 0.0002),
    ("withdraw_consent", 0.0005),
    ("correct_invoice", 0.003),
)
DECLINE_DAYS = (2, 12)


def _valid_vat_id(rng: random.Random, country: str) -> str | None:
    """A VAT ID whose check digits hold (INV-5), found by trying random numbers."""
    digits = VAT_ID_DIGITS.get(country)
    if digits is None:
        return None
    for _ in range(VAT_ID_TRIES):
        body = "".join(rng.choice("0123456789") for _ in range(digits))
        if country == "NL":
            body = body[:9] + "B" + body[10:]
        candidate = country + body
        if eu_vat.is_valid(candidate):
            return candidate
    return None


@dataclass
class Customer:
    id: UUID
    index: int
    arrived: int  # the simulation day it arrived
    country: str
    currency: str
    annual: bool
    card_day: int | None  # days after arrival it adds a card; None: never
    lifetime: bool
    consented: bool
    subject: UUID | None = None  # the owner as a data subject, once consent was given
    closed: bool = False
    declining_until: datetime | None = None


@dataclass
class Summary:
    accounts: int = 0
    commands: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    events: int = 0


class Simulation:
    def __init__(self, ledger: Ledger, clock: SimulatedClock, seed: int) -> None:
        assert isinstance(ledger.gateway, SandboxGateway), "the simulation steers the sandbox"
        self.ledger = ledger
        self.gateway: SandboxGateway = ledger.gateway
        self.clock = clock
        self.rng = random.Random(seed)
        self.customers: list[Customer] = []
        self.summary = Summary()

    def run(
        self,
        accounts: int,
        months: int,
        on_day: Callable[[int, int], None] | None = None,
        *,
        cohort: bool = False,
    ) -> Summary:
        """`accounts` arrive over the first four fifths of `months`; with `cohort`, all at
        the first morning's one instant, monthly, each with a card: a month-end run's shape,
        every renewal due at once. Run again, the same customers live on."""
        start = self.clock.now()
        days = (add_months(start, months) - start).days
        if cohort:
            arrivals = [0] * accounts
        else:
            arrivals = sorted(self.rng.randrange(0, max(1, days * 4 // 5)) for _ in range(accounts))
        arriving = Counter(arrivals)
        for day in range(days):
            morning = start + timedelta(days=day, hours=9)
            self._run_due(morning)
            for _ in range(arriving[day]):
                minutes = 0 if cohort else len(self.customers)
                self._arrive(morning + timedelta(minutes=minutes), day, cohort)
            for customer in self.customers:
                if not customer.closed:
                    self._live(customer, morning + timedelta(hours=2), day)
            if on_day is not None:
                on_day(day + 1, days)
        self._run_due(start + timedelta(days=days))
        self.summary.accounts = len(self.customers)
        self.summary.events = self.ledger.store.recorder.max_notification_id() or 0
        return self.summary

    def _run_due(self, until: datetime) -> None:
        self.clock.set(max(until, self.clock.now()))
        self.ledger.run_due(until)

    def _command(self, name: str, call: Callable[[], object], at: datetime) -> object:
        """Runs one command at `at`; a refusal is counted and returned as its code."""
        self.clock.set(max(at, self.clock.now()))
        self.summary.commands += 1
        try:
            return call()
        except DomainError as error:
            self.summary.refused[f"{name}:{error.code.value}"] += 1
            return error.code

    def _act(self, c: Customer, name: str, at: datetime, call: Callable[[], object]) -> None:
        if self._command(name, call, at) is ErrorCode.ACCOUNT_CLOSED:
            c.closed = True  # cancelled or deleted: its people do nothing more

    def _on(self, c: Customer, command: AccountCommand, at: datetime) -> None:
        """A command the customer's people give on their account."""
        self._act(c, command.command, at, lambda: self.ledger.execute(c.id, command))

    def _arrive(self, at: datetime, day: int, cohort: bool = False) -> None:
        rng, n = self.rng, len(self.customers) + 1
        country, currency = rng.choices(
            [(c, cur) for c, cur, _ in COUNTRIES], weights=[w for _, _, w in COUNTRIES]
        )[0]
        led = self.ledger
        lifetime = (
            not cohort
            and currency == "USD"
            and rng.random() < 0.05
            and at <= self.ledger.settings.ltd_redeem_deadline  # LTD-2
        )
        cycle = "annual" if rng.random() < 0.25 and not lifetime and not cohort else "monthly"
        owner = Owner(name=f"Owner {n}", email=f"owner{n}@customers.example")
        company = f"Customer {n}"
        if lifetime:
            code = f"LTD-{n:06d}"
            sale = SellCode(code=code, currency=currency)
            self._command("sell_code", lambda: led.sell_code(sale), at)
            redemption = OpenWithCode(
                code=code, owner=owner, company=company, country=country, currency=currency
            )
            found = self._command("redeem_code", lambda: led.open_with_code(redemption), at)
        else:
            opening = OpenAccount(
                owner=owner,
                company=company,
                country=country,
                currency=currency,
                plan=rng.choice(PLANS),
                cycle=Cycle(cycle),
                seats=rng.randint(1, 12),
            )
            found = self._command("open_account", lambda: led.open_account(opening), at)
        if not isinstance(found, UUID):
            return
        if cohort:
            card_day: int | None = 0
        elif lifetime:
            card_day = rng.randint(0, 60)
        elif rng.random() < 0.75:
            card_day = rng.randint(0, 13)  # converts during the trial (TRIAL-2)
        else:
            card_day = rng.randint(20, 80) if rng.random() < 0.3 else None  # lapses (TRIAL-3)
        vat_id = _valid_vat_id(rng, country) if rng.random() < 0.5 else None
        consents = rng.random() < 0.6
        customer = Customer(
            id=found,
            index=n,
            arrived=day,
            country=country,
            currency=currency,
            annual=cycle == "annual",
            card_day=card_day,
            lifetime=lifetime,
            consented=consents,
        )
        self.customers.append(customer)
        if vat_id:
            self._on(customer, SetVatId(vat_id=vat_id), at)
        if consents:
            consent = GiveConsent(
                purposes=list(Purpose), email=owner.email, name=owner.name, account=found
            )
            subject = self._command("give_consent", lambda: led.give_consent(consent), at)
            customer.subject = subject if isinstance(subject, UUID) else None

    def _live(self, c: Customer, at: datetime, day: int) -> None:
        rng = self.rng
        if day - c.arrived == c.card_day:
            token = f"tok_sim_{c.index}"
            self._on(c, AddPaymentMethod(kind=PaymentMethodKind.CARD, token=token), at)
            if c.lifetime:
                self._billing_details(c, at)
        if c.declining_until is not None and at >= c.declining_until:
            self.gateway.accept(c.id)
            c.declining_until = None
        if rng.random() < P_ACTIVITY:
            self._on(c, RecordActivity(), at)
        roll = rng.random()
        for action, chance in CHANCES:
            if roll < chance:
                self._do(c, action, at)
                return
            roll -= chance

    def _do(self, c: Customer, action: str, at: datetime) -> None:
        led, rng = self.ledger, self.rng
        if action == "add_seats":
            self._on(c, AddSeats(count=rng.randint(1, 3)), at)
        elif action == "remove_seats":
            self._on(c, RemoveSeats(count=1), at)
        elif action == "change_plan" and not c.lifetime:
            self._on(c, ChangePlan(plan=rng.choice(PLANS)), at)
        elif action == "cancel":
            self._on(c, Cancel(via=rng.choice(list(CancellationChannel))), at)
        elif action == "card_declines" and c.declining_until is None:
            self.gateway.decline(c.id)
            c.declining_until = at + timedelta(days=rng.randint(*DECLINE_DAYS))
        elif action == "grant_prepaid_credit" and c.annual and not c.lifetime:
            amount = f"{rng.choice([1200, 2400, 4680, 6000])}.00 {c.currency}"
            self._on(c, GrantPrepaidCredit.parse({"amount": amount}), at)
        elif action == "report_shared_login":
            login = f"agent{rng.randint(1, 9)}@customer{c.index}.example"
            self._on(c, ReportSharedLogin(login=login), at)
        elif action == "withdraw_consent" and c.subject is not None:
            subject, withdrawal = c.subject, WithdrawConsent(purposes=[Purpose.MARKETING])
            self._act(c, action, at, lambda: led.withdraw_consent(subject, withdrawal))
        elif action == "correct_invoice":
            self._on(c, CorrectInvoice(company=f"Customer {c.index} Ltd"), at)

    def _billing_details(self, c: Customer, at: datetime) -> None:
        """LTD-7: a lifetime customer gives full billing details (INV-3) with the card."""
        details = SetBillingDetails(
            name=f"Owner {c.index}",
            company=f"Customer {c.index}",
            email=f"owner{c.index}@customers.example",
            address=PostalAddress(
                street=f"{c.index} Main Street",
                city="Springfield",
                postal_code="12345",
                state="IL" if c.country == "US" else None,
                country=c.country,
            ),
        )
        self._command("set_billing_details", lambda: self.ledger.execute(c.id, details), at)


def simulate(
    ledger: Ledger,
    clock: SimulatedClock,
    *,
    accounts: int,
    months: int,
    seed: int,
    on_day: Callable[[int, int], None] | None = None,
    cohort: bool = False,
) -> Summary:
    return Simulation(ledger, clock, seed).run(accounts, months, on_day, cohort=cohort)
