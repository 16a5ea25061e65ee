"""Personal data inside events (GDPR-4) and how long the law keeps it (GDPR-5).

A field typed `Annotated[X | None, Personal(scope)]` holds personal data. When the store
writes an event it passes a `Sealer` in the serialisation context; the field is then written
as an envelope encrypted under the current key of (the event's aggregate, scope), never as
plaintext. Reading it back opens the envelope with that key; once the key was destroyed
(crypto-shredding) the field reads as None. Without a sealer (queries, API responses) the
field serialises as plain data. The domain never sees a key: it only says which scope each
field belongs to and when each scope falls due for erasure.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from domain.dates import add_months, start_of_day

SEALER = "sealer"  # the serialisation / validation context key the store fills
ENVELOPE_FIELD = "sealed"
STATUTORY_YEARS = 10  # GDPR-5: default 10 years after the end of the year of issue


class Scope(StrEnum):
    """Which key a personal field is encrypted under, so that each can be destroyed on its
    own date: a subject's own record; an account's profile (its owner, whom it writes to);
    the account's content about other people (its agents' logins), which goes with the
    account; and its billing records, which GDPR-5 keeps for the statutory period."""

    SUBJECT = "subject"
    PROFILE = "profile"
    CONTENT = "content"
    BILLING = "billing"


class Sealer(Protocol):
    def seal(self, scope: Scope, plain: Any) -> dict[str, Any]:
        """The envelope that replaces `plain` (JSON data) in the stored event."""

    def unseal(self, scope: Scope, envelope: dict[str, Any]) -> Any:
        """The JSON data inside the envelope, or None when its key was destroyed."""


class Withheld:
    """The sealer of a reader that needs no personal data (the finance projection): every
    sealed field reads as None, as after erasure, and no key is looked up."""

    def seal(self, scope: Scope, plain: Any) -> dict[str, Any]:
        raise AssertionError("a reader without personal data never writes")

    def unseal(self, scope: Scope, envelope: dict[str, Any]) -> Any:
        return None


WITHHELD = Withheld()


class Personal:
    """Marks a field as personal data of `scope` (GDPR-4)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        return core_schema.with_info_wrap_validator_function(
            self._open,
            inner,
            serialization=core_schema.wrap_serializer_function_ser_schema(
                self._seal, info_arg=True, schema=inner
            ),
        )

    def _seal(
        self, value: Any, serialize: core_schema.SerializerFunctionWrapHandler, info: Any
    ) -> Any:
        plain = serialize(value)
        sealer = (info.context or {}).get(SEALER)
        if sealer is None or plain is None:
            return plain
        return sealer.seal(self.scope, plain)

    def _open(
        self, value: Any, validate: core_schema.ValidatorFunctionWrapHandler, info: Any
    ) -> Any:
        if isinstance(value, dict) and ENVELOPE_FIELD in value:
            sealer = (info.context or {}).get(SEALER)
            if sealer is None:
                raise ValueError("sealed personal data can only be read through the store")
            value = sealer.unseal(self.scope, value)
        return validate(value)


def statutory_end(issued: list[datetime]) -> date | None:
    """GDPR-5: records the law requires to keep (invoices, payments) are kept until 10 years
    after the end of the year of the last issue; their personal data is erased then."""
    if not issued:
        return None
    year_end = date(max(issued).year + 1, 1, 1)
    return add_months(start_of_day(year_end), 12 * STATUTORY_YEARS).date()
