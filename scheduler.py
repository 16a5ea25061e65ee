"""APScheduler wiring: runs the ledger's due work every minute."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from app import Ledger

log = logging.getLogger("seatledger.scheduler")
RUN_EVERY_SECONDS = 60


def start_scheduler(ledger: Ledger, every_seconds: int = RUN_EVERY_SECONDS) -> BackgroundScheduler:
    """Calls `Ledger.run_due` on the ledger's clock; the ledger does the work at each task's
    own due instant and in TIME-3's order, so a late or repeated run changes nothing."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        lambda: log.info("due work done: %d tasks", ledger.run_due()),
        "interval",
        seconds=every_seconds,
        id="seatledger-due-work",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler
