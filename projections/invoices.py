"""Invoices and credit notes as they were issued, and their documents, read from the log:
what an issued document is rendered again from (adapters/documents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from adapters.store import EventStoreApp
from domain.account import Account, issued_by
from domain.documents import IssuedDocument
from domain.errors import DomainError, ErrorCode, invalid
from domain.invoicing import Invoice
from domain.numbering import InvoiceSeries, parse_number


@dataclass(frozen=True, slots=True)
class Issued:
    """One invoice or credit note as issued, with its document's facts (None for one issued
    before documents were, or made out to no one)."""

    account_id: UUID
    invoice: Invoice
    document: IssuedDocument | None


def issuer(store: EventStoreApp, number: str) -> UUID:
    """INV-1: the account a document number was taken for, from its series."""
    series = parse_number(number)
    if series is None:
        raise invalid("number", f"not an invoice or credit-note number: {number!r}")
    for stored in store.recorder.select_events(InvoiceSeries.id_for(*series)):
        event = store.event(stored)
        if isinstance(event, InvoiceSeries.NumberTaken) and event.number == number:
            return event.account_id
    raise DomainError(ErrorCode.UNKNOWN_DOCUMENT, f"no document {number}", "number")


def issued_of(store: EventStoreApp, account_id: UUID) -> list[Issued]:
    """Every invoice and credit note of an account, in the order issued."""
    invoices: list[Invoice] = []
    documents: dict[str, IssuedDocument] = {}
    for stored in store.recorder.select_events(account_id):
        event = store.event(stored)
        invoices += issued_by(event)
        if isinstance(event, Account.DocumentIssued):
            documents[event.document.number] = event.document
    return [Issued(account_id, i, documents.get(i.number)) for i in invoices]


def find_issued(store: EventStoreApp, number: str) -> Issued:
    account_id = issuer(store, number)
    found = next((i for i in issued_of(store, account_id) if i.invoice.number == number), None)
    assert found is not None, f"{number} was numbered for {account_id} but never issued"
    return found


def issued_between(
    store: EventStoreApp, account_ids: list[UUID], start: datetime | None, end: datetime | None
) -> list[Issued]:
    """Invoices and credit notes issued at or after `start` and before `end`, by number."""
    found = [
        i
        for account_id in account_ids
        for i in issued_of(store, account_id)
        if (start is None or i.invoice.issued_at >= start)
        and (end is None or i.invoice.issued_at < end)
    ]
    return sorted(found, key=lambda i: (i.invoice.kind.value, i.invoice.number))
