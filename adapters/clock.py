"""The one place time comes from (TIME-2): the application asks a clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that tests, scenarios and simulations set. It never goes backwards."""

    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        assert at.tzinfo is not None
        with self._lock:
            assert at >= self._now, "the clock never goes backwards"
            self._now = at.astimezone(UTC)
