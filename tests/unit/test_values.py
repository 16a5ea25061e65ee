"""Value types and pure rules: money, dates, VAT, catalog, slugs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.catalog import Catalog, Cycle
from domain.dates import add_months, days_between, within_days
from domain.errors import DomainError, ErrorCode
from domain.invoicing import BillingDetails, Charge, Unit, build_invoice
from domain.money import Money, round_half_up
from domain.numbering import DocumentKind
from domain.registry import MAX_SLUG_SUFFIX, free_slug, slug_candidates, slugify
from domain.vat import VatTable, VatTreatment, check_vat_id, decide_vat, region_for

SK_TABLE = VatTable.default()


def test_mon_1_money_refuses_floats_and_unknown_currencies() -> None:
    """MON-1: money refuses floats and unknown currencies."""
    with pytest.raises(AssertionError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        Money(Decimal("1.00"), "GBP")
    assert refused.value.code is ErrorCode.INVALID_INPUT


def test_mon_1_amounts_in_different_currencies_never_mix() -> None:
    """MON-1: amounts in different currencies never mix."""
    with pytest.raises(AssertionError):
        Money.read("1.00 USD") + Money.read("1.00 EUR")


def test_mon_1_money_text_needs_exactly_the_currency_decimals() -> None:
    """MON-1: money text needs exactly the currency decimals."""
    assert str(Money.read("206.22 USD")) == "206.22 USD"
    for bad in (
        "206.2 USD",
        "206.220 USD",
        "206.22",
        "abc USD",
        "1.00 usd",
        "206.22 USD\n",
        "-0.00 USD",
        "+1.00 USD",
        "1.00E+0 USD",
        "01.00 USD",
        " 1.00 USD",
        "1.00  USD",
    ):
        with pytest.raises(ValueError):
            Money.read(bad)


def test_mon_2_rounding_is_half_up_on_the_exact_value() -> None:
    """MON-2: rounding is half up on the exact value."""
    assert round_half_up(Fraction(5, 1000), "USD") == Decimal("0.01")
    assert round_half_up(Fraction(4999, 1000000), "USD") == Decimal("0.00")
    assert round_half_up(Fraction(390 * 193, 365), "USD") == Decimal("206.22")


@given(st.fractions(min_value=0, max_value=10**9))
def test_mon_2_rounding_lands_within_half_a_minor_unit(value: Fraction) -> None:
    """MON-2: rounding lands within half a minor unit."""
    rounded = round_half_up(value, "EUR")
    assert abs(Fraction(rounded) - value) <= Fraction(1, 200)
    assert rounded.as_tuple().exponent == -2


def test_mon_2_net_is_the_sum_of_rounded_lines_and_vat_is_rounded_once_on_the_net() -> None:
    """MON-2: net is the sum of rounded lines and vat is rounded once on the net."""
    day = date(2025, 3, 1)
    vat = decide_vat(
        customer_country="DE", vat_id=None, seller_country="SK", issue_day=day, table=SK_TABLE
    )
    invoice = build_invoice(
        number="2025-000001",
        kind=DocumentKind.INVOICE,
        issued_at=datetime(2025, 3, 1, tzinfo=UTC),
        currency="EUR",
        lines=[
            Charge(name, 1, Unit.DAY, Decimal(1), "BILL-2", base_quantity=3)
            for name in ("a", "b", "c")
        ],
        vat=vat,
        vat_id=None,
        billed_to=BillingDetails(name="n", company="c"),
    )
    # Each third rounds to 0.33; the net is 0.99, not 1.00. VAT 19% of 0.99 = 0.1881 -> 0.19.
    assert [line.amount for line in invoice.lines] == [Decimal("0.33")] * 3
    assert invoice.net == Decimal("0.99")
    assert invoice.vat == Decimal("0.19")
    assert invoice.total == Decimal("1.18")


def test_time_1_months_are_anchored_on_the_day_and_clamped_to_the_month_end() -> None:
    """TIME-1: months are anchored on the day and clamped to the month end."""
    anchor = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
    assert add_months(anchor, 1) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)
    assert add_months(anchor, 2) == datetime(2025, 3, 31, 10, 0, tzinfo=UTC)
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(anchor, 12) == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def test_time_4_a_periods_days_run_from_start_inclusive_to_end_exclusive() -> None:
    """TIME-4: a periods days run from start inclusive to end exclusive."""
    assert days_between(date(2025, 1, 10), date(2026, 1, 10)) == 365
    assert days_between(date(2025, 7, 1), date(2026, 1, 10)) == 193


def test_time_4_within_n_days_is_inclusive_of_the_last_instant() -> None:
    """TIME-4: within n days is inclusive of the last instant."""
    issued = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    assert within_days(issued, 15, datetime(2025, 1, 30, 10, 0, tzinfo=UTC))
    assert not within_days(issued, 15, datetime(2025, 1, 30, 10, 0, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("country", "vat_id", "day", "treatment", "rate"),
    [
        ("US", None, date(2025, 3, 1), VatTreatment.OUTSIDE_EU, "0"),
        ("GB", None, date(2025, 3, 1), VatTreatment.OUTSIDE_EU, "0"),
        ("NO", None, date(2025, 3, 1), VatTreatment.OUTSIDE_EU, "0"),
        ("DE", None, date(2025, 3, 1), VatTreatment.STANDARD, "19"),
        ("DE", "DE136695976", date(2025, 3, 1), VatTreatment.REVERSE_CHARGE, "0"),
        ("FR", None, date(2025, 3, 1), VatTreatment.STANDARD, "20"),
        ("SK", None, date(2024, 12, 31), VatTreatment.STANDARD, "20"),
        ("SK", None, date(2025, 1, 1), VatTreatment.STANDARD, "23"),
        ("SK", "SK2022749619", date(2025, 1, 1), VatTreatment.STANDARD, "23"),
    ],
)
def test_inv_4_vat_is_decided_from_the_profile_and_the_dated_table(
    country: str, vat_id: str | None, day: date, treatment: VatTreatment, rate: str
) -> None:
    """INV-4: vat is decided from the profile and the dated table."""
    decision = decide_vat(
        customer_country=country, vat_id=vat_id, seller_country="SK", issue_day=day, table=SK_TABLE
    )
    assert decision.treatment is treatment
    assert decision.rate_percent == Decimal(rate)


def test_inv_5_vat_ids_are_checked_by_format_check_digits_and_country_prefix() -> None:
    """INV-5: vat ids are checked by format check digits and country prefix."""
    assert check_vat_id("DE 136 695 976", "DE") == "DE136695976"
    for vat_id, country in (
        ("DE136695977", "DE"),
        ("DE136695976", "AT"),
        ("XX123", "DE"),
        ("", "DE"),
    ):
        with pytest.raises(DomainError) as refused:
            check_vat_id(vat_id, country)
        assert refused.value.code is ErrorCode.INVALID_VAT_ID


def test_acc_3_eu_and_eea_countries_are_served_from_the_eu_region() -> None:
    """ACC-3: eu and eea countries are served from the eu region."""
    assert [region_for(c) for c in ("DE", "SK", "NO", "IS", "US", "GB", "CH")] == ["EU"] * 4 + [
        "US"
    ] * 3


def test_acc_1_slugs_come_from_the_company_name() -> None:
    """ACC-1: slugs come from the company name."""
    assert slugify("ACME, Inc.") == "acme-inc"
    assert slugify("Žilina Čaj s.r.o.") == "zilina-caj-s-r-o"
    assert slugify("!!!") == "account"
    assert slug_candidates("acme", 2) == ["acme", "acme-2", "acme-3"]


def test_acc_1_a_taken_slug_gets_the_first_free_suffix_and_a_name_with_none_left_is_refused() -> (
    None
):
    """ACC-1: a taken slug gets -2, -3, ...; when the slug and all its MAX_SLUG_SUFFIX
    suffixes are taken, the company name is refused."""
    taken = {"acme-inc", "acme-inc-2", "acme-inc-4"}
    assert free_slug("ACME, Inc.", taken.__contains__) == "acme-inc-3"
    assert free_slug("Beta", taken.__contains__) == "beta"
    last = f"acme-inc-{MAX_SLUG_SUFFIX + 1}"
    assert free_slug("ACME, Inc.", lambda slug: slug != last) == last
    with pytest.raises(DomainError) as refused:
        free_slug("ACME, Inc.", lambda slug: True)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "company")


def test_bill_1_the_catalog_ranks_plans_and_prices_them_from_data() -> None:
    """BILL-1: the catalog ranks plans and prices them from data."""
    catalog = Catalog.default()
    assert catalog.is_upgrade("ticket", "all-inclusive")
    assert not catalog.is_upgrade("all-inclusive", "ticket-chat")
    assert catalog.base_price("ticket-chat", "EUR", Cycle.ANNUAL) == Decimal(290)
    with pytest.raises(DomainError) as refused:
        catalog.base_price("platinum", "USD", Cycle.MONTHLY)
    assert refused.value.code is ErrorCode.UNKNOWN_PLAN


def test_bill_1_a_scenario_catalog_may_give_one_price_for_every_currency() -> None:
    """BILL-1: a scenario catalog may give one price for every currency."""
    catalog = Catalog.from_data({"basic": {"rank": 1, "monthly": "10", "annual": {"USD": "100"}}})
    assert catalog.base_price("basic", "EUR", Cycle.MONTHLY) == Decimal(10)
    with pytest.raises(DomainError):
        catalog.base_price("basic", "EUR", Cycle.ANNUAL)
