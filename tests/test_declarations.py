"""An event or a method is declared in one place: no module outside the catalogue names an
event, and a method in the registry gets its `rule add` options from its FieldSpecs alone."""

from __future__ import annotations

import ast
from pathlib import Path

import quaynotify
from quaynotify.catalogue.events import EVENTS

PACKAGE = Path(quaynotify.__file__).parent


def event_names_in(source: str) -> list[str]:
    """String literals that are an event's name, or the start of a family of them ("build_",
    "repo_mirror_sync_"): what code branching on an event's name is written with."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        value = node.value
        family = value.endswith("_") and any(name.startswith(value) for name in EVENTS)
        if value in EVENTS or family:
            found.append(value)
    return found


def test_the_check_finds_an_event_name_in_code() -> None:
    source = 'if kind == "repo_push" or kind.startswith("build_"):\n    x = "x build_start"\n'
    assert event_names_in(source) == ["repo_push", "build_"]


def test_no_module_outside_the_catalogue_names_an_event() -> None:
    named = {
        str(path.relative_to(PACKAGE)): names
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name != "catalogue"
        and (names := event_names_in(path.read_text(encoding="utf-8")))
    }
    assert named == {}
