"""Issuing documents: every invoice and credit note leaves as UBL, CII and PDF, rendered
from the log, with the SHA-256 of each recorded (Account.DocumentIssued), and rendered
again, byte for byte, whenever it is asked for."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters import documents
from adapters.positions import Positions
from domain.account import Account, issued_by
from domain.documents import IssuedDocument, Rendering, check_renderable, renderable
from domain.errors import DomainError, ErrorCode
from domain.invoicing import Invoice
from ledger.reading import Reader
from ledger.unit import Transactor, Unit
from projections.invoices import Issued, find_issued, issued_between
from settings import Settings

NOTIFICATION_PAGE = 500  # log entries the follower reads at a time
FOLLOWER = "documents"
ISSUED_TOPICS = [get_topic(Account.InvoiceIssued), get_topic(Account.InvoiceCorrected)]
log = logging.getLogger(__name__)


class DocumentIssuing:
    def __init__(
        self, tx: Transactor, reader: Reader, positions: Positions, settings: Settings
    ) -> None:
        self.tx = tx
        self.reader = reader
        self.positions = positions
        self.settings = settings
        self._lock = threading.Lock()

    def issue_new(self) -> int:
        """Every invoice and credit note issued since the last run leaves as a document:
        the SHA-256 of each of its renderings is recorded (Account.DocumentIssued), so that
        `audit verify` covers them. Rendering takes tens of milliseconds a document, so it
        runs here, after the invoices are saved, and never inside the transaction that
        numbers them (INV-1); a renderer that fails stops no billing. Safe to repeat and to
        race: a document already recorded is not recorded again. How many were issued."""
        issued = 0
        store = self.tx.store
        with self._lock:
            position = self.positions.position(FOLLOWER)
            while page := store.recorder.select_notifications(
                start=position,
                limit=NOTIFICATION_PAGE,
                topics=ISSUED_TOPICS,
                inclusive_of_start=False,
            ):
                found: dict[UUID, list[Invoice]] = {}
                for stored in page:
                    event = store.event(stored)
                    found.setdefault(event.originator_id, []).extend(issued_by(event))
                for account_id, invoices in found.items():
                    issued += self._document(account_id, invoices)
                position = page[-1].id
                self.positions.advance(FOLLOWER, position)
        return issued

    def _document(self, account_id: UUID, invoices: list[Invoice]) -> int:
        """One account's new documents; one that cannot be rendered is logged and left to
        be issued when it is first asked for, and the other accounts' go on."""
        account = self.reader.account(account_id)
        wanted = [i for i in invoices if renderable(i) and i.number not in account.documents]
        try:
            rendered = self._issue(account, wanted)
        except Exception:  # a renderer's fault must not stop the other accounts' documents
            log.exception("documents of account %s not rendered", account_id)
            return 0
        if rendered:
            self._record(account_id, rendered)
        return len(rendered)

    def _issue(self, account: Account, invoices: list[Invoice]) -> list[IssuedDocument]:
        """The documents of an account's invoices as they are issued now: with today's
        seller and the account's language."""
        seller = self.settings.seller()
        return [
            documents.issue(
                invoice, seller=seller, language=account.language, buyer_reference=account.slug
            )
            for invoice in invoices
        ]

    def _record(self, account_id: UUID, issued: list[IssuedDocument]) -> None:
        """Each document once: a concurrent issuer of the same one got there first."""

        def work(unit: Unit) -> None:
            account = unit.account(account_id)
            for document in issued:
                if document.number not in account.documents:
                    account.record_document(document, unit.at)

        self.tx.transact(work)

    def document(self, number: str, rendering: Rendering) -> bytes:
        """An issued invoice or credit note as a document, rendered again from the log:
        the same bytes as when it was issued (`check` proves it). An invoice issued before
        documents were gets its document now, recorded once."""
        return self._rendering(find_issued(self.tx.store, number), rendering)

    def check(self, number: str) -> dict[str, Any]:
        """Renders an issued document again and compares each rendering's SHA-256 with the
        one recorded when it was issued."""
        found = self._recorded(number)
        assert found.document is not None
        recorded = found.document
        now = documents.digests(documents.rendered(check_renderable(found.invoice), recorded))
        return {
            "number": number,
            "version": recorded.version,
            "matches": all(now[k] == v for k, v in recorded.sha256.items()),
            "renderings": {
                k.value: {"recorded": v, "rendered": now[k], "matches": now[k] == v}
                for k, v in recorded.sha256.items()
            },
            "libraries": {"recorded": recorded.libraries, "now": documents.libraries()},
        }

    def recorded(self, number: str) -> IssuedDocument:
        """What was recorded when a document was issued: its renderings' SHA-256 and what
        they were rendered from."""
        found = self._recorded(number).document
        assert found is not None
        return found

    def _recorded(self, number: str) -> Issued:
        found = find_issued(self.tx.store, number)
        if found.document is None:
            raise DomainError(
                ErrorCode.UNKNOWN_DOCUMENT,
                f"{number} has no document recorded yet: the scheduler's documents run "
                "records it, or its first fetch",
                "number",
            )
        return found

    def between(
        self, account_ids: list[UUID], start: datetime | None, end: datetime | None
    ) -> list[tuple[str, Callable[[Rendering], bytes]]]:
        """Every invoice and credit note issued in [start, end), each with its renderer."""
        found = issued_between(self.tx.store, account_ids, start, end)
        return [(i.invoice.number, functools.partial(self._rendering, i)) for i in found]

    def _rendering(self, found: Issued, rendering: Rendering) -> bytes:
        found = self._documented(found)  # refuses a document of erased details
        assert found.document is not None
        return documents.rendered(found.invoice, found.document, rendering)[rendering]

    def _documented(self, found: Issued) -> Issued:
        """`found`, with its document issued now if it has none yet: asked for before
        `issue_new` came to it, or issued before documents were. It is rendered with the
        seller and the account's language of now."""
        check_renderable(found.invoice)
        if found.document is not None:
            return found
        account = self.reader.account(found.account_id)
        self._record(found.account_id, self._issue(account, [found.invoice]))
        recorded = self.reader.account(found.account_id).documents[found.invoice.number]
        return Issued(found.account_id, found.invoice, recorded)
