"""Scheduled work and its order (TIME-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class TaskKind(IntEnum):
    """TIME-3: work due at the same instant runs in this order."""

    POOL = 0  # prepaid-pool activation and exhaustion
    CANCELLATION = 1  # cancellations taking effect
    TRIAL_EXPIRY = 2
    RENEWAL = 3  # renewals and lifetime-deal billing
    PAYMENT = 4  # first attempts not yet made, and retries
    INACTIVITY = 5  # inactivity warnings and deletions (and CANCEL-3 deletions)
    ERASURE = 6


@dataclass(frozen=True, order=True, slots=True)
class Task:
    """One piece of due work. `key` names what it does, so running it twice is a no-op."""

    due_at: datetime
    kind: TaskKind
    key: str
