"""The parameters many routes share, converted at the edge: pages, idempotency keys,
points in time and document numbers."""

from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Path, Query
from pydantic import BaseModel

from domain.values import Instant
from ledger.views import Page as Listed

PAGE_LIMIT_DEFAULT = 100
PAGE_LIMIT_MAX = 500
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None

    @classmethod
    def of(cls, found: Listed[T]) -> "Page[T]":
        """A page the ledger read by key (ledger.listings), as the API answers it."""
        return cls(items=found.items, next_cursor=found.next_cursor)


def page(items: list[T], limit: int, cursor: str | None) -> Page[T]:
    start = int(cursor or 0)
    more = start + limit < len(items)
    return Page(
        items=items[start : start + limit], next_cursor=str(start + limit) if more else None
    )


Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]
Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")]
# An opaque cursor of a list read by key from the read index (ledger/listings.py)
KeyCursor = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,200}$")]
Key = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,200}$",
        description="repeats of a command under this key (the token's own) record nothing",
    ),
]
AsOf = Annotated[
    Instant | None,
    Query(description="business time (TIME-2): what held at this instant; default now"),
]
KnownAt = Annotated[
    Instant | None,
    Query(description="recording time (TIME-2): as the ledger knew it then; default now"),
]
# INV-1: `2025-000001`, `CN-2025-000001`; in a region's own series `EU-2025-000001`
DocumentNumber = Annotated[str, Path(pattern=r"^(CN-)?((EU|US)-)?[0-9]{4}-[0-9]{6}$")]


def _point_in_time(as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """TIME-2: the business and recording instants a read is about."""
    return {"as_of": as_of, "known_at": known_at}


Known = Annotated[dict[str, Any], Depends(_point_in_time)]


class Created(BaseModel):
    id: UUID


def created_at(what: str) -> dict[int | str, dict[str, Any]]:
    """The 201 response's `Location` header, documented."""
    header = {"description": f"the {what}'s address", "schema": {"type": "string"}}
    return {201: {"headers": {"Location": header}}}
