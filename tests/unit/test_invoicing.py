"""Invoices, corrections and VAT as the account issues them (INV-1..5, MON-2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.account import Account
from domain.errors import DomainError, ErrorCode
from domain.invoicing import Address, BillingDetails, Charge, InvoiceStatus, Unit, build_invoice
from domain.numbering import DocumentKind, Numbering
from domain.policy import Terms
from domain.vat import VatDecision, VatTreatment
from tests.unit.support import (
    add_card,
    invoices,
    numbering,
    open_account,
    pay,
    run_due,
    t,
    terms,
)


def paying_account(country: str = "US", currency: str = "USD") -> tuple[Account, Terms, Numbering]:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy, country=country, currency=currency)
    add_card(account, t("2025-01-10T10:00"), policy, numbers)
    return account, policy, numbers


def test_inv_1_numbers_are_gapless_in_issue_order_across_accounts() -> None:
    policy, numbers = terms(), numbering()
    first = open_account(t("2025-01-01"), policy)
    second = open_account(t("2025-01-01"), policy)
    add_card(second, t("2025-01-05"), policy, numbers)
    add_card(first, t("2025-01-06"), policy, numbers)
    second.add_seats(1, t("2025-01-07"), policy, numbers)  # monthly: no charge, no number
    run_due(second, t("2025-02-05"), policy, numbers)
    assert [i.number for i in invoices(second)] == ["2025-000001", "2025-000003"]
    assert [i.number for i in invoices(first)] == ["2025-000002"]


def test_inv_1_each_calendar_year_starts_its_own_series() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-12-01"), policy)
    add_card(account, t("2025-12-05"), policy, numbers)
    run_due(account, t("2026-01-05"), policy, numbers)
    assert [i.number for i in invoices(account)] == ["2025-000001", "2026-000001"]


def test_inv_2_a_correction_credits_the_last_invoice_and_reissues_it_with_the_new_details() -> None:
    account, policy, numbers = paying_account()
    original = invoices(account)[0]
    pay(account, original.number, t("2025-01-10T10:00"), policy, numbers)
    address = Address(street="2 Oak Rd", city="Reno", postal_code="89501", state="NV", country="US")
    account.correct_invoice(
        name=None, company="ACME Holdings", address=address, at=t("2025-01-20"), numbering=numbers
    )
    credit, reissued = account.invoices[-2:]
    # TIME-3: the credit note is numbered before its reissued invoice
    assert (credit.number, credit.kind, credit.credits) == (
        "CN-2025-000001",
        DocumentKind.CREDIT_NOTE,
        original.number,
    )
    assert (reissued.number, reissued.reissue_of) == ("2025-000002", original.number)
    assert (reissued.lines, reissued.vat, reissued.total) == (
        original.lines,
        original.vat,
        original.total,
    )
    assert reissued.billed_to is not None
    assert (reissued.billed_to.company, reissued.billed_to.address) == ("ACME Holdings", address)
    assert reissued.billed_to.name == "Ada Lovelace"
    assert account.invoice(original.number).status is InvoiceStatus.CREDITED
    assert reissued.status is InvoiceStatus.PAID  # what was paid moves with it
    assert len(account.payments) == 1


def test_inv_2_the_window_is_15_days_inclusive_and_a_reissue_starts_its_own() -> None:
    account, _, numbers = paying_account()
    issued = t("2025-01-10T10:00")
    with pytest.raises(DomainError) as refused:
        account.correct_invoice(
            name="A. Lovelace",
            company=None,
            address=None,
            at=issued + timedelta(days=15, seconds=1),
            numbering=numbers,
        )
    assert refused.value.code is ErrorCode.CORRECTION_WINDOW_CLOSED
    account.correct_invoice(
        name="A. Lovelace",
        company=None,
        address=None,
        at=issued + timedelta(15),
        numbering=numbers,
    )
    account.correct_invoice(
        name="Ada King", company=None, address=None, at=issued + timedelta(29), numbering=numbers
    )
    assert [i.number for i in invoices(account)] == ["2025-000001", "2025-000002", "2025-000003"]


def test_inv_3_billing_details_need_a_full_postal_address_with_the_state_where_there_is_one() -> (
    None
):
    account = open_account(t("2025-01-01"), terms())
    assert not account.billing_details_complete()
    without_state = Address(street="1 Main St", city="Austin", postal_code="78701", country="US")
    account.billing_details = BillingDetails(
        name="Ada Lovelace", email="b@example.com", company="ACME", address=without_state
    )
    assert not account.billing_details_complete()
    account.billing_details = account.billing_details.model_copy(
        update={"address": without_state.model_copy(update={"state": "TX"})}
    )
    assert account.billing_details_complete()


def test_inv_4_an_eu_customer_without_a_vat_id_pays_its_countrys_rate() -> None:
    account, _, _ = paying_account(country="DE", currency="EUR")
    (invoice,) = invoices(account)
    # 39.00 net, 19% = 7.41
    assert (invoice.vat_treatment, invoice.vat_rate) == (VatTreatment.STANDARD, Decimal(19))
    assert (invoice.net, invoice.vat, invoice.total) == (
        Decimal("39.00"),
        Decimal("7.41"),
        Decimal("46.41"),
    )


def test_inv_4_the_rate_in_force_on_the_issue_date_applies() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2024-12-01"), policy, country="SK", currency="EUR")
    add_card(account, t("2024-12-02"), policy, numbers)
    run_due(account, t("2025-01-02"), policy, numbers)
    assert [(i.vat_rate, i.vat) for i in invoices(account)] == [
        (Decimal(20), Decimal("7.80")),
        (Decimal(23), Decimal("8.97")),
    ]


def test_inv_5_a_vat_id_entered_later_changes_no_issued_invoice_and_applies_afterwards() -> None:
    account, policy, numbers = paying_account(country="DE", currency="EUR")
    account.set_vat_id("DE136695976", t("2025-01-12"))
    run_due(account, t("2025-02-10T10:00"), policy, numbers)
    first, renewal = invoices(account)
    assert (first.vat_treatment, first.total) == (VatTreatment.STANDARD, Decimal("46.41"))
    assert (renewal.vat_treatment, renewal.total) == (VatTreatment.REVERSE_CHARGE, Decimal("39.00"))
    assert renewal.vat_id == "DE136695976"


def test_inv_5_an_invalid_vat_id_or_one_of_another_country_is_rejected() -> None:
    account, _, _ = paying_account(country="DE", currency="EUR")
    for vat_id in ("DE136695977", "ATU13585627"):
        with pytest.raises(DomainError) as refused:
            account.set_vat_id(vat_id, t("2025-01-12"))
        assert refused.value.code is ErrorCode.INVALID_VAT_ID
    assert account.vat_id is None


@given(
    prices=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=400),
            st.decimals(min_value=0, max_value=1000, places=2),
            st.integers(min_value=1, max_value=366),
        ),
        min_size=1,
        max_size=6,
    ),
    rate=st.sampled_from([Decimal(0), Decimal(19), Decimal(23), Decimal("25.5")]),
)
def test_mon_2_the_net_is_the_sum_of_rounded_lines_and_vat_is_rounded_once_on_it(
    prices: list[tuple[int, Decimal, int]], rate: Decimal
) -> None:
    lines = [
        Charge("line", quantity, Unit.DAY, price, "BILL-4", base_quantity=base)
        for quantity, price, base in prices
    ]
    invoice = build_invoice(
        number="2025-000001",
        kind=DocumentKind.INVOICE,
        issued_at=t("2025-03-01"),
        currency="EUR",
        lines=lines,
        vat=VatDecision(VatTreatment.STANDARD, "DE", rate),
        vat_id=None,
        billed_to=None,
    )
    for line, charge in zip(invoice.lines, lines, strict=True):
        assert abs(line.amount - Decimal(charge.amount.numerator) / charge.amount.denominator) <= (
            Decimal("0.005")
        )
        assert line.amount == line.amount.quantize(Decimal("0.01"))
    assert invoice.net == sum(line.amount for line in invoice.lines)
    assert invoice.vat == (invoice.net * rate / 100).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert invoice.total == invoice.net + invoice.vat
