"""Deployment settings, read from SEATLEDGER_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import DEFAULT_LTD_REDEEM_DEADLINE

DEFAULT_STORE = "sqlite:///var/seatledger.db"


class Permission(StrEnum):
    """What an API token may do."""

    WRITE = "write"  # internal services: commands and the reads they need
    FINANCE_READ = "finance:read"
    AUDIT_READ = "audit:read"
    ADMIN = "admin"  # the vendor's own commands (suspensions, grants, prices, codes), GDPR


class ApiToken(BaseModel):
    """A bearer token of the deployment; its name is the actor of the events it causes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    secret: SecretStr
    scopes: list[Permission]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEATLEDGER_", extra="forbid")

    store: str = DEFAULT_STORE
    seller_country: str = "SK"  # INV-4
    business_calendar: str = "SK"  # CANCEL-2
    ltd_redeem_deadline: AwareDatetime = DEFAULT_LTD_REDEEM_DEADLINE  # LTD-2
    catalog_file: Path | None = None  # BILL-1: a JSON catalog replacing the default
    # the API's bearer tokens, as JSON: {"helpdesk": {"secret": "...", "scopes": ["write"]}}
    api_tokens: dict[str, ApiToken] = {}
    # the scheduler: how often it looks for due work and undelivered e-mail
    scheduler_every_seconds: int = Field(60, ge=1)
    # mail delivery over SMTP; with no host, e-mails wait in the outbox
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "billing@seatledger.invalid"

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
