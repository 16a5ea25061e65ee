"""Unique account slugs (ACC-1) and idempotency records, as tiny aggregates whose identity
is derived from what they guard, so that two writers racing for one conflict in the store."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import invalid
from domain.model import Aggregate, Event, stable_id

MAX_SLUG_SUFFIX = 1000  # ACC-1: acme, acme-2, ... acme-1001


def slugify(company: str) -> str:
    """ACC-1: 'ACME, Inc.' -> 'acme-inc'."""
    ascii_text = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "account"


def slug_candidates(base: str, limit: int) -> list[str]:
    """ACC-1: a taken slug gets -2, -3, ..."""
    return [base] + [f"{base}-{n}" for n in range(2, limit + 2)]


def free_slug(company: str, taken: Callable[[str], bool]) -> str:
    """ACC-1: the first slug of the company name that is not `taken`; a name whose slug
    and every suffix up to MAX_SLUG_SUFFIX are taken is refused."""
    for candidate in slug_candidates(slugify(company), MAX_SLUG_SUFFIX):
        if not taken(candidate):
            return candidate
    raise invalid("company", "no free slug left for this company name")


class SlugClaim(Aggregate):
    slug: str = ""
    account_id: UUID | None = None

    class Claimed(Event):
        slug: str
        account_id: UUID

        def apply(self, claim: SlugClaim) -> None:
            claim.slug = self.slug
            claim.account_id = self.account_id

    @staticmethod
    def id_for(slug: str) -> UUID:
        return stable_id("slug", slug)

    @classmethod
    def claim(cls, slug: str, account_id: UUID, at: datetime) -> SlugClaim:
        return cls.create(cls.Claimed, cls.id_for(slug), at, slug=slug, account_id=account_id)


class CommandRecord(Aggregate):
    """An idempotency key that was used: the request it came with and the result it gave.
    A key is its actor's own: two tokens that happen to pick the same key never see each
    other's result."""

    key: str = ""
    fingerprint: str = ""
    result: dict[str, Any] = {}

    class Recorded(Event):
        key: str
        fingerprint: str
        result: dict[str, Any]

        def apply(self, record: CommandRecord) -> None:
            record.key = self.key
            record.fingerprint = self.fingerprint
            record.result = self.result

    @staticmethod
    def id_for(actor: str | None, key: str) -> UUID:
        return stable_id("command", actor or "", key)

    @classmethod
    def record(
        cls, actor: str | None, key: str, fingerprint: str, result: dict[str, Any], at: datetime
    ) -> CommandRecord:
        return cls.create(
            cls.Recorded,
            cls.id_for(actor, key),
            at,
            actor=actor,
            key=key,
            fingerprint=fingerprint,
            result=result,
        )
