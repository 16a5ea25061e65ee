"""Money as Decimal plus an ISO 4217 currency (MON-1), rounded once per line (MON-2)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from domain.errors import invalid

# MON-1: accounts bill in USD or EUR; the value is the number of minor-unit decimals.
MINOR_UNITS: dict[str, int] = {"USD": 2, "EUR": 2}


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
    def parse(cls, text: str) -> Money:
        """Reads "206.22 USD"; the amount must have exactly the currency's decimals."""
        parts = str(text).split()
        if len(parts) != 2:
            raise invalid("amount", f"expected '<amount> <currency>', got {text!r}")
        amount_text, currency = parts
        check_currency(currency)
        try:
            amount = Decimal(amount_text)
        except ArithmeticError:
            raise invalid("amount", f"not a number: {amount_text!r}") from None
        if not amount.is_finite() or amount.as_tuple().exponent != -MINOR_UNITS[currency]:
            raise invalid("amount", f"{text!r} must have exactly {MINOR_UNITS[currency]} decimals")
        return cls(amount, currency)

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

    def is_positive(self) -> bool:
        return self.amount > 0
