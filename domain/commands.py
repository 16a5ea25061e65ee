"""The ledger's command vocabulary: one frozen model per command, with its bounds and the
rules it carries out, defined once.

The API's request bodies, the scenario runner's steps, the CLI and the idempotency
fingerprint are these models: a command is checked here, as a whole (every field at fault
is named, not only the first), and nothing parses it a second time. What a command may
carry is bounded by the value types of `domain.values`; what it may do in the state the
ledger is in is for the aggregate's guards to say.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, ClassVar, Literal, Protocol, Self, get_args
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.account import Account
from domain.cancellation import CancellationChannel
from domain.catalog import Cycle
from domain.errors import refusal
from domain.invoicing import Address, Language, PaymentMethodKind, Person
from domain.money import Money
from domain.numbering import Numbering
from domain.policy import MAX_TRIAL_DAYS, Terms
from domain.prepaid import DEFAULT_CANCELLATION_FEE
from domain.residency import Region
from domain.subjects import EXPORTED_RIGHTS, Purpose, Subject
from domain.suspension import SuspensionReason
from domain.values import (
    City,
    CompanyId,
    CompanyName,
    CountryCode,
    CreditAmount,
    CurrencyCode,
    Day,
    Email,
    LifetimeCode,
    Login,
    ParticipantId,
    PaymentToken,
    PersonName,
    PlanName,
    PostalCode,
    Price,
    Province,
    SeatCount,
    Share,
    Source,
    Street,
    SubprocessorName,
    VatIdText,
)

TrialDays = Annotated[int, Field(strict=True, ge=1, le=MAX_TRIAL_DAYS, examples=[14])]
Purposes = Annotated[list[Purpose], Field(min_length=1, max_length=len(Purpose))]
Regions = Annotated[list[Region], Field(min_length=1, max_length=len(Region))]


class Context(Protocol):
    """What a command is carried out with: the instant, the terms in force, the numbering."""

    at: datetime
    terms: Terms
    numbering: Numbering


class Command(BaseModel):
    """A request to change the ledger, as checked at the door."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    command: ClassVar[str]  # its name in scenario files (SCENARIOS.md)

    @classmethod
    def parse(cls, data: object) -> Self:
        """The command from data (a scenario step, a decoded JSON body); INVALID_INPUT
        naming every field at fault."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise refusal(error) from None

    def fingerprint(self, target: UUID | None) -> str:
        """What an idempotency key is bound to: the command, its fields and its target."""
        text = json.dumps(
            [self.command, str(target) if target else None, self.model_dump(mode="json")],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


class AccountCommand(Command):
    """A command on one account, carried out by one call on the account."""

    def carry_out(self, account: Account, context: Context) -> None:
        raise NotImplementedError


class Owner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: PersonName
    email: Email

    def person(self) -> Person:
        return Person(name=self.name, email=self.email)


class PostalAddress(BaseModel):
    """INV-3: street, city, postal code, state or province, country."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: Street
    city: City
    postal_code: PostalCode
    state: Province | None = None
    country: CountryCode

    def address(self) -> Address:
        return Address(**self.model_dump())


def _address(given: PostalAddress | None) -> Address | None:
    return given.address() if given is not None else None


# ---------------------------------------------------------------- opening accounts


class OpenAccount(Command):
    """ACC-1: the owner's full name and e-mail, a company and a country. ACC-3: the region
    follows the country unless given. TRIAL-1: a paid plan starts with a trial of up to 14
    days; the free plan has none. BILL-1: the plan is sold in that currency and cycle."""

    command = "open_account"

    owner: Owner
    company: CompanyName
    country: CountryCode
    currency: CurrencyCode
    plan: PlanName
    cycle: Cycle
    seats: SeatCount
    trial_days: TrialDays | None = None
    region: Region | None = None
    language: Language = Language.EN
    "the owner's e-mails are written in this language"


class OpenWithCode(Command):
    """LTD-2/LTD-3: a lifetime-deal code opens an account on the deal's plan with two
    lifetime seats, no trial and no periodic charge."""

    command = "redeem_code"

    code: LifetimeCode
    owner: Owner
    company: CompanyName
    country: CountryCode
    currency: CurrencyCode = "USD"
    region: Region | None = None


# ---------------------------------------------------------------- on an account


class AddSeats(AccountCommand):
    """ACC-2: agents' seats. BILL-3/BILL-4: an upgrade; CREDIT-1: it moves a pool's rate;
    LTD-6: a lifetime deal's package may be exceeded."""

    command = "add_seats"
    count: SeatCount

    def carry_out(self, account: Account, context: Context) -> None:
        account.add_seats(self.count, context.at, context.terms, context.numbering)


class RemoveSeats(AccountCommand):
    """ACC-2: an account keeps its owner's seat. BILL-5: a downgrade is never refunded."""

    command = "remove_seats"
    count: SeatCount

    def carry_out(self, account: Account, context: Context) -> None:
        account.remove_seats(self.count, context.at, context.terms)


class ChangePlan(AccountCommand):
    """BILL-1: up the rank is an upgrade (BILL-3/BILL-4), down a downgrade (BILL-5)."""

    command = "change_plan"
    plan: PlanName

    def carry_out(self, account: Account, context: Context) -> None:
        account.change_plan(self.plan, context.at, context.terms, context.numbering)


class AddPaymentMethod(AccountCommand):
    """PAY-1: a kind and the processor's token, never a card number. TRIAL-2/TRIAL-3: the
    first period starts and is charged; PAY-4: every open invoice is charged."""

    command = "add_payment_method"
    kind: PaymentMethodKind
    token: PaymentToken

    def carry_out(self, account: Account, context: Context) -> None:
        account.add_payment_method(
            self.kind, self.token, context.at, context.terms, context.numbering
        )


class SetBillingDetails(AccountCommand):
    """INV-3: who invoices are made out to; LTD-7: they release withheld charges."""

    command = "set_billing_details"
    name: PersonName
    company: CompanyName
    email: Email | None = None
    address: PostalAddress | None = None
    company_id: CompanyId | None = None  # EN 16931 BT-47, as registered locally
    electronic_address: ParticipantId | None = None  # where e-invoices go (Peppol)

    def carry_out(self, account: Account, context: Context) -> None:
        account.set_billing_details(
            name=self.name,
            email=self.email,
            company=self.company,
            address=_address(self.address),
            company_ids={"registration": self.company_id} if self.company_id else {},
            electronic_address=self.electronic_address,
            at=context.at,
            terms=context.terms,
            numbering=context.numbering,
        )


class SetVatId(AccountCommand):
    """INV-5: a valid VAT ID of the account's country; it changes no issued invoice."""

    command = "set_vat_id"
    vat_id: VatIdText

    def carry_out(self, account: Account, context: Context) -> None:
        account.set_vat_id(self.vat_id, context.at)


class ChooseLanguage(AccountCommand):
    """The owner's e-mails are written in this language from now on."""

    command = "choose_language"
    language: Language

    def carry_out(self, account: Account, context: Context) -> None:
        account.choose_language(self.language, context.at)


class RecordActivity(AccountCommand):
    """IDLE-1: recorded agent activity."""

    command = "record_activity"

    def carry_out(self, account: Account, context: Context) -> None:
        account.record_activity(context.at)


class Cancel(AccountCommand):
    """CANCEL-1: the "stop account" action, at once; CANCEL-2: by e-mail, at the end of the
    next business day."""

    command = "cancel"
    via: CancellationChannel

    def carry_out(self, account: Account, context: Context) -> None:
        account.cancel(self.via, context.at, context.terms)


class Suspend(AccountCommand):
    """CANCEL-4: the vendor suspends, warning the owner first."""

    command = "suspend"
    reason: SuspensionReason

    def carry_out(self, account: Account, context: Context) -> None:
        account.suspend(self.reason, context.at)


class LiftSuspension(AccountCommand):
    """ACC-4: the account is reactivated once every reason is cleared (BILL-8)."""

    command = "lift_suspension"
    reason: SuspensionReason

    def carry_out(self, account: Account, context: Context) -> None:
        account.lift_suspension(self.reason, context.at, context.terms, context.numbering)


class ReportSharedLogin(AccountCommand):
    """LOGIN-1: a detected shared login adds a surcharge from the next period."""

    command = "report_shared_login"
    login: Login

    def carry_out(self, account: Account, context: Context) -> None:
        account.report_shared_login(self.login, context.at)


class ResolveSharedLogin(AccountCommand):
    """LOGIN-1: the surcharge ends with the next period."""

    command = "resolve_shared_login"
    login: Login

    def carry_out(self, account: Account, context: Context) -> None:
        account.resolve_shared_login(self.login, context.at)


class CorrectInvoice(AccountCommand):
    """INV-2: the last invoice's billing details, within 15 days of its issue."""

    command = "correct_invoice"
    name: PersonName | None = None
    company: CompanyName | None = None
    address: PostalAddress | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.name is None and self.company is None and self.address is None:
            raise ValueError("give at least one of name, company, address")
        return self

    def carry_out(self, account: Account, context: Context) -> None:
        account.correct_invoice(
            name=self.name,
            company=self.company,
            address=_address(self.address),
            at=context.at,
            numbering=context.numbering,
        )


class GrantPrepaidCredit(AccountCommand):
    """CREDIT-1: a pool granted by agreement, invoiced at once; CREDIT-5: its cancellation
    fee, a share of what remains."""

    command = "grant_prepaid_credit"
    amount: CreditAmount
    cancellation_fee: Share = DEFAULT_CANCELLATION_FEE

    def carry_out(self, account: Account, context: Context) -> None:
        account.grant_prepaid_credit(
            self.amount, self.cancellation_fee, context.at, context.terms, context.numbering
        )


class RedeemCode(Command):
    """LTD-4: one code per account; a code redeemed a second time suspends both accounts."""

    command = "redeem_code"
    code: LifetimeCode


# ---------------------------------------------------------------- the vendor's


class AnnouncePriceChange(Command):
    """BILL-6: announced at least 30 days ahead; every affected owner is notified."""

    command = "announce_price_change"

    plan: PlanName
    currency: CurrencyCode
    cycle: Cycle
    price: Price
    "per seat and period, in the change's currency"
    effective_on: Day

    @field_validator("price")
    @classmethod
    def _in_its_currency(cls, price: Money, info: ValidationInfo) -> Money:
        currency = info.data.get("currency")
        if currency is not None and price.currency != currency:
            raise ValueError(f"must be in {currency}, the change's currency")
        return price


class SellCode(Command):
    """LTD-1: a lifetime-deal code is sold once."""

    command = "sell_code"
    code: LifetimeCode
    currency: CurrencyCode = "USD"


class EngageSubprocessor(Command):
    """RES-1: the sub-processor list changes only by recorded events."""

    command = "engage_subprocessor"
    name: SubprocessorName
    regions: Regions
    from_day: Day


class DisengageSubprocessor(Command):
    """RES-1: a sub-processor stops serving after this day."""

    command = "disengage_subprocessor"
    name: SubprocessorName
    until_day: Day


# ---------------------------------------------------------------- data subjects (GDPR)


class GiveConsent(Command):
    """GDPR-1: consent per purpose; a new subject gives a name and an e-mail; `account`
    links the subject to a customer account."""

    command = "give_consent"
    purposes: Purposes
    name: PersonName | None = None
    email: Email | None = None
    account: UUID | None = None
    source: Source = "api"
    "where the consent was given"


class WithdrawConsent(Command):
    """GDPR-1: consent can be withdrawn at any time, per purpose."""

    command = "withdraw_consent"
    purposes: Purposes


class SubjectRequest(Command):
    """GDPR-3: a request, recorded with its deadline and answered."""

    right: str

    def answer(self, subject: Subject, at: datetime) -> str:
        """Carries the request out on the subject; the answer recorded."""
        raise NotImplementedError


class RequestAccess(SubjectRequest):
    """GDPR-3: the request of a right that yields the export (Right.yields_export)."""

    command = "request_access"
    right: Literal["access", "portability", "information"] = "access"

    def answer(self, subject: Subject, at: datetime) -> str:
        return "export"


assert set(get_args(RequestAccess.model_fields["right"].annotation)) == EXPORTED_RIGHTS, (
    "the access request names exactly the rights that yield an export"
)


class RequestRectification(SubjectRequest):
    """GDPR-3: the new name or e-mail is recorded; the old stays in history, sealed."""

    command = "request_rectification"
    right: Literal["rectification"] = "rectification"
    name: PersonName | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.name is None and self.email is None:
            raise ValueError("give a new name or e-mail")
        return self

    def answer(self, subject: Subject, at: datetime) -> str:
        subject.rectify(self.name, self.email, at)
        return "rectified"


class RequestRestriction(SubjectRequest):
    """GDPR-3: restriction of processing."""

    command = "request_restriction"
    right: Literal["restriction"] = "restriction"

    def answer(self, subject: Subject, at: datetime) -> str:
        subject.restrict(at)
        return "restricted"


class ObjectToProcessing(SubjectRequest):
    """GDPR-3: an objection, per purpose."""

    command = "object_to_processing"
    right: Literal["objection"] = "objection"
    purposes: Purposes

    def answer(self, subject: Subject, at: datetime) -> str:
        subject.object_to(self.purposes, at)
        return "objection recorded"


class RequestErasure(SubjectRequest):
    """GDPR-4: erasure when requested, except for records under GDPR-5."""

    command = "request_erasure"
    right: Literal["erasure"] = "erasure"


AnySubjectRequest = Annotated[
    RequestAccess | RequestRectification | RequestRestriction | ObjectToProcessing | RequestErasure,
    Field(discriminator="right"),
]
