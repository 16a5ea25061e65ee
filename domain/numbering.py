"""Gapless invoice and credit-note numbers per calendar year (INV-1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.model import Aggregate, Event, stable_id


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


PREFIX = {DocumentKind.INVOICE: "", DocumentKind.CREDIT_NOTE: "CN-"}
NUMBER = re.compile(r"^(?P<prefix>CN-)?(?P<year>[0-9]{4})-(?P<sequence>[0-9]{6})$")


def parse_number(number: str) -> tuple[DocumentKind, int] | None:
    """INV-1: a document number's series (kind and year); None when it is not one."""
    found = NUMBER.match(number)
    if found is None:
        return None
    kind = DocumentKind.CREDIT_NOTE if found["prefix"] else DocumentKind.INVOICE
    return kind, int(found["year"])


class InvoiceSeries(Aggregate):
    """INV-1: one series per document kind and UTC calendar year. Every number is an event
    of the series, saved in the same transaction as the document that uses it; two writers
    racing for a number conflict on the series' version and one retries, so numbers never
    skip and never repeat."""

    kind: DocumentKind = DocumentKind.INVOICE
    year: int = 0
    last: int = 0

    class Started(Event):
        kind: DocumentKind
        year: int

        def apply(self, series: InvoiceSeries) -> None:
            series.kind = self.kind
            series.year = self.year

    class NumberTaken(Event):
        number: str
        sequence: int
        account_id: UUID

        def apply(self, series: InvoiceSeries) -> None:
            series.last = self.sequence

    @staticmethod
    def id_for(kind: DocumentKind, year: int) -> UUID:
        return stable_id("invoice-series", kind.value, year)

    @classmethod
    def start(cls, kind: DocumentKind, year: int, at: datetime) -> InvoiceSeries:
        return cls.create(cls.Started, cls.id_for(kind, year), at, kind=kind, year=year)

    def take(self, account_id: UUID, at: datetime) -> str:
        assert at.year == self.year, "a number is taken from the series of its issue year"
        sequence = self.last + 1
        number = f"{PREFIX[self.kind]}{self.year}-{sequence:06d}"
        self.trigger(self.NumberTaken, at, number=number, sequence=sequence, account_id=account_id)
        return number


SeriesLoader = Callable[[DocumentKind, int, datetime], InvoiceSeries]


class Numbering:
    """Hands out numbers from the series of the issue year, loading each series once."""

    def __init__(self, load: SeriesLoader) -> None:
        self._load = load
        self.touched: dict[UUID, InvoiceSeries] = {}

    def next(self, kind: DocumentKind, account_id: UUID, at: datetime) -> str:
        series_id = InvoiceSeries.id_for(kind, at.year)
        series = self.touched.get(series_id)
        if series is None:
            series = self._load(kind, at.year, at)
            self.touched[series_id] = series
        return series.take(account_id, at)
