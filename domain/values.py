"""Value types that check themselves: what a command may carry, each bounded and in one
format, refused with the reason when it is not.

Each is an `Annotated` type for the pydantic models of `domain.commands`, so the API's
request bodies, the scenario runner's steps and the OpenAPI document all read the same
definition: its bounds, its pattern and an example that the service accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, WithJsonSchema

from domain.money import MINOR_UNITS, MONEY_PATTERN, Money

# ACC-2: the seats an account opens with, or one change adds or removes.
SEATS_MAX = 10_000
TEXT_MAX_CHARS = 200  # a person's or a company's name, a street, a sub-processor
SHORT_TEXT_MAX_CHARS = 40  # a postal code, a VAT ID, a lifetime-deal code
EMAIL_MAX_CHARS = 254  # RFC 5321: the longest path a mail system carries
TOKEN_MAX_CHARS = 128  # PAY-1: a processor's token (Stripe's, PayPal's run to ~40)
PRICE_MAX = Decimal("100000.00")  # per seat and period
CREDIT_MAX = Decimal("10000000.00")  # CREDIT-1: one prepaid pool
# Days and instants a command or a query may name: the ledger's clock starts in 1970, and
# every deadline it computes (GDPR-5: ten years after the year's end) stays within 2199.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
END_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive

# Unicode's bidirectional embeddings, overrides and isolates: text that displays in
# another order than it reads (a "Trojan Source" name on an invoice).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})  # control characters, lone surrogates


def _no_hidden_characters(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES or char in BIDI_CONTROLS:
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def _text(max_chars: int) -> Callable[[str], str]:
    def text(value: str) -> str:
        """One line of text, as a person would type it: NFC, trimmed, not blank, nothing
        that hides or reorders what it shows, within its length once normalised."""
        normal = _no_hidden_characters(unicodedata.normalize("NFC", value)).strip()
        if not normal:
            raise ValueError("must not be blank")
        if len(normal) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters")
        return normal

    return text


def _text_type(max_chars: int, example: str) -> Any:
    return Annotated[
        str,
        Field(strict=True, min_length=1, max_length=max_chars, examples=[example]),
        AfterValidator(_text(max_chars)),
    ]


PersonName = _text_type(TEXT_MAX_CHARS, "Ada Lovelace")
CompanyName = _text_type(TEXT_MAX_CHARS, "ACME, Inc.")
Street = _text_type(TEXT_MAX_CHARS, "1 Main St")
City = _text_type(TEXT_MAX_CHARS, "Austin")
PostalCode = _text_type(SHORT_TEXT_MAX_CHARS, "78701")
Province = _text_type(TEXT_MAX_CHARS, "TX")  # a state or province
Login = _text_type(EMAIL_MAX_CHARS, "frontdesk")
SubprocessorName = _text_type(TEXT_MAX_CHARS, "Linode LLC (EU)")
VatIdText = _text_type(SHORT_TEXT_MAX_CHARS, "SK2020317068")
Source = _text_type(TEXT_MAX_CHARS, "signup form")
CompanyId = _text_type(SHORT_TEXT_MAX_CHARS, "50000001")  # a legal registration (IČO)
# A Peppol participant ID: an EAS scheme (four digits) and the ID in it.
ParticipantId = Annotated[
    str,
    Field(
        strict=True,
        pattern=r"^[0-9]{4}:[A-Za-z0-9.\-_:]{1,100}$",
        examples=["0245:2020000002"],
    ),
]


def _email(value: str) -> str:
    try:
        normalized: str = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("not a syntactically valid e-mail address") from None
    return normalized


Email = Annotated[
    str,
    Field(
        strict=True,
        min_length=3,
        max_length=EMAIL_MAX_CHARS,
        json_schema_extra={"format": "email"},
        examples=["ada@acme.example"],
    ),
    AfterValidator(_no_hidden_characters),
    AfterValidator(_email),
]

# ---------------------------------------------------------------- codes


COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def _country(value: object) -> str:
    """An assigned ISO 3166-1 alpha-2 code (pycountry), not merely two capital letters."""
    if not isinstance(value, str) or value not in COUNTRY_CODES:
        raise ValueError("must be an assigned ISO 3166-1 alpha-2 country code such as 'SK'")
    return value


CountryCode = Annotated[
    str,
    PlainValidator(_country),
    WithJsonSchema({"type": "string", "enum": sorted(COUNTRY_CODES), "examples": ["SK"]}),
]


def _currency(value: object) -> str:
    """MON-1: the currencies the vendor bills in."""
    if not isinstance(value, str) or value not in MINOR_UNITS:
        raise ValueError(f"must be one of {', '.join(sorted(MINOR_UNITS))}")
    return value


CurrencyCode = Annotated[
    str,
    PlainValidator(_currency),
    WithJsonSchema({"type": "string", "enum": sorted(MINOR_UNITS), "examples": ["EUR"]}),
]

# BILL-1: a plan is named by the catalog, which is data; the API's document lists the plans
# of the catalog it serves (the marker below is where).
CATALOG_PLANS = "x-seatledger-catalog-plans"
PlanName = Annotated[
    str,
    Field(
        strict=True,
        pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
        examples=["all-inclusive"],
        json_schema_extra={CATALOG_PLANS: True},
    ),
]

LifetimeCode = Annotated[
    str,
    Field(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", examples=["LTD-AAAA-0001"]),
]

# ---------------------------------------------------------------- PAY-1: no card numbers

TOKEN_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
CARD_NUMBER = re.compile(r"[0-9](?:[ -]?[0-9]){11,18}")  # 12 to 19 digits, as typed


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _no_card_number(value: str) -> str:
    """PAY-1: the ledger never holds card numbers: a token that carries one (12 to 19
    digits whose Luhn check holds) is refused, whatever surrounds it."""
    for found in CARD_NUMBER.finditer(value):
        if _luhn(re.sub(r"[ -]", "", found.group())):
            raise ValueError("looks like a card number: give the processor's token (PAY-1)")
    return value


PaymentToken = Annotated[
    str,
    Field(
        strict=True,
        max_length=TOKEN_MAX_CHARS,
        pattern=TOKEN_PATTERN,
        examples=["tok_visa_4242"],
        description="the payment processor's opaque token, never a card number (PAY-1)",
    ),
    AfterValidator(_no_card_number),
]

# ---------------------------------------------------------------- numbers

SeatCount = Annotated[int, Field(strict=True, ge=1, le=SEATS_MAX, examples=[3])]


# ---------------------------------------------------------------- money


def _money_type(maximum: Decimal, example: str) -> Any:
    def parse(value: object) -> Money:
        """MON-1/MON-2: money as text ("18.00 USD", domain.money.MONEY_PATTERN), bounded."""
        money = Money.read(str(value) if isinstance(value, Money) else value)
        if money.amount > maximum:
            raise ValueError(f"must be at most {maximum} {money.currency}")
        return money

    return Annotated[
        Money,
        PlainValidator(parse),
        PlainSerializer(str, return_type=str),
        WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": [example]}),
    ]


Price = _money_type(PRICE_MAX, "18.00 USD")
CreditAmount = _money_type(CREDIT_MAX, "1200.00 USD")

FRACTION_PATTERN = r"^(?:0(?:\.[0-9]{1,4})?|1(?:\.0{1,4})?)$"


def _fraction(value: object) -> Decimal:
    """A share from 0 to 1 with at most four decimals, as text: "0.50"."""
    if not isinstance(value, str) or re.fullmatch(FRACTION_PATTERN, value) is None:
        raise ValueError("give a share from '0' to '1' with at most four decimals, e.g. '0.50'")
    return Decimal(value)


Share = Annotated[
    Decimal,
    PlainValidator(_fraction),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": FRACTION_PATTERN, "examples": ["0.50"]}),
]

# ---------------------------------------------------------------- time

DAY_FORMAT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def check_day(value: object) -> date:
    """A calendar date, "2025-07-01" (not an instant, not a number), within the ledger's
    range."""
    if isinstance(value, datetime):
        raise ValueError("give a date, not an instant")
    if isinstance(value, str) and DAY_FORMAT.fullmatch(value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date") from None
    if not isinstance(value, date):
        raise ValueError("give a date as YYYY-MM-DD")
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be from {FIRST_DAY} to {LAST_DAY}")
    return value


Day = Annotated[
    date,
    PlainValidator(check_day),
    PlainSerializer(date.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2025-07-01"]}),
]


def check_instant(value: object) -> datetime:
    """TIME-1: an instant with its UTC offset ("2025-07-01T12:00:00Z"), in UTC, within the
    ledger's range."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("not an ISO 8601 instant") from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError("give an instant with its UTC offset, e.g. 2025-07-01T12:00:00Z")
    try:
        at = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the calendar") from None
    if not FIRST_INSTANT <= at < END_INSTANT:
        raise ValueError(f"must be from {FIRST_INSTANT.date()} to {LAST_DAY}")
    return at


Instant = Annotated[
    datetime,
    PlainValidator(check_instant),
    PlainSerializer(lambda at: at.isoformat().replace("+00:00", "Z"), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2025-07-01T12:00:00Z"]}),
]
