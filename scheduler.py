"""APScheduler wiring: runs the work that falls due, and mail delivery, every minute, and
seals the log with a checkpoint every CHECKPOINT_EVERY (domain.integrity).

Exactly one scheduler is active per database: it holds a PostgreSQL advisory lock (on the
store's schema) or, on SQLite, an exclusive lock on a file beside the database. A second
scheduler waits and takes over when the first one's lock goes (its process ended, or its
connection dropped). The active one keeps its job in an APScheduler job store in the same
database. Each run asks the ledger for everything due up to now, and the ledger carries out
each task at its own due instant, in TIME-3's order, under keys derived from the work; so a
run after downtime catches up, and a run repeated after a crash charges nobody twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import psycopg
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from adapters.mail import Mailer, SmtpMailer
from adapters.store import store_env
from app import Ledger
from settings import Settings

log = logging.getLogger("seatledger.scheduler")
JOB_ID = "seatledger-due-work"
JOB_TABLE = "apscheduler_jobs"
CHECKPOINT_EVERY = timedelta(hours=1)  # on the ledger's clock
LOCK_POLL_SECONDS = 2.0  # how often a waiting scheduler tries to become the active one
ADVISORY_LOCK_NAMESPACE = "seatledger.scheduler"

# The job store pickles a reference to the job function, not the ledger: the running
# scheduler of this process is found here by name.
_ACTIVE: dict[str, Scheduler] = {}


def run_due_work(name: str) -> None:
    """The job: one round of due work, then mail delivery."""
    scheduler = _ACTIVE.get(name)
    if scheduler is not None:
        scheduler.run_once()


def mailer_from(settings: Settings) -> Mailer | None:
    if settings.smtp_host is None:
        return None
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )


# ------------------------------------------------------------------ one active scheduler


class ActiveLock(ABC):
    @abstractmethod
    def try_acquire(self) -> bool:
        """True when this process holds the lock (now or already)."""

    @abstractmethod
    def still_held(self) -> bool:
        """False once the lock is lost (e.g. the database connection dropped)."""

    @abstractmethod
    def release(self) -> None: ...


class PostgresAdvisoryLock(ActiveLock):
    """A session-level advisory lock on a connection of its own: PostgreSQL releases it when
    the session ends, however the process ended."""

    def __init__(self, env: dict[str, str]) -> None:
        self._conninfo = psycopg.conninfo.make_conninfo(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
        )
        schema = env.get("POSTGRES_SCHEMA", "public")
        self._key = _lock_key(f"{ADVISORY_LOCK_NAMESPACE}:{env['POSTGRES_DBNAME']}:{schema}")
        self._connection: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None and self.still_held():
            return True
        self.release()
        connection = psycopg.connect(self._conninfo, autocommit=True)
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        if row is not None and row[0]:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session, and the lock with it
            self._connection = None


class FileLock(ActiveLock):
    """An exclusive flock on `<database>.scheduler.lock`; the kernel drops it when the
    process ends."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = open(self._path, "ab")  # noqa: SIM115 (held open while active)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class ProcessLock(ActiveLock):
    """The in-memory store lives in one process: its one scheduler is always the active one."""

    def __init__(self) -> None:
        self._held = False

    def try_acquire(self) -> bool:
        self._held = True
        return True

    def still_held(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False


def _lock_key(text: str) -> int:
    """A signed 64-bit advisory lock key derived from the store's identity."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def active_lock_for(env: dict[str, str]) -> ActiveLock:
    module = env["PERSISTENCE_MODULE"]
    if module == "eventsourcing.postgres":
        return PostgresAdvisoryLock(env)
    if module == "eventsourcing.sqlite":
        return FileLock(Path(f"{env['SQLITE_DBNAME']}.scheduler.lock"))
    return ProcessLock()


def job_store_for(env: dict[str, str]) -> Any:
    """APScheduler's job table in the same database (and schema) as the events."""
    module = env["PERSISTENCE_MODULE"]
    if module == "eventsourcing.postgres":
        user = quote(env["POSTGRES_USER"], safe="")
        password = env["POSTGRES_PASSWORD"]
        auth = user + (f":{quote(password, safe='')}" if password else "")
        url = (
            f"postgresql+psycopg://{auth}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/"
            f"{quote(env['POSTGRES_DBNAME'], safe='')}"
        )
        return SQLAlchemyJobStore(
            url=url, tablename=JOB_TABLE, tableschema=env.get("POSTGRES_SCHEMA")
        )
    if module == "eventsourcing.sqlite":
        return SQLAlchemyJobStore(url=f"sqlite:///{env['SQLITE_DBNAME']}", tablename=JOB_TABLE)
    return MemoryJobStore()


# ------------------------------------------------------------------ the scheduler


class Scheduler:
    """Waits to become the one active scheduler of the ledger's database, then runs the due
    work every `every_seconds` (and once at once, which is the catch-up after downtime)."""

    def __init__(
        self, ledger: Ledger, *, every_seconds: int | None = None, mailer: Mailer | None = None
    ) -> None:
        self.ledger = ledger
        self.every_seconds = every_seconds or ledger.settings.scheduler_every_seconds
        self.mailer = mailer
        self._env = store_env(ledger.settings.store)
        self._lock = active_lock_for(self._env)
        self._name = f"{os.getpid()}:{id(self)}"
        self._running: BackgroundScheduler | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="scheduler-lock", daemon=True)
        self.runs = 0

    @property
    def active(self) -> bool:
        return self._running is not None

    def start(self) -> Scheduler:
        _ACTIVE[self._name] = self
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._watcher.join()
        self._deactivate()
        _ACTIVE.pop(self._name, None)

    def run_once(self) -> None:
        if not self._lock.still_held():
            log.warning("scheduler lost its lock; standing by")
            return
        done = self.ledger.run_due(mailer=self.mailer)
        noticed = self.ledger.send_price_notices()  # BILL-6: any announcement cut off
        documented = self.ledger.issue_documents()
        sent = self.ledger.deliver_mail(self.mailer) if self.mailer is not None else {}
        sealed = self.ledger.checkpoint(actor="scheduler", every=CHECKPOINT_EVERY)
        self.runs += 1
        log.info(
            "due work done: %d tasks; price notices: %d; documents: %d; mail: %s; checkpoint: %s",
            done,
            noticed,
            documented,
            sent or "none",
            sealed["position"] if sealed else "not due",
        )

    def _watch(self) -> None:
        while not self._stopping.is_set():
            if self._running is None and self._lock.try_acquire():
                self._activate()
            elif self._running is not None and not self._lock.still_held():
                self._deactivate()
            self._stopping.wait(LOCK_POLL_SECONDS)

    def _activate(self) -> None:
        log.info("this scheduler is now the active one for its database")
        running = BackgroundScheduler(
            timezone="UTC", jobstores={"default": job_store_for(self._env)}
        )
        running.start()
        running.add_job(
            run_due_work,
            "interval",
            seconds=self.every_seconds,
            id=JOB_ID,
            args=[self._name],
            replace_existing=True,
            # APScheduler fires on the wall clock; what is due is decided on the ledger's
            # clock. The first run is now: the catch-up after downtime.
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self._running = running

    def _deactivate(self) -> None:
        if self._running is not None:
            self._running.shutdown(wait=True)
            self._running = None
        self._lock.release()
