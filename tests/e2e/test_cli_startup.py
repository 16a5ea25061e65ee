"""`seatledger --help` starts without the ledger (issue 22, part 7): the command tree and
its options' types are all `import cli` loads; the ledger, the service, the simulation,
the charts and the document renderers are imported by the commands that use them. Speed is
measured in benchmarks, not here: these tests hold the structure that gives it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

import cli

ROOT = Path(__file__).resolve().parents[2]
# what `--help` must not import: each is a tenth of a second or more
HEAVY = (
    "weasyprint",
    "facturx",
    "pikepdf",
    "matplotlib",
    "uvicorn",
    "fastapi",
    "apscheduler",
    "app",
    "api",
    "scheduler",
    "scenario",
    "simulation",
    "adapters.documents",
    "projections.finance",
)
# the PDF renderer and the charts, which only rendering needs
RENDERERS = ("weasyprint", "facturx", "pikepdf", "matplotlib")
# the command tree as it stands: a command may be added, none may go missing
COMMANDS = {
    "": {
        "simulate",
        "report",
        "project",
        "serve",
        "scheduler",
        "scenario",
        "subject",
        "mail",
        "audit",
        "documents",
        "due",
    },
    "scenario": {"run"},
    "subject": {"export"},
    "mail": {"outbox", "release"},
    "audit": {"checkpoint", "verify", "replay", "explain", "documents", "docs"},
    "documents": {"export"},
    "due": {"failed", "retry"},
}


def loaded(script: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter holds after running `script`."""
    report = f"import json, sys; print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", f"{script}\n{report}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_importing_the_cli_loads_none_of_the_heavy_modules() -> None:
    assert loaded("import cli", HEAVY) == []


def test_help_loads_none_of_the_heavy_modules() -> None:
    for args in (["--help"], ["report", "--help"], ["documents", "export", "--help"]):
        script = (
            "import contextlib, io, cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            f"    cli.app({args!r}, prog_name='seatledger')"
        )
        assert loaded(script, HEAVY) == [], args


def test_the_ledger_loads_no_renderer_until_it_renders() -> None:
    """A service or a test that never makes a PDF or a chart does not import them."""
    assert loaded("import app, api, scheduler", RENDERERS) == []


def test_help_lists_every_command() -> None:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, TyperGroup)
    runner = CliRunner()
    for path, expected in COMMANDS.items():
        here = group.commands[path] if path else group
        assert isinstance(here, TyperGroup), path
        assert expected <= set(here.commands), path
        shown = runner.invoke(cli.app, [*path.split(), "--help"])
        assert shown.exit_code == 0, shown.output
        for name in here.commands:
            assert name in shown.output, (path, name)
            sub = runner.invoke(cli.app, [*path.split(), name, "--help"])
            assert sub.exit_code == 0, (path, name, sub.output)


def test_the_defaults_repeated_in_the_cli_are_the_ones_they_repeat() -> None:
    from projections.finance import FOLLOW_PAGE_SIZE
    from simulation import DEFAULT_START

    assert DEFAULT_START.replace(tzinfo=None) == cli.FIRST_DAY
    assert FOLLOW_PAGE_SIZE == cli.FOLLOW_PAGE_SIZE
