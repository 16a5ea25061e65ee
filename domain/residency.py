"""Residency and sub-processors (RES-1)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.errors import invalid
from domain.model import Aggregate, Event, stable_id


class Region(StrEnum):
    """ACC-3 (interpretation): where an account is served from, and its data kept (RES-1)."""

    EU = "EU"
    US = "US"


def check_placement(region: str, store_region: Region | None) -> None:
    """RES-1: a store that keeps one region's data (a store per region) takes only that
    region's accounts; a store that keeps every region (`store_region` None) takes all."""
    if store_region is not None and region != store_region.value:
        raise invalid(
            "region",
            f"this ledger keeps region {store_region.value}'s data (RES-1): an account of "
            f"region {region} is opened in its own region's ledger",
        )


class Engagement(BaseModel):
    """One sub-processor serving some regions from a date, until it is removed."""

    model_config = ConfigDict(frozen=True)
    name: str
    regions: tuple[str, ...]
    from_day: date
    until_day: date | None = None


class SubprocessorList(Aggregate):
    """RES-1: the list is data, seeded from the published list, and changes only by
    recorded events. It answers who handles an account's data on a date."""

    ID: ClassVar[UUID] = stable_id("subprocessors")
    engagements: list[Engagement] = []

    class Seeded(Event):
        engagements: list[Engagement]

        def apply(self, book: SubprocessorList) -> None:
            book.engagements = list(self.engagements)

    class Engaged(Event):
        engagement: Engagement

        def apply(self, book: SubprocessorList) -> None:
            book.engagements.append(self.engagement)

    class Disengaged(Event):
        name: str
        until_day: date

        def apply(self, book: SubprocessorList) -> None:
            book.engagements = [
                e.model_copy(update={"until_day": self.until_day})
                if e.name == self.name and e.until_day is None
                else e
                for e in book.engagements
            ]

    @classmethod
    def seed(cls, at: datetime) -> SubprocessorList:
        text = (
            resources.files("domain")
            .joinpath("data/subprocessors.json")
            .read_text(encoding="utf-8")
        )
        data = json.loads(text)
        first = date.fromisoformat(data["effective_on"])
        engagements = [
            Engagement(name=row["name"], regions=tuple(row["regions"]), from_day=first)
            for row in data["subprocessors"]
        ]
        return cls.create(cls.Seeded, cls.ID, at, engagements=engagements)

    def current(self, name: str) -> Engagement | None:
        return next((e for e in self.engagements if e.name == name and e.until_day is None), None)

    def engage(self, name: str, regions: list[Region], from_day: date, at: datetime) -> None:
        assert regions, "an engagement names its regions"
        if self.current(name) is not None:
            raise invalid("name", f"{name!r} is engaged already")
        engagement = Engagement(
            name=name, regions=tuple(sorted({r.value for r in regions})), from_day=from_day
        )
        self.trigger(self.Engaged, at, engagement=engagement)

    def disengage(self, name: str, until_day: date, at: datetime) -> None:
        engaged = self.current(name)
        if engaged is None:
            raise invalid("name", f"{name!r} is not engaged")
        if until_day < engaged.from_day:
            raise invalid("until_day", "a sub-processor cannot leave before it started")
        self.trigger(self.Disengaged, at, name=name, until_day=until_day)

    def serving(self, region: str, day: date) -> list[str]:
        """RES-1: the sub-processors handling data of `region` on `day`, sorted by name."""
        return sorted(
            {
                e.name
                for e in self.engagements
                if region in e.regions
                and e.from_day <= day
                and (e.until_day is None or day < e.until_day)
            }
        )
