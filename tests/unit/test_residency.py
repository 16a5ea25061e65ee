"""Sub-processors by region (RES-1)."""

from __future__ import annotations

from datetime import date

from domain.residency import Region, SubprocessorList
from tests.unit.support import t

SEED_DAY = date(2019, 10, 28)


def test_res_1_the_seed_list_answers_who_serves_each_region_sorted_by_name() -> None:
    book = SubprocessorList.seed(t("2019-10-28"))
    assert book.serving("EU", SEED_DAY) == [
        "Amazon Web Services LLC",
        "Linode LLC (EU)",
        "Quality Unit LLC",
        "Quality Unit Ukraine",
        "Twilio Inc.",
        "Websupport s.r.o.",
    ]
    assert book.serving("US", SEED_DAY) == [
        "Amazon Web Services LLC",
        "Linode LLC (US)",
        "Quality Unit LLC",
        "Quality Unit Ukraine",
        "Twilio Inc.",
    ]
    assert book.serving("EU", date(2019, 10, 27)) == []


def test_res_1_the_list_changes_only_by_recorded_engagements_from_their_dates() -> None:
    book = SubprocessorList.seed(t("2019-10-28"))
    book.engage("Hetzner Online GmbH", [Region.EU], date(2025, 5, 1), t("2025-04-01"))
    book.disengage("Twilio Inc.", date(2025, 6, 1), t("2025-04-01"))
    assert "Hetzner Online GmbH" not in book.serving("EU", date(2025, 4, 30))
    assert "Hetzner Online GmbH" in book.serving("EU", date(2025, 5, 1))
    assert "Hetzner Online GmbH" not in book.serving("US", date(2025, 5, 1))
    assert "Twilio Inc." in book.serving("US", date(2025, 5, 31))
    assert "Twilio Inc." not in book.serving("US", date(2025, 6, 1))
