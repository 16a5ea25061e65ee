"""VAT on invoices (INV-4) and VAT ID validation (INV-5)."""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from domain.errors import DomainError, ErrorCode

EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()  # noqa: SIM905
)
EEA_NON_EU = frozenset({"IS", "LI", "NO"})
# VAT ID prefixes that differ from the ISO 3166 code.
VAT_PREFIX = {"GR": "EL"}


class VatTreatment(StrEnum):
    OUTSIDE_EU = "outside_eu"
    REVERSE_CHARGE = "reverse_charge"
    STANDARD = "standard"


@dataclass(frozen=True, slots=True)
class VatDecision:
    treatment: VatTreatment
    country: str
    rate_percent: Decimal


class VatTable:
    """Standard rates per country, dated: each applies from its date until the next."""

    def __init__(self, rates: dict[str, list[tuple[date, Decimal]]]) -> None:
        self._rates = {country: sorted(entries) for country, entries in rates.items()}

    def rate_on(self, country: str, day: date) -> Decimal:
        entries = self._rates.get(country)
        assert entries, f"no VAT rate for EU member state {country}"
        index = bisect_right([start for start, _ in entries], day) - 1
        assert index >= 0, f"no VAT rate for {country} on {day}"
        return entries[index][1]

    @classmethod
    @cache
    def default(cls) -> VatTable:
        text = resources.files("domain").joinpath("data/vat_rates.json").read_text(encoding="utf-8")
        raw: dict[str, list[list[str]]] = {
            k: v for k, v in json.loads(text).items() if not k.startswith("_")
        }
        return cls(
            {c: [(date.fromisoformat(d), Decimal(r)) for d, r in rows] for c, rows in raw.items()}
        )


def decide_vat(
    *,
    customer_country: str,
    vat_id: str | None,
    seller_country: str,
    issue_day: date,
    table: VatTable,
) -> VatDecision:
    """INV-4: VAT is decided when an invoice is issued, from the profile at that instant.

    Outside the EU: no VAT. An EU customer in another member state with a valid VAT ID:
    reverse charge, 0%. Otherwise (including a customer in the seller's country with a VAT
    ID): the customer country's standard rate in force on the UTC issue date.
    """
    if customer_country not in EU_MEMBER_STATES:
        return VatDecision(VatTreatment.OUTSIDE_EU, customer_country, Decimal(0))
    if vat_id and customer_country != seller_country:
        return VatDecision(VatTreatment.REVERSE_CHARGE, customer_country, Decimal(0))
    return VatDecision(
        VatTreatment.STANDARD, customer_country, table.rate_on(customer_country, issue_day)
    )


def check_vat_id(vat_id: str, country: str) -> str:
    """INV-5: a VAT ID is valid when its format and check digits are (python-stdnum, no
    online lookup) and its country prefix is the account's country. Returns it compacted."""
    refusal = DomainError(
        ErrorCode.INVALID_VAT_ID, f"not a valid VAT ID for country {country}", "vat_id"
    )
    try:
        compact: str = eu_vat.validate(vat_id)
    except ValidationError:
        raise refusal from None
    if not compact.startswith(VAT_PREFIX.get(country, country)):
        raise refusal
    return compact


def region_for(country: str) -> str:
    """ACC-3 (interpretation): EU/EEA countries are served from region EU, all others US."""
    return "EU" if country in EU_MEMBER_STATES or country in EEA_NON_EU else "US"
