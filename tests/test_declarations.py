"""An event or a method is declared in one place: no module outside the catalogue names an
event, and a method in the registry gets its `rule add` options from its FieldSpecs alone."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from helpers.cli import Cli
from helpers.configs import rule_add

import quaynotify
from quaynotify.catalogue.events import EVENTS
from quaynotify.cli.app import app
from quaynotify.errors import ValidationError
from quaynotify.methods import METHODS
from quaynotify.methods.base import (
    MASK,
    FieldSpec,
    Method,
    Notification,
    Preview,
    RuleContext,
    SendContext,
    Sent,
)

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


# -- a method brings its own `rule add` options ---------------------------------------------------


class Pager(Method):
    """A method that exists only in this test's registry."""

    name = "pager"
    title = "Pager"
    fields = (
        FieldSpec("pager_key", "the pager's key", secret=True, option_help="the pager's key.",
                  metavar="KEY", complete=lambda incomplete: [("k-1", "the first key")]),
        FieldSpec("url", "where the pager listens", option_help="where the pager listens."),
    )  # fmt: skip

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        if "pager_key" not in config:
            raise ValidationError("Missing pager key")

    def preview(self, notification: Notification) -> Preview:
        return Preview(self.name, str(self.config["url"]), {}, None)

    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        return Sent(None, "paged")


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(METHODS, Pager.name, Pager)


def test_a_method_in_the_registry_gets_its_options_in_rule_add_help(cli: Cli, pager: None) -> None:
    result = cli("rule", "add", "--help")
    assert result.code == 0, result.err
    help_text = " ".join(result.out.split())
    assert "--pager-key KEY pager: the pager's key." in help_text
    # --url is the webhook's and slack's too: it appears once, naming every method taking it
    assert help_text.count("--url URL ") == 1
    url_help = help_text.split("--url URL ", 1)[1].split(" --template ", 1)[0]
    assert url_help.startswith("webhook: URL to POST to. slack:")
    assert url_help.endswith(" pager: where the pager listens.")


def test_without_it_in_the_registry_there_is_no_such_option(cli: Cli) -> None:
    result = cli("rule", "add", "--help")
    assert "--pager-key" not in result.out and "pager:" not in result.out


def test_a_method_in_the_registry_is_validated_masked_and_completed_from_its_fields(
    cli: Cli, pager: None, config_file: Path
) -> None:
    add = rule_add("pager")
    refused = cli(*add, "--url", "http://127.0.0.1:9/")
    assert (refused.code, refused.err.strip()) == (2, "quaynotify: error: Missing pager key")
    wrong = cli(*add, "--pager-key", "s3cret", "--email", "a@example.com")
    assert "--email does not apply to --method pager (it takes --pager-key, --url)" in wrong.err
    added = cli(*add, "--pager-key", "s3cret", "--url", "http://127.0.0.1:9/")
    assert added.code == 0, added.err
    shown = json.loads(cli("rule", "show", added.out.strip(), "--json").out)
    assert shown["config"] == {"pager_key": MASK, "url": "http://127.0.0.1:9/"}
    assert 'pager_key = "s3cret"' in config_file.read_text()

    root = typer.main.get_command(app)
    group = root.get_command(typer.Context(root), "rule")
    command = group.get_command(typer.Context(group), "add")
    ctx = typer.Context(command, info_name="add")
    (option,) = [p for p in command.get_params(ctx) if p.name == "pager_key"]
    assert [c.value for c in option.shell_complete(ctx, "k")] == ["k-1"]
