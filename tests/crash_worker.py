"""A separate process for crash tests: `python -m tests.crash_worker setup|run STORE N`.

`setup` opens N monthly accounts with cards at one instant; `run` carries out the due work
of the month after, announcing each charge on stdout before it is recorded, so that a test
can kill it at the worst moment (money moved, outcome not yet recorded).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from adapters.clock import SimulatedClock
from adapters.gateway import ChargeResult, SandboxGateway
from app import Ledger
from domain.commands import AddPaymentMethod
from settings import Settings
from tests.helpers import opening

START = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
RENEWAL = datetime(2025, 2, 15, 10, 0, tzinfo=UTC)


class AnnouncingGateway(SandboxGateway):
    def charge(
        self, *, account_id: UUID, token: str, amount: Decimal, currency: str, key: str
    ) -> ChargeResult:
        result = super().charge(
            account_id=account_id, token=token, amount=amount, currency=currency, key=key
        )
        print(f"charged {key}", flush=True)
        return result


def main(action: str, store: str, count: int) -> None:
    clock = SimulatedClock(START)
    ledger = Ledger(Settings(store=store), clock=clock, gateway=AnnouncingGateway())
    if action == "setup":
        for n in range(count):
            account = ledger.open_account(
                opening(
                    owner_name=f"Owner {n}",
                    owner_email=f"owner{n}@crash.example",
                    company=f"Crash {n}",
                    plan="ticket",
                    seats=1 + n % 4,
                )
            )
            ledger.execute(account, AddPaymentMethod(kind="card", token=f"tok_{n}"))
    else:
        clock.set(RENEWAL)
        ledger.run_due(RENEWAL)
        print("done", flush=True)
    ledger.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
