"""Data subjects: consent per purpose, requests and retention (GDPR-1..3)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from domain.cancellation import CancellationChannel
from domain.errors import DomainError
from domain.subjects import Purpose, Right, Subject
from tests.unit.support import open_account, t, terms


def lead(at: str, purposes: list[Purpose], account_id: UUID | None = None) -> Subject:
    return Subject.first_consent(
        subject_id=uuid4(),
        purposes=purposes,
        name="Lin Lead",
        email="lin@example.com",
        account_id=account_id,
        source="web form",
        at=t(at),
    )


def test_gdpr_1_consent_is_per_purpose_and_withdrawn_per_purpose() -> None:
    subject = lead("2025-01-10", [Purpose.MARKETING, Purpose.CUSTOMER_SERVICE])
    subject.withdraw_consent([Purpose.MARKETING], t("2025-02-01"))
    assert subject.in_force() == [Purpose.CUSTOMER_SERVICE]
    with pytest.raises(DomainError):
        subject.withdraw_consent([Purpose.MARKETING], t("2025-02-02"))


def test_gdpr_1_a_new_subject_gives_a_name_and_an_e_mail() -> None:
    with pytest.raises(DomainError):
        Subject.check_newcomer("Lin Lead", None)


def test_gdpr_2_a_non_customers_consent_lapses_5_years_after_it_was_given() -> None:
    subject = lead("2025-01-10T08:00", [Purpose.MARKETING])
    assert subject.lapses_at(None) == t("2030-01-10T08:00")
    task = subject.next_task(None)
    assert task is not None and task.due_at == t("2030-01-10T08:00")
    subject.withdraw_consent([Purpose.MARKETING], t("2026-03-01"))
    assert subject.lapses_at(None) == t("2026-03-01")


def test_gdpr_2_a_customers_consent_lasts_while_in_use_and_5_years_after_the_end_of_use() -> None:
    policy = terms()
    account = open_account(t("2025-01-01"), policy)
    subject = lead("2025-01-10", [Purpose.CUSTOMER_SERVICE], account.id)
    assert subject.lapses_at(account) is None  # in use: open-ended
    account.cancel(CancellationChannel.BUTTON, t("2025-06-01T12:00"), policy)
    assert subject.lapses_at(account) == t("2030-06-01T12:00")
    (consent, content) = subject.retention(account)
    assert (consent.category, consent.due_on) == ("customer_service", date(2030, 6, 1))
    # CANCEL-3: the account's content goes 30 days after the cancellation
    assert (content.category, content.due_on) == ("account_content", date(2025, 7, 1))


def test_gdpr_2_a_lapsed_consent_erases_the_data_held_under_it() -> None:
    subject = lead("2025-01-10", [Purpose.MARKETING])
    subject.erase_on_lapse(t("2030-01-10"))
    assert (subject.name, subject.email, subject.in_force()) == (None, None, [])
    assert subject.next_task(None) is None


def test_gdpr_3_a_request_is_recorded_with_a_deadline_one_month_after_receipt() -> None:
    subject = lead("2025-01-10", [Purpose.MARKETING])
    number = subject.receive_request(Right.ACCESS, t("2025-01-31T15:00"))
    assert subject.requests[number - 1].due_on == date(2025, 2, 28)
    subject.answer_request(number, "export", t("2025-02-02"))
    assert subject.requests[0].answer == "export"
    assert {r for r in Right if r.yields_export} == {
        Right.ACCESS,
        Right.PORTABILITY,
        Right.INFORMATION,
    }


def test_gdpr_4_erasure_on_request_withdraws_every_consent_and_erases_once() -> None:
    subject = lead("2025-01-10", [Purpose.MARKETING, Purpose.CUSTOMER_SERVICE])
    subject.collect_events()
    subject.erase_on_request(t("2025-02-01"))
    subject.erase_on_request(t("2025-02-02"))
    kinds = [type(e).__name__ for e in subject.collect_events()]
    assert kinds == ["ConsentWithdrawn", "Erased"]
    assert (subject.name, subject.in_force()) == (None, [])
