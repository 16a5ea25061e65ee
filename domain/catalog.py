"""The price catalog: per-seat prices per plan, currency and cycle, as data (BILL-1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from domain.errors import DomainError, ErrorCode, invalid
from domain.money import MINOR_UNITS


class Cycle(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    rank: int
    # prices[cycle][currency] = per-seat price for one period of that cycle
    prices: dict[Cycle, dict[str, Decimal]]

    @field_validator("prices")
    @classmethod
    def _no_floats(cls, value: dict[Cycle, dict[str, Decimal]]) -> dict[Cycle, dict[str, Decimal]]:
        for by_currency in value.values():
            for currency, price in by_currency.items():
                assert currency in MINOR_UNITS, f"unknown currency {currency}"
                assert price >= 0, "prices are never negative"
        return value

    @property
    def is_free(self) -> bool:
        return self.rank == 0


class Catalog(BaseModel):
    """BILL-1: plans are ranked (free < ticket < ticket-chat < all-inclusive); a move up the
    rank is an upgrade. Prices come from data, never from code."""

    model_config = ConfigDict(frozen=True)

    plans: dict[str, Plan]
    lifetime_deal_plan: str = "all-inclusive"
    lifetime_deal_price: dict[str, Decimal] = {"USD": Decimal(59), "EUR": Decimal(59)}
    lifetime_deal_seats: int = 2

    def plan(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise DomainError(ErrorCode.UNKNOWN_PLAN, f"no plan named {name!r}", "plan") from None

    def base_price(self, plan: str, currency: str, cycle: Cycle) -> Decimal:
        """BILL-1: the catalog's per-seat price; UNKNOWN_PLAN when the plan is not sold so."""
        prices = self.plan(plan).prices.get(cycle, {})
        if currency not in prices:
            raise DomainError(
                ErrorCode.UNKNOWN_PLAN,
                f"plan {plan!r} is not sold in {currency} on the {cycle} cycle",
                "plan",
            )
        return prices[currency]

    def is_upgrade(self, old: str, new: str) -> bool:
        return self.plan(new).rank > self.plan(old).rank

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Catalog:
        """Reads the catalog format: {plans: {name: {rank, monthly, annual}}}, where a price is
        a number (the same in every currency) or a mapping currency -> number."""
        plans_data = data.get("plans", data)
        if not isinstance(plans_data, Mapping) or not plans_data:
            raise invalid("catalog", "expected a mapping of plans")
        plans: dict[str, Plan] = {}
        for name, spec in plans_data.items():
            if not isinstance(spec, Mapping) or "rank" not in spec:
                raise invalid("catalog", f"plan {name!r} needs a rank and prices")
            prices: dict[Cycle, dict[str, Decimal]] = {}
            for cycle in Cycle:
                raw = spec.get(cycle.value)
                if raw is None:
                    continue
                by_currency = raw if isinstance(raw, Mapping) else dict.fromkeys(MINOR_UNITS, raw)
                prices[cycle] = {
                    cur: _decimal(v, f"catalog.{name}.{cycle}") for cur, v in by_currency.items()
                }
            plans[str(name)] = Plan(name=str(name), rank=int(spec["rank"]), prices=prices)
        extra: dict[str, Any] = {}
        ltd = data.get("lifetime_deal")
        if isinstance(ltd, Mapping):
            extra = {
                "lifetime_deal_plan": ltd.get("plan", "all-inclusive"),
                "lifetime_deal_price": {
                    k: _decimal(v, "catalog.lifetime_deal") for k, v in ltd.get("price", {}).items()
                },
                "lifetime_deal_seats": int(ltd.get("seats", 2)),
            }
        return cls(plans=plans, **extra)

    @classmethod
    def default(cls) -> Catalog:
        text = resources.files("domain").joinpath("data/catalog.json").read_text(encoding="utf-8")
        return cls.from_data(json.loads(text))


def _decimal(value: object, field: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise invalid(field, f"not a number: {value!r}") from None
