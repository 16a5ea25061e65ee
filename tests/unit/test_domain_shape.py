"""The domain's floor: its modules import nothing above them and none imports itself back
(a module's own parts declare what they use of the account instead); and the account's
events, recorded under their topics, still resolve to those topics."""

from __future__ import annotations

import ast
from pathlib import Path

from eventsourcing.utils import get_topic, resolve_topic

from domain.account import Account
from domain.model import Event

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ABOVE = {"adapters", "api", "app", "bench", "cli", "ledger", "projections", "scenario"}
ABOVE |= {"scheduler", "settings", "simulation", "tests"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import stands (TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def domain_graph() -> dict[str, set[str]]:
    return {
        f"domain.{path.stem}": {m for m in imports_of(path) if m.startswith("domain.")}
        for path in sorted(DOMAIN.glob("*.py"))
        if path.stem != "__init__"
    }


def test_the_domain_imports_nothing_above_it() -> None:
    upward = {
        (f"domain/{path.name}", module)
        for path in sorted(DOMAIN.glob("*.py"))
        for module in imports_of(path)
        if module.split(".")[0] in ABOVE
    }
    assert upward == set()


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports that comes back to where it started, if there is one."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, set())):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return None


def test_the_domain_modules_import_each_other_without_a_cycle() -> None:
    graph = domain_graph()
    assert {"domain.account", "domain.billing", "domain.due_tasks"} <= graph.keys()
    assert "domain.billing" in graph["domain.account"]
    assert cycle_in(graph) is None


def test_an_import_back_even_for_the_type_checker_is_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from domain.b import x\n")
    (tmp_path / "b.py").write_text("if TYPE_CHECKING:\n    import domain.a\n")
    graph = {f"domain.{p.stem}": imports_of(p) for p in (tmp_path / "a.py", tmp_path / "b.py")}
    assert cycle_in(graph) == ["domain.a", "domain.b", "domain.a"]
    assert cycle_in({"domain.a": {"domain.b"}, "domain.b": set()}) is None


def test_the_accounts_events_keep_the_topics_they_are_stored_under() -> None:
    events = {
        name: value
        for name, value in vars(Account).items()
        if isinstance(value, type) and issubclass(value, Event)
    }
    assert len(events) >= 37
    for name, event in events.items():
        topic = f"domain.account:Account.{name}"
        assert get_topic(event) == topic
        assert resolve_topic(topic) is event
        assert event.aggregate_type is Account
