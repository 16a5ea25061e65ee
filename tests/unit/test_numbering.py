"""INV-1: gapless series per kind and calendar year; where each region has a store of its
own (RES-1), one series per region, with the region as prefix."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.errors import DomainError, ErrorCode
from domain.numbering import DocumentKind, InvoiceSeries, Numbering, Series, parse_number
from domain.residency import Region, check_placement

ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def regional_numbering(region: Region | None) -> Numbering:
    return Numbering(lambda kind, year, at: InvoiceSeries.start(kind, year, at, region))


def test_inv_1_a_regions_series_carries_its_prefix_and_is_gapless_within_itself() -> None:
    numbers = regional_numbering(Region.EU)
    account = uuid4()
    taken = [numbers.next(DocumentKind.INVOICE, account, ISSUED) for _ in range(3)]
    assert taken == ["EU-2025-000001", "EU-2025-000002", "EU-2025-000003"]
    assert numbers.next(DocumentKind.CREDIT_NOTE, account, ISSUED) == "CN-EU-2025-000001"
    next_year = datetime(2026, 1, 1, tzinfo=UTC)
    assert numbers.next(DocumentKind.INVOICE, account, next_year) == "EU-2026-000001"


def test_inv_1_a_store_of_every_region_numbers_as_before_regions_had_stores() -> None:
    numbers = regional_numbering(None)
    assert numbers.next(DocumentKind.INVOICE, uuid4(), ISSUED) == "2025-000001"
    assert numbers.next(DocumentKind.CREDIT_NOTE, uuid4(), ISSUED) == "CN-2025-000001"
    # the ids the series were stored under before regions had stores of their own
    assert InvoiceSeries.id_for(DocumentKind.INVOICE, 2025) == UUID(
        "f4a0638f-9c14-595a-8941-64ffc6996d2c"
    )
    assert InvoiceSeries.id_for(DocumentKind.CREDIT_NOTE, 2025) == UUID(
        "d5b0144c-eece-5f31-87f1-538a6dc732dd"
    )
    regional = {InvoiceSeries.id_for(DocumentKind.INVOICE, 2025, r) for r in Region}
    assert len(regional) == 2
    assert InvoiceSeries.id_for(DocumentKind.INVOICE, 2025) not in regional


@pytest.mark.parametrize(
    ("number", "series"),
    [
        ("2025-000001", Series(DocumentKind.INVOICE, 2025, None)),
        ("CN-2025-000007", Series(DocumentKind.CREDIT_NOTE, 2025, None)),
        ("EU-2025-000001", Series(DocumentKind.INVOICE, 2025, Region.EU)),
        ("CN-US-2026-000002", Series(DocumentKind.CREDIT_NOTE, 2026, Region.US)),
        ("EU-CN-2025-000001", None),
        ("MARS-2025-000001", None),
        ("2025-1", None),
    ],
)
def test_inv_1_a_number_names_its_series(number: str, series: Series | None) -> None:
    assert parse_number(number) == series


def test_inv_1_a_series_started_before_regions_is_every_regions_series() -> None:
    stored = {"kind": "invoice", "year": 2025}
    InvoiceSeries.Started.upcast_v1_v2(stored)
    assert stored["region"] is None


def test_res_1_a_regions_store_takes_only_that_regions_accounts() -> None:
    check_placement("EU", Region.EU)
    check_placement("US", None)  # a store of every region takes all
    with pytest.raises(DomainError) as refused:
        check_placement("US", Region.EU)
    assert (refused.value.code, refused.value.errors[0].field) == (
        ErrorCode.INVALID_INPUT,
        "region",
    )
