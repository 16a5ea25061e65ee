"""Acceptance: the scenario files, through the same runner as `seatledger scenario run`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app as cli_app
from domain.account import Account
from scenario import match, run_file

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT.parent / "shared" / "scenarios"
CORE_PUBLIC = [
    "trial-converts-with-card.yaml",
    "trial-expires-without-card.yaml",
    "annual-upgrade-is-prorated.yaml",
    "monthly-changes-wait-for-next-period.yaml",
    "invoice-correction-window.yaml",
    "inactive-free-account-is-deleted.yaml",
    "prepaid-pool-follows-seats.yaml",
    "lifetime-deal-extra-seats.yaml",
    "consent-retention-deadlines.yaml",
]
OWN = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
FILES = [PUBLIC / name for name in CORE_PUBLIC] + OWN


def test_the_public_scenarios_are_present() -> None:
    assert PUBLIC.is_dir(), f"shared/ is expected beside the repository at {PUBLIC}"
    for name in CORE_PUBLIC:
        assert (PUBLIC / name).is_file(), name
    assert len(OWN) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_scenario_passes_in_memory(path: Path) -> None:
    outcome = run_file(path)
    assert outcome.failures == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_scenario_passes_on_the_store(path: Path, store: str) -> None:
    outcome = run_file(path, store)
    assert outcome.failures == []


def _story(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "story.yaml"
    path.write_text(text)
    return path


OPEN = """
  - at: 2025-01-10T09:00:00Z
    open_account: {account: a, owner: {name: A B, email: a@b.example}, company: A, country: US,
                   currency: USD, plan: ticket, cycle: monthly, seats: 1}
"""


def test_a_wrong_expectation_fails_with_path_expected_and_actual(tmp_path: Path) -> None:
    outcome = run_file(
        _story(tmp_path, f"title: t\nsteps:{OPEN}  - expect:\n      account a: {{seats: 2}}\n")
    )
    assert [(f.step, f.path, f.expected, f.actual) for f in outcome.failures] == [
        (2, "account a.seats", 2, 1)
    ]


def test_steps_out_of_time_order_make_the_file_fail(tmp_path: Path) -> None:
    text = f"title: t\nsteps:{OPEN}  - advance: 2025-01-01T00:00:00Z\n"
    assert not run_file(_story(tmp_path, text)).passed


def test_an_expected_error_that_does_not_come_fails(tmp_path: Path) -> None:
    step = (
        "  - at: 2025-01-11T00:00:00Z\n"
        "    add_seats: {account: a, count: 1}\n"
        "    error: NO_SEATS_LEFT\n"
    )
    text = f"title: t\nsteps:{OPEN}{step}"
    assert not run_file(_story(tmp_path, text)).passed


def test_contains_matches_an_ordered_subsequence() -> None:
    actual = [{"kind": "a"}, {"kind": "b"}, {"kind": "c"}]
    assert match({"contains": [{"kind": "a"}, {"kind": "c"}]}, actual, "q") == []
    assert match({"contains": [{"kind": "c"}, {"kind": "a"}]}, actual, "q") != []
    assert match([{"kind": "a"}], actual, "q") != []


def test_the_command_line_prints_the_closing_line_and_exits_by_the_result(tmp_path: Path) -> None:
    good = [str(PUBLIC / name) for name in CORE_PUBLIC]
    result = subprocess.run(
        [sys.executable, "-m", "cli", "scenario", "run", *good],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip().splitlines()[-1] == f"{len(good)} passed, 0 failed"
    assert result.returncode == 0
    bad = _story(tmp_path, f"title: t\nsteps:{OPEN}  - expect:\n      account a: {{seats: 2}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "cli", "scenario", "run", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"
    assert result.returncode == 1


def test_a_step_that_raises_unexpectedly_fails_its_file_and_the_next_file_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A defect (not a refusal) in one story is that file's failure, naming its step and
    the exception's last line; the run goes on with the next file and closes with its
    summary line."""

    def defect(self: Account, at: object) -> None:
        raise ZeroDivisionError("the activity counter divided by zero")

    monkeypatch.setattr(Account, "record_activity", defect)
    broken = tmp_path / "a-broken.yaml"
    broken.write_text(
        f"title: t\nsteps:{OPEN}"
        "  - at: 2025-01-11T00:00:00Z\n    record_activity: {account: a}\n"
        "  - expect:\n      account a: {seats: 1}\n"
    )
    fine = tmp_path / "b-fine.yaml"
    fine.write_text(f"title: t\nsteps:{OPEN}  - expect:\n      account a: {{seats: 1}}\n")
    result = CliRunner().invoke(cli_app, ["scenario", "run", str(broken), str(fine)])
    lines = result.stdout.strip().splitlines()
    assert lines == [
        f"{broken}: step 2: step: expected 'no unexpected error', actual "
        "'ZeroDivisionError: the activity counter divided by zero'",
        "1 passed, 1 failed",
    ]
    assert result.exit_code == 1
