"""End to end: the real HTTP server on a loopback port, the scheduler, and a real SMTP server.
A whole account story is driven over HTTP; renewals come from the scheduler; the owner's
e-mails are read back from the SMTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from adapters.clock import SimulatedClock
from adapters.mail import SmtpMailer, correction_id
from api import create_app
from app import Ledger
from scheduler import Scheduler
from settings import ApiToken, Permission
from tests.helpers import eventually
from tests.ledgers import utc
from tests.serving import serving
from tests.smtp import SmtpServer

TOKENS = {"helpdesk": ApiToken(secret="e2e-helpdesk", scopes=[Permission.WRITE])}
HEADERS = {"Authorization": "Bearer e2e-helpdesk"}


@pytest.fixture
def service(ledger: Ledger, clock: SimulatedClock) -> Iterator[tuple[httpx2.Client, SmtpServer]]:
    clock.set(utc("2025-03-03T09:00:00Z"))
    with SmtpServer() as smtp:
        mailer = SmtpMailer("127.0.0.1", smtp.port, security="none")
        scheduler = Scheduler(ledger, every_seconds=1, mailer=mailer).start()
        try:
            with (
                serving(create_app(ledger, TOKENS)) as url,
                httpx2.Client(base_url=url, headers=HEADERS, timeout=30) as client,
            ):
                yield client, smtp
        finally:
            scheduler.stop()


def test_an_account_story_over_http_with_the_scheduler_and_e_mail(
    service: tuple[httpx2.Client, SmtpServer], clock: SimulatedClock
) -> None:
    client, smtp = service

    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content else {}

    def invoices() -> list[dict[str, Any]]:
        page = client.get(f"/accounts/{account}/invoices").json()
        return list(page["items"])

    account = post(
        "/accounts",
        {
            "owner": {"name": "Daan de Vries", "email": "daan@helpdesk.example"},
            "company": "Helpdesk B.V.",
            "country": "NL",
            "currency": "EUR",
            "plan": "ticket",
            "cycle": "monthly",
            "seats": 2,
            "language": "nl",
        },
    )["id"]
    post(f"/accounts/{account}/payment-method", {"kind": "card", "token": "tok_e2e"})
    post(f"/accounts/{account}/seats", {"count": 3})

    # the trial ends and a month passes: the scheduler invoices, charges and renews
    clock.set(utc("2025-04-05T09:00:00Z"))
    eventually(lambda: len(invoices()) >= 2 and invoices()[-1]["status"] == "paid")
    assert client.get(f"/accounts/{account}").json()["seats"] == 5
    renewal = invoices()[-1]
    assert renewal["issued_at"].startswith("2025-04-")

    # within 15 days the owner corrects the invoice's company name (INV-6)
    clock.set(clock.now() + timedelta(days=2))
    post(f"/accounts/{account}/invoice-correction", {"company": "Helpdesk Nederland B.V."})
    kinds = [i["kind"] for i in invoices()]
    assert kinds[-2:] == ["credit_note", "invoice"]
    credit_note, reissued = (i["number"] for i in invoices()[-2:])
    assert invoices()[-1]["billed_to"]["company"] == "Helpdesk Nederland B.V."

    # cancelled by e-mail to support: effective five business days later (CANCEL-2)
    post(f"/accounts/{account}/cancellation", {"via": "email"})
    effective = client.get(f"/accounts/{account}").json()["cancellation_effective_at"]
    clock.set(utc(effective) + timedelta(hours=1))
    eventually(lambda: client.get(f"/accounts/{account}").json()["status"] == "cancelled")

    # every notification, and the correction's documents (INV-2), reach the owner once,
    # in Dutch
    notifications = client.get(f"/accounts/{account}/notifications").json()["items"]
    assert {n["kind"] for n in notifications} >= {"receipt", "cancellation_confirmed"}
    expected = sorted([n["id"] for n in notifications] + [str(correction_id(credit_note))])
    mails = eventually(
        lambda: (found := smtp.inbox.received()) and len(found) >= len(expected) and found
    )
    time.sleep(1.5)  # another scheduler run or two: nothing more may arrive
    mails = smtp.inbox.received()
    assert sorted(m["Message-ID"].strip("<>").split("@")[0] for m in mails) == expected
    [correction] = [m for m in mails if str(correction_id(credit_note)) in m["Message-ID"]]
    attached = [part.get_filename() for part in correction.iter_attachments()]
    assert attached == [f"{credit_note}.pdf", f"{reissued}.pdf"]
    assert {m["To"] for m in mails} == {"daan@helpdesk.example"}
    assert all(m["Content-Language"] == "nl" for m in mails)
    subjects = [m["Subject"] for m in mails]
    assert f"Ontvangstbewijs voor factuur {renewal['number']}" in subjects
    assert "Uw opzegging is bevestigd" in subjects
