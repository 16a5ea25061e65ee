"""What the unit tests share: instants, the terms in force, an in-memory numbering, and an
account opened and driven by the domain's own commands. No store, no ledger: every series
lives in memory, and time is always an argument."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from domain.account import Account
from domain.catalog import Catalog, Cycle
from domain.invoicing import Address, Invoice, NotificationKind, PaymentMethodKind, Person
from domain.numbering import DocumentKind, InvoiceSeries, Numbering
from domain.policy import Terms
from domain.pricing import PriceBook
from domain.suspension import AccountStatus

CATALOG = Catalog.default()


def t(text: str) -> datetime:
    """An instant, written '2025-01-10' or '2025-01-10T09:30' (UTC)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def terms(prices: PriceBook | None = None, **overrides: object) -> Terms:
    return Terms(catalog=CATALOG, prices=prices or PriceBook.open(t("2000-01-01")), **overrides)  # type: ignore[arg-type]


def numbering() -> Numbering:
    """Series kept in memory: each (kind, year) starts at its first use."""
    return Numbering(lambda kind, year, at: InvoiceSeries.start(kind, year, at))


def open_account(
    at: datetime,
    policy: Terms,
    *,
    plan: str = "all-inclusive",
    cycle: Cycle = Cycle.MONTHLY,
    seats: int = 1,
    currency: str = "USD",
    country: str = "US",
    trial_days: int | None = None,
    region: str | None = None,
    account_id: UUID | None = None,
) -> Account:
    return Account.open(
        account_id=account_id or uuid4(),
        at=at,
        owner=Person(name="Ada Lovelace", email="ada@example.com"),
        company="ACME, Inc.",
        country=country,
        currency=currency,
        plan=plan,
        cycle=cycle,
        seats=seats,
        trial_days=trial_days,
        region=region,
        slug="acme-inc",
        terms=policy,
    )


def add_card(account: Account, at: datetime, policy: Terms, numbers: Numbering) -> None:
    account.add_payment_method(PaymentMethodKind.CARD, "tok_visa", at, policy, numbers)


def give_billing_details(account: Account, at: datetime, policy: Terms, numbers: Numbering) -> None:
    """INV-3's complete details (a US address needs its state)."""
    account.set_billing_details(
        name="Ada Lovelace",
        email="billing@example.com",
        company="ACME, Inc.",
        address=Address(
            street="1 Main St", city="Austin", postal_code="78701", state="TX", country="US"
        ),
        company_ids={},
        electronic_address=None,
        at=at,
        terms=policy,
        numbering=numbers,
    )


def pay(account: Account, number: str, at: datetime, policy: Terms, numbers: Numbering) -> None:
    _answered(account, number, at, policy, numbers, approved=True, reference=f"ch_{number}")


def decline(account: Account, number: str, at: datetime, policy: Terms, numbers: Numbering) -> None:
    reference = f"dc_{number}_{at.isoformat()}"
    _answered(account, number, at, policy, numbers, approved=False, reference=reference)


def _answered(
    account: Account,
    number: str,
    at: datetime,
    policy: Terms,
    numbers: Numbering,
    *,
    approved: bool,
    reference: str,
) -> None:
    """The gateway's answer to the charge of `number`, recorded on the account."""
    account.record_payment(
        invoice_number=number,
        approved=approved,
        reference=reference,
        at=at,
        terms=policy,
        numbering=numbers,
    )


def invoices(account: Account) -> list[Invoice]:
    return [i for i in account.invoices if i.kind is DocumentKind.INVOICE]


def totals(account: Account) -> list[Decimal]:
    return [i.total for i in invoices(account)]


def sent(account: Account, kind: NotificationKind) -> int:
    return sum(1 for n in account.notifications if n.kind is kind)


def run_due(account: Account, until: datetime, policy: Terms, numbers: Numbering) -> list[str]:
    """Runs the account's due work up to `until` in TIME-3's order, as the scheduler would
    (payments are the ledger's: they are left due). The kinds run, in order."""
    done: list[str] = []
    for _ in range(100):
        task = next(
            (
                task
                for task in sorted(account.tasks())
                if task.due_at <= until and task.kind.value not in ("payment", "erasure")
            ),
            None,
        )
        if task is None:
            return done
        assert account.run_task(task, policy, numbers)
        done.append(task.kind.value)
    raise AssertionError("due work does not settle")


def status(account: Account) -> AccountStatus:
    """The account's state now (a call, so that a test can check it again after a command)."""
    return account.status
