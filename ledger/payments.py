"""Payment collection (PAY-2): charging what falls due through the gateway, once per
attempt, and recording what it said. Money moves only after the invoice that asks for it is
durably recorded, and the gateway's answer is kept before it is recorded."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from adapters.charges import ChargeLog
from adapters.gateway import ChargeResult, PaymentGateway
from domain.account import Account
from domain.invoicing import Invoice
from domain.model import Aggregate
from domain.schedule import Task
from ledger.task_failures import FailedTask, TaskFailed, task_of
from ledger.unit import MAX_COMMAND_ATTEMPTS, Transactor, Unit


@dataclass(frozen=True)
class Outcome:
    """What the gateway said to one attempt at charging one invoice."""

    account_id: UUID
    invoice: str
    attempt: int
    result: ChargeResult


class PaymentCollection:
    def __init__(self, tx: Transactor, gateway: PaymentGateway, charges: ChargeLog) -> None:
        self.tx = tx
        self.gateway = gateway
        self.charges = charges

    def collect(
        self,
        account_ids: list[UUID],
        at: datetime,
        actor: str | None,
        saved: dict[UUID, Account],
        *,
        tasks: dict[UUID, Task] | None = None,
    ) -> None:
        """PAY-2: charges every open invoice of these accounts whose attempt is due, through
        the gateway, once per attempt (the gateway key is the invoice number and attempt),
        then records the outcomes in one transaction; again while any is still due.
        `saved`: accounts as a command just saved them, so that the common case, nothing
        due, costs no second load. For due work (`tasks`: the batch's, by account), what
        the domain raises for an account names its task (its payment, once loaded): the
        others are charged and recorded first, then TaskFailed names the accounts to set
        aside."""
        due_work = tasks is not None
        pending = account_ids
        failed: list[FailedTask] = []
        for _ in range(MAX_COMMAND_ATTEMPTS):
            charges: list[tuple[Account, Invoice]] = []
            for account_id in pending:
                try:
                    with task_of(account_id, tasks.get(account_id) if tasks else None):
                        account = saved.get(account_id) or self.tx.store.aggregate(account_id)
                    assert isinstance(account, Account)
                    with task_of(account_id, account.payment_task() if due_work else None):
                        due = account.due_charges(at)
                except TaskFailed as unloadable:
                    failed += unloadable.tasks
                    continue
                if due:
                    charges.append((account, due[0]))
            if not charges:
                break
            outcomes = self._charge(charges)
            changed, refused = self._record_outcomes(outcomes, at, actor, due_work)
            failed += refused
            saved = {a.id: a for a in changed if isinstance(a, Account)}
            gone = {f.aggregate_id for f in refused}
            pending = [account.id for account, _ in charges if account.id not in gone]
        if failed:
            raise TaskFailed(failed)

    def _record_outcomes(
        self, outcomes: list[Outcome], at: datetime, actor: str | None, due_work: bool
    ) -> tuple[list[Aggregate], list[FailedTask]]:
        """Records what the gateway said, in one transaction; an account whose recording
        raises is left out (its charge is asked again under the same key when its task is
        retried) and the others are recorded without it."""
        failed: list[FailedTask] = []
        for _ in range(len(outcomes)):
            try:
                _, _, changed = self.tx.transact(
                    functools.partial(_record, outcomes, due_work), at=at, actor=actor
                )
                return changed, failed
            except TaskFailed as refused:
                failed += refused.tasks
                gone = {f.aggregate_id for f in refused.tasks}
                outcomes = [o for o in outcomes if o.account_id not in gone]
            if not outcomes:
                break
        return [], failed

    def _charge(self, charges: list[tuple[Account, Invoice]]) -> list[Outcome]:
        """One attempt at the gateway per invoice, under the attempt's key, and what it
        said. An attempt asked before (its record failed, or a crash cut it off) takes the
        answer kept then (adapters.charges): the gateway is asked once per attempt, and
        its answers are kept before any is recorded."""
        keys = [f"charge:{i.number}:{i.declines + 1}" for _, i in charges]
        kept = self.charges.answers(keys)
        answered: dict[str, ChargeResult] = {}
        outcomes = []
        for key, (account, invoice) in zip(keys, charges, strict=True):
            assert account.payment_method is not None
            result = kept.get(key) or self.gateway.charge(
                account_id=account.id,
                token=account.payment_method.token,
                amount=invoice.total,
                currency=invoice.currency,
                key=key,
            )
            if key not in kept:
                answered[key] = result
            outcomes.append(Outcome(account.id, invoice.number, invoice.declines + 1, result))
        self.charges.keep(answered, self.tx.now())
        return outcomes


def _record(outcomes: list[Outcome], due_work: bool, unit: Unit) -> None:
    for outcome in outcomes:
        account = unit.account(outcome.account_id)
        with task_of(outcome.account_id, account.payment_task() if due_work else None):
            current = account.invoice(outcome.invoice)
            if current.next_attempt_at is None or current.declines + 1 != outcome.attempt:
                continue  # another writer recorded this attempt already
            account.record_payment(
                invoice_number=outcome.invoice,
                approved=outcome.result.approved,
                reference=outcome.result.reference,
                at=unit.at,
                terms=unit.terms,
                numbering=unit.numbering,
            )
