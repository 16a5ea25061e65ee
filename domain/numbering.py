"""Gapless invoice and credit-note numbers per calendar year (INV-1), one series per region
where each region has a store of its own (RES-1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from domain.model import Aggregate, Event, stable_id
from domain.residency import Region


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


PREFIX = {DocumentKind.INVOICE: "", DocumentKind.CREDIT_NOTE: "CN-"}
NUMBER = re.compile(
    r"^(?P<prefix>CN-)?(?:(?P<region>EU|US)-)?(?P<year>[0-9]{4})-(?P<sequence>[0-9]{6})$"
)


class Series(NamedTuple):
    """INV-1: which series a number belongs to."""

    kind: DocumentKind
    year: int
    region: Region | None  # None: the one series of a store that holds every region


def number_of(kind: DocumentKind, year: int, region: Region | None, sequence: int) -> str:
    """INV-1: `2025-000001`, `CN-2025-000001`; a region's series `EU-2025-000001`."""
    assert 0 < sequence <= 999_999, "a series holds six digits of numbers"
    area = f"{region.value}-" if region is not None else ""
    return f"{PREFIX[kind]}{area}{year}-{sequence:06d}"


def parse_number(number: str) -> Series | None:
    """INV-1: a document number's series (kind, year, region); None when it is not one."""
    found = NUMBER.match(number)
    if found is None:
        return None
    kind = DocumentKind.CREDIT_NOTE if found["prefix"] else DocumentKind.INVOICE
    region = Region(found["region"]) if found["region"] else None
    return Series(kind, int(found["year"]), region)


class InvoiceSeries(Aggregate):
    """INV-1: one series per document kind and UTC calendar year. Every number is an event
    of the series, saved in the same transaction as the document that uses it; two writers
    racing for a number conflict on the series' version and one retries, so numbers never
    skip and never repeat."""

    kind: DocumentKind = DocumentKind.INVOICE
    year: int = 0
    region: Region | None = None
    last: int = 0

    class Started(Event):
        class_version = 2  # v2: the region whose series it is

        kind: DocumentKind
        year: int
        region: Region | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Series started before regions had stores of their own served every region."""
            state["region"] = None

        def apply(self, series: InvoiceSeries) -> None:
            series.kind = self.kind
            series.year = self.year
            series.region = self.region

    class NumberTaken(Event):
        number: str
        sequence: int
        account_id: UUID

        def apply(self, series: InvoiceSeries) -> None:
            series.last = self.sequence

    @staticmethod
    def id_for(kind: DocumentKind, year: int, region: Region | None = None) -> UUID:
        if region is None:  # the id every store had before regions had stores of their own
            return stable_id("invoice-series", kind.value, year)
        return stable_id("invoice-series", kind.value, year, region.value)

    @classmethod
    def start(
        cls, kind: DocumentKind, year: int, at: datetime, region: Region | None = None
    ) -> InvoiceSeries:
        series_id = cls.id_for(kind, year, region)
        return cls.create(cls.Started, series_id, at, kind=kind, year=year, region=region)

    def take(self, account_id: UUID, at: datetime) -> str:
        assert at.year == self.year, "a number is taken from the series of its issue year"
        sequence = self.last + 1
        number = number_of(self.kind, self.year, self.region, sequence)
        self.trigger(self.NumberTaken, at, number=number, sequence=sequence, account_id=account_id)
        return number


SeriesLoader = Callable[[DocumentKind, int, datetime], InvoiceSeries]  # of one region


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
