"""The README and the man page name every command, event and method; the README's two
set-up commands are the ones CI and newcomers run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from quaynotify.catalogue.events import EVENTS
from quaynotify.cli.app import app
from quaynotify.methods import METHODS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MANPAGE = (ROOT / "man" / "quaynotify.1").read_text()


def command_paths() -> list[str]:
    """Every command and subcommand, as typed: "emit", "rule add", "log show", ... Asked of
    each group as Click asks it (the root builds a command only when asked for it)."""
    paths = []

    def walk(command: Any, ctx: typer.Context, prefix: str) -> None:
        for name in getattr(command, "list_commands", lambda ctx: [])(ctx):
            sub = command.get_command(ctx, name)
            path = f"{prefix} {name}".strip()
            paths.append(path)
            walk(sub, typer.Context(sub, info_name=name, parent=ctx), path)

    root = typer.main.get_command(app)
    walk(root, typer.Context(root, info_name="quaynotify"), "")
    assert len(paths) > 20, paths
    return paths


def man_text(name: str) -> str:
    # roff writes a hyphen as \- and may set names in bold: compare on plain text
    return name.replace("-", r"\-")


@pytest.mark.parametrize("path", command_paths())
def test_readme_names_every_command(path: str) -> None:
    assert re.search(rf"(^|[\s`]){re.escape(path)}(\s|$|`)", README, re.M), path


@pytest.mark.parametrize("path", command_paths())
def test_man_page_names_every_command(path: str) -> None:
    assert man_text(path) in MANPAGE or path in MANPAGE, path


@pytest.mark.parametrize("name", [*EVENTS, *METHODS])
def test_readme_and_man_page_name_every_event_and_method(name: str) -> None:
    assert f"`{name}`" in README
    assert man_text(name) in MANPAGE or name in MANPAGE


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_readme_opens_with_the_install_and_the_test_command() -> None:
    install, test = code_blocks(README)[:2]
    assert "pip install" in install and "quaynotify emit" in install
    assert "quaynotify inbox" in install, "the main job ends by showing the notification"
    assert "pytest" in test and ".[test]" in test


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    test = code_blocks(README)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def test_ci_enforces_lint_format_and_types_as_the_readme_says() -> None:
    lint = next(
        line
        for block in code_blocks(README)
        for line in block.splitlines()
        if "ruff check" in line and "mypy" in line
    )
    ci = (ROOT / ".ci" / "run").read_text()
    assert lint.strip() in ci.splitlines()


def test_readme_states_the_exit_codes_the_cli_uses() -> None:
    from quaynotify.errors import ExitCode

    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", README, re.M), code
