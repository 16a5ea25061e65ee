"""Deployment settings, read from SEATLEDGER_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.documents import ElectronicAddress, Seller
from domain.errors import DomainError
from domain.policy import DEFAULT_LTD_REDEEM_DEADLINE
from domain.residency import Region
from domain.vat import check_vat_id

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
    # RES-1: set where each region has a store of its own, to the region whose data this
    # store keeps (its invoices numbered in the region's own series, INV-1); unset, the
    # store keeps every region's data
    region: Region | None = None
    seller_country: str = "SK"  # INV-4
    # The seller on every document (EN 16931 BG-4). The defaults describe an example vendor
    # so that the ledger runs out of the box; a deployment sets its own (README, Documents).
    seller_name: str = "Example Vendor s.r.o."
    seller_street: str = "Hlavná 1"
    seller_city: str = "Bratislava"
    seller_postal_code: str = "811 01"
    seller_vat_id: str = "SK2029000006"  # BT-31, of the seller country
    seller_company_id: str = "50000001"  # BT-30, the legal registration (IČO)
    seller_electronic_address: str | None = None  # BT-34, "0245:..."; else from the VAT ID
    seller_email: str | None = None
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

    @model_validator(mode="after")
    def _seller_vat_id(self) -> Self:
        """The seller's VAT ID is checked like a customer's (INV-5), for its country."""
        try:
            self.seller_vat_id = check_vat_id(self.seller_vat_id, self.seller_country)
        except DomainError as error:
            raise ValueError(f"seller_vat_id: {error.message}") from None
        if self.seller_electronic_address is not None:
            ElectronicAddress.parse(self.seller_electronic_address)
        return self

    def seller(self) -> Seller:
        return Seller(
            name=self.seller_name,
            street=self.seller_street,
            city=self.seller_city,
            postal_code=self.seller_postal_code,
            country=self.seller_country,
            vat_id=self.seller_vat_id,
            company_id=self.seller_company_id,
            electronic_address=self.seller_electronic_address,
            email=self.seller_email,
        )

    @field_validator("ltd_redeem_deadline")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(DEFAULT_LTD_REDEEM_DEADLINE.tzinfo)
