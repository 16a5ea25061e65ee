"""The unit tier stays the domain alone: no module here imports the store, the ledger, the
API, the projections or the adapters, whether at the top of a file or inside a function."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# what a unit test may import besides the standard library: the domain, this tier's own
# helpers, and the test tools
ALLOWED = {"domain", "pytest", "hypothesis", "__future__"}
OWN = "tests.unit"
# The event library's topic functions (a class's name and back, nothing of its store): the
# domain's shape is checked to keep the topics its events are stored under.
LIBRARY = {"eventsourcing.utils"}


def imported(source: str) -> set[str]:
    """Every module a file imports, wherever the import stands; relative imports are the
    tier's own and given as `tests.unit`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(OWN if node.level else node.module or "")
    return found


def outside_the_tier(module: str) -> bool:
    top = module.split(".")[0]
    if module == OWN or module.startswith(OWN + ".") or module in LIBRARY:
        return False
    return top not in ALLOWED and top not in sys.stdlib_module_names


def test_no_unit_test_imports_anything_but_the_domain() -> None:
    files = sorted(HERE.glob("*.py"))
    assert HERE / "test_tier.py" in files and len(files) > 10
    found = {
        (path.name, module)
        for path in files
        for module in imported(path.read_text(encoding="utf-8"))
        if outside_the_tier(module)
    }
    assert found == set()


def test_the_check_sees_imports_outside_the_domain_wherever_they_stand() -> None:
    source = (
        "from domain.money import Money\n"
        "import app\n"
        "def f():\n"
        "    from ledger.store import Store\n"
        "    import adapters.clock\n"
        "from tests.helpers import opening\n"
        "from tests.unit.support import t\n"
        "from . import support\n"
        "import datetime, projections\n"
        "from eventsourcing.utils import get_topic\n"
        "from eventsourcing.persistence import Recorder\n"
    )
    assert {m for m in imported(source) if outside_the_tier(m)} == {
        "app",
        "ledger.store",
        "adapters.clock",
        "tests.helpers",
        "projections",
        "eventsourcing.persistence",
    }
