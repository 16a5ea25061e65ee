"""Deployment settings, read from SEATLEDGER_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import DEFAULT_LTD_REDEEM_DEADLINE

DEFAULT_STORE = "sqlite:///var/seatledger.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEATLEDGER_", extra="forbid")

    store: str = DEFAULT_STORE
    seller_country: str = "SK"  # INV-4
    business_calendar: str = "SK"  # CANCEL-2
    ltd_redeem_deadline: AwareDatetime = DEFAULT_LTD_REDEEM_DEADLINE  # LTD-2
    catalog_file: Path | None = None  # BILL-1: a JSON catalog replacing the default

    @field_validator("seller_country", "business_calendar")
    @classmethod
    def _country(cls, value: str) -> str:
        if len(value) != 2 or not value.isupper():
            raise ValueError("an ISO 3166 alpha-2 code")
        return value

    @field_validator("ltd_redeem_deadline")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(DEFAULT_LTD_REDEEM_DEADLINE.tzinfo)
