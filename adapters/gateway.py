"""The payment gateway port (PAY-2) and its sandbox."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ChargeResult:
    approved: bool
    reference: str


class PaymentGateway(Protocol):
    def charge(
        self, *, account_id: UUID, token: str, amount: Decimal, currency: str, key: str
    ) -> ChargeResult:
        """Charges once per key: a repeated key returns the first result, moving no money."""
        ...


class SandboxGateway:
    """Approves unless told to decline, the way processors' test modes work. Like a real
    processor it remembers idempotency keys, so a retried call never charges twice."""

    def __init__(self) -> None:
        self._declining: set[UUID] = set()
        self._results: dict[str, ChargeResult] = {}
        self._lock = threading.Lock()
        self.charges = 0

    def decline(self, account_id: UUID) -> None:
        with self._lock:
            self._declining.add(account_id)

    def accept(self, account_id: UUID) -> None:
        with self._lock:
            self._declining.discard(account_id)

    def forget(self) -> None:
        """Forgets every key, as a processor does after its idempotency window."""
        with self._lock:
            self._results.clear()

    def charge(
        self, *, account_id: UUID, token: str, amount: Decimal, currency: str, key: str
    ) -> ChargeResult:
        assert amount > 0, "the gateway is never asked to charge nothing"
        with self._lock:
            if key in self._results:
                return self._results[key]
            approved = account_id not in self._declining
            self.charges += 1
            result = ChargeResult(approved, f"sandbox-{len(self._results) + 1:08d}")
            self._results[key] = result
            return result
