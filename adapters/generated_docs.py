"""Documents generated from the code, for auditors, and checked in CI to be up to date:

- the event catalog (`docs/EVENTS.md`): every event type of every aggregate, its version,
  its fields and which of them are personal data (sealed, GDPR-4);
- the traceability matrix (`docs/TRACEABILITY.md`): every rule ID of TERMS.md, the code in
  `domain/` that names it, and the tests and acceptance stories that name it.

A rule is traced to a place in the code or a test when that place names its ID (in its
name, docstring or comments), as TERMS.md asks. A rule with no code or no test is a gap.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

import domain
from domain.model import Aggregate, Event
from domain.personal import Personal

RULE_LINE = re.compile(r"^- \*\*(?P<id>[A-Z]+-[0-9]+)\*\* (?P<text>.*)$")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # the spec and the public stories, beside the repository
TERMS = SHARED / "spec" / "TERMS.md"
STORIES = [ROOT / "tests" / "scenarios", SHARED / "scenarios"]
EVENTS_DOC = ROOT / "docs" / "EVENTS.md"
TRACEABILITY_DOC = ROOT / "docs" / "TRACEABILITY.md"
TITLE_CHARS = 90  # how much of a rule's text the matrix quotes
# The matrix's own tests name rules as examples of tracing, not as tests of the rules.
NOT_RULE_TESTS = {"test_documents.py"}


# ---------------------------------------------------------------- the event catalog


def aggregates() -> list[type[Aggregate]]:
    """Every aggregate of the domain, by module and name."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found: list[type[Aggregate]] = []
    pending = list(Aggregate.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return sorted(found, key=lambda k: (k.__module__, k.__qualname__))


def _type_name(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return re.sub(r"\b(?:[a-z_]+\.)+", "", text).replace("NoneType", "None")


def _events_of(kind: type[Aggregate]) -> list[type[Event]]:
    """The aggregate's events that are recorded, not the bases they share."""
    events = [
        value
        for value in vars(kind).values()
        if isinstance(value, type) and issubclass(value, Event) and value.aggregate_type is kind
    ]
    bases = {base for event in events for base in event.__mro__[1:]}
    return sorted((e for e in events if e not in bases), key=lambda e: e.__qualname__)


def event_catalog() -> str:
    lines = [
        "# Event catalog",
        "",
        "Generated from the code by `seatledger audit docs`; CI checks it is up to date.",
        "Every event also carries `originator_id`, `originator_version`, `effective_at`",
        "(business time), `recorded_at` (set by the store) and `actor`; the store adds",
        "`prev_hash`, the digest of the aggregate's previous event (domain.integrity).",
        "Personal fields are stored sealed under their holder's key (GDPR-4).",
        "",
    ]
    common = set(Event.model_fields)
    for kind in aggregates():
        events = _events_of(kind)
        if not events:
            continue
        lines += [f"## {kind.__qualname__} (`{kind.__module__}`)", ""]
        for event in events:
            lines += [f"### {event.__qualname__} — version {event.class_version}", ""]
            own = vars(event).get("__doc__")
            if own:
                lines += [inspect.cleandoc(own), ""]
            for version in range(1, event.class_version):
                upcast = getattr(event, f"upcast_v{version}_v{version + 1}")
                note = inspect.cleandoc(upcast.__doc__ or "")
                lines += [f"Stored as v{version}: read as v{version + 1}. {note}".rstrip(), ""]
            fields = [(n, f) for n, f in event.model_fields.items() if n not in common]
            if not fields:
                lines += ["No fields of its own.", ""]
                continue
            lines += ["| field | type | personal |", "|---|---|---|"]
            for name, info in fields:
                personal = [m for m in info.metadata if isinstance(m, Personal)]
                scope = personal[0].scope.value if personal else ""
                annotation = info.annotation
                if personal and get_args(annotation):
                    annotation = get_args(annotation)[0]
                type_name = _type_name(annotation).replace("|", "\\|")
                lines.append(f"| `{name}` | `{type_name}` | {scope} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- traceability


@dataclass(frozen=True)
class Rule:
    id: str
    title: str


@dataclass
class Trace:
    rule: Rule
    code: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)


def rules(terms: Path) -> list[Rule]:
    """The rules of TERMS.md, in its order."""
    found = []
    for line in terms.read_text().splitlines():
        match = RULE_LINE.match(line)
        if match:
            text = match["text"]
            title = text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"
            found.append(Rule(match["id"], title))
    return found


MENTION = re.compile(r"(?<![A-Za-z0-9-])([A-Z]+-[0-9]+)(?![0-9])")
TEST_NAME = re.compile(r"\btest_((?:[a-z]+_[0-9]+_)+)")  # test_bill_4_... or test_ltd_1_ltd_3_...


def _named(line: str) -> set[str]:
    """The rule IDs a line names: as written, or in a test's name."""
    found = set(MENTION.findall(line))
    for names in TEST_NAME.findall(line):
        parts = names.strip("_").split("_")
        found |= {f"{word.upper()}-{n}" for word, n in zip(parts[::2], parts[1::2], strict=True)}
    return found


def _scopes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """Every class and function with its line span and qualified name."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                spans.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")

    visit(tree, "")
    return spans


def _places(path: Path, root: Path, *, tests_only: bool) -> dict[str, list[str]]:
    """Where a file names each rule: the innermost class or function around each mention
    (the module itself for a mention outside them). For tests, only test functions."""
    source = path.read_text()
    spans = _scopes(ast.parse(source))
    relative = path.relative_to(root).as_posix()
    found: dict[str, dict[str, None]] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        named = _named(line)
        if not named:
            continue
        around = [s for s in spans if s[0] <= number <= s[1]]
        name = min(around, key=lambda s: s[1] - s[0])[2] if around else ""
        if tests_only:
            tests = [s[2] for s in around if s[2].split(".")[-1].startswith("test_")]
            if not tests:
                continue
            name = tests[0]
        for rule_id in named:
            found.setdefault(rule_id, {})[f"{relative}::{name}" if name else relative] = None
    return {rule_id: list(places) for rule_id, places in found.items()}


def _stories(directories: list[Path], root: Path) -> dict[str, list[str]]:
    """Acceptance stories by the rules they list (`rules:` in SCENARIOS.md's format)."""
    by_rule: dict[str, list[str]] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.yaml")):
            story = yaml.safe_load(path.read_text()) or {}
            base = root if root in path.parents else root.parent
            name = path.relative_to(base).as_posix()
            for rule_id in story.get("rules", []):
                by_rule.setdefault(str(rule_id), []).append(name)
    return by_rule


def traces(root: Path, terms: Path, stories: list[Path]) -> list[Trace]:
    """Each rule of TERMS.md with the code and the tests that name it."""
    code = [_places(p, root, tests_only=False) for p in sorted((root / "domain").rglob("*.py"))]
    tests = [
        _places(p, root, tests_only=True)
        for p in sorted((root / "tests").rglob("test_*.py"))
        if p.name not in NOT_RULE_TESTS
    ]
    by_story = _stories(stories, root)
    return [
        Trace(
            rule,
            code=[place for places in code for place in places.get(rule.id, [])],
            tests=[place for places in tests for place in places.get(rule.id, [])],
            stories=by_story.get(rule.id, []),
        )
        for rule in rules(terms)
    ]


def gaps(found: list[Trace]) -> list[str]:
    """Rules with no code, or with neither a test nor an acceptance story."""
    missing = []
    for trace in found:
        if not trace.code:
            missing.append(f"{trace.rule.id}: no code in domain/ names it")
        if not trace.tests and not trace.stories:
            missing.append(f"{trace.rule.id}: no test names it")
    return missing


def traceability_matrix(found: list[Trace]) -> str:
    lines = [
        "# Traceability matrix",
        "",
        "Generated from TERMS.md, `domain/` and `tests/` by `seatledger audit docs`; CI checks",
        "it is up to date and fails on a rule with no code or no test.",
        "",
        "| rule | code | tests | stories |",
        "|---|---|---|---|",
    ]
    for trace in found:
        rule = f"**{trace.rule.id}** {trace.rule.title}".replace("|", "\\|")
        cells = [
            "<br>".join(f"`{place}`" for place in places) or "**missing**"
            for places in (trace.code, trace.tests)
        ]
        stories = "<br>".join(trace.stories) or "—"
        lines.append(f"| {rule} | {cells[0]} | {cells[1]} | {stories} |")
    missing = gaps(found)
    lines += ["", f"Rules: {len(found)}. Gaps: {len(missing)}."]
    lines += [f"- {gap}" for gap in missing]
    return "\n".join(lines) + "\n"


def generated() -> dict[Path, str]:
    """Each generated document and what it must contain now."""
    return {
        EVENTS_DOC: event_catalog(),
        TRACEABILITY_DOC: traceability_matrix(traces(ROOT, TERMS, STORIES)),
    }
