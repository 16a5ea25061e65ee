"""Money as Decimal plus an ISO 4217 currency (MON-1), rounded once per line (MON-2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from domain.errors import invalid

# MON-1: accounts bill in USD or EUR; the value is the number of minor-unit decimals.
MINOR_UNITS: dict[str, int] = {"USD": 2, "EUR": 2}


# MON-1/MON-2: money as text, everywhere it is input: "18.00 USD": the amount with exactly
# its currency's decimals, a space, the code; no sign, exponent or leading zero.
def _money_pattern() -> str:
    alternatives = []
    for decimals in sorted(set(MINOR_UNITS.values())):
        codes = "|".join(sorted(c for c, n in MINOR_UNITS.items() if n == decimals))
        fraction = rf"\.[0-9]{{{decimals}}}" if decimals else ""
        alternatives.append(rf"(?:0|[1-9][0-9]{{0,11}}){fraction} (?:{codes})")
    return f"^(?:{'|'.join(alternatives)})$"


MONEY_PATTERN = _money_pattern()
MONEY_FORMAT = re.compile(MONEY_PATTERN)


def check_currency(currency: str) -> str:
    """MON-1: only the currencies the vendor bills in."""
    if currency not in MINOR_UNITS:
        raise invalid("currency", f"must be one of {sorted(MINOR_UNITS)}, not {currency!r}")
    return currency


def round_half_up(value: Fraction | Decimal, currency: str) -> Decimal:
    """MON-2: round an exact value once, to the currency's minor unit, ROUND_HALF_UP."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS[currency])
    if isinstance(value, Fraction):
        # Exact: scale to minor units, round half up on the rational, then scale back.
        scaled = value * 10 ** MINOR_UNITS[currency]
        floor = scaled.numerator // scaled.denominator
        remainder = scaled - floor
        units = floor + (1 if remainder >= Fraction(1, 2) else 0)
        return (Decimal(units) * exponent).quantize(exponent)
    return value.quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An exact amount in one currency. Never a float; never converted (MON-1)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        assert isinstance(self.amount, Decimal), "Money takes a Decimal, never a float"
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(round_half_up(Decimal(0), currency), currency)

    @classmethod
    def of(cls, value: Fraction | Decimal | int, currency: str) -> Money:
        """MON-2: the one rounding step, from an exact value to the minor unit."""
        exact = Fraction(value) if isinstance(value, int) else value
        return cls(round_half_up(exact, currency), currency)

    @classmethod
    def read(cls, text: object) -> Money:
        """Reads "206.22 USD" (MONEY_PATTERN); ValueError when it is not money so written."""
        if not isinstance(text, str) or MONEY_FORMAT.fullmatch(text) is None:
            raise ValueError(
                "give money as '<amount> <currency>' with the currency's decimals, e.g. '18.00 USD'"
            )
        amount, currency = text.split(" ")
        return cls(Decimal(amount), currency)

    def _same(self, other: Money) -> None:
        assert self.currency == other.currency, "amounts in different currencies never mix"

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:.{MINOR_UNITS[self.currency]}f} {self.currency}"

    def as_json(self) -> dict[str, str]:
        """Money as the API and the reports write it: the amount as a string with the
        currency's decimals (never a float a client might round), and the currency."""
        amount, currency = str(self).split(" ")
        return {"amount": amount, "currency": currency}

    @staticmethod
    def text_of(value: object) -> str | None:
        """Money in the shape `as_json` writes, as the stories write it ("30.00 USD");
        None when `value` is not money so written."""
        if isinstance(value, dict) and set(value) == {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return None

    def is_positive(self) -> bool:
        return self.amount > 0
