"""Command-line conventions: colour only when wanted (NO_COLOR, CLICOLOR, CLICOLOR_FORCE) on a
real terminal, results alone on stdout, --quiet, an example in every --help, and tables on a
terminal versus tab-separated lines in a pipe."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from pytest_httpserver import HTTPServer
from terminal import QUAYNOTIFY, Tmux, on_a_terminal, terminal_env

from quaynotify.cli.app import app
from quaynotify.methods import METHODS

Cli = Callable[..., Any]  # the `cli` fixture of conftest.py

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ESCAPE = "\x1b["
CONFIG = "[delivery]\nbackoff = 0\nmax_attempts = 1\n"
ADD_HOOK = ("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook")
PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')


# -- colour -------------------------------------------------------------------------------------


def test_a_terminal_gets_a_styled_table_by_default() -> None:
    screen = on_a_terminal(["methods"])
    assert "METHOD" in screen and "webhook" in screen
    assert ESCAPE in screen


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"NO_COLOR": "1"}, id="NO_COLOR=1"),
        pytest.param({"CLICOLOR": "0"}, id="CLICOLOR=0"),
        pytest.param(
            {"NO_COLOR": "1", "CLICOLOR_FORCE": "1"},
            id="NO_COLOR wins over CLICOLOR_FORCE",
        ),
        pytest.param({"TERM": "dumb"}, id="TERM=dumb"),
    ],
)
def test_colour_off_means_no_escape_codes_on_a_terminal(env: dict[str, str]) -> None:
    screen = on_a_terminal(["methods"], **env)
    assert "METHOD" in screen and "webhook" in screen  # still a table, with its header
    assert ESCAPE not in screen


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"NO_COLOR": ""}, id="empty NO_COLOR"),
        pytest.param({"CLICOLOR": "1"}, id="CLICOLOR=1"),
        pytest.param({"TERM": "dumb", "CLICOLOR_FORCE": "1"}, id="forced"),
    ],
)
def test_colour_wanted_means_escape_codes_on_a_terminal(env: dict[str, str]) -> None:
    assert ESCAPE in on_a_terminal(["methods"], **env)


@pytest.mark.parametrize("env", [{}, {"CLICOLOR_FORCE": "1"}], ids=["plain", "CLICOLOR_FORCE"])
def test_a_pipe_gets_tab_separated_lines_without_a_header_or_escapes(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [QUAYNOTIFY, "methods"],
        env=terminal_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert [row[0] for row in rows] == list(METHODS)  # no header row
    assert {len(row) for row in rows} == {3}
    assert ESCAPE not in proc.stdout


# -- a table on a terminal, as a person sees it -------------------------------------------------


def test_a_terminal_shows_an_aligned_table_with_a_header_row(tmux: Tmux) -> None:
    screen = tmux.screen(["methods"])
    header = screen[0].split()
    assert header == ["METHOD", "TITLE", "CONFIG"]
    assert [line.split()[0] for line in screen[1:]] == list(METHODS)
    # aligned: every row's title starts in the TITLE column
    column = screen[0].index("TITLE")
    assert all(line[column - 1] == " " and line[column] != " " for line in screen[1:])
    assert not any("\t" in line for line in screen)


# -- stdout is for results ----------------------------------------------------------------------


@pytest.fixture
def hook(cli: Cli, config_file: Path, httpserver: HTTPServer) -> str:
    """A config with one webhook rule whose receiver says OK; the rule's id."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    added = cli(*ADD_HOOK, "--url", httpserver.url_for("/hook"))
    assert added.code == 0, added.err
    return str(added.out.strip())


def test_rule_add_prints_only_the_id_on_stdout_and_the_note_on_stderr(
    cli: Cli, config_file: Path
) -> None:
    result = cli(*ADD_HOOK, "--url", "https://hooks.example.com/x")
    assert result.code == 0
    assert UUID.fullmatch(result.out.rstrip("\n")) and result.out.count("\n") == 1
    rule_id = result.out.strip()
    assert result.err == f"quaynotify: added rule {rule_id}: repo_push on acme/web via webhook\n"


@pytest.mark.parametrize(
    "args",
    [("rule", "disable", "{id}"), ("rule", "enable", "{id}"), ("rule", "reset", "{id}"),
     ("config", "check"), ("rule", "remove", "{id}")],
    ids=" ".join,
)  # fmt: skip
def test_commands_that_only_change_things_print_nothing_on_stdout(
    cli: Cli, hook: str, args: tuple[str, ...]
) -> None:
    result = cli(*(a.format(id=hook) for a in args))
    assert (result.code, result.out) == (0, "")
    assert result.err.startswith("quaynotify: ") and result.err.count("\n") == 1


def test_a_result_on_stdout_is_never_mixed_with_notes(cli: Cli, hook: str) -> None:
    emitted = cli(*PUSH)
    assert emitted.code == 0, emitted.err
    (row,) = [line.split("\t") for line in emitted.out.splitlines()]
    assert row[1:4] == [hook, "webhook", "succeeded"]
    nothing = cli("emit", "repo_push", "--repo", "acme/other", "--set", 'updated_tags=["v1"]')
    assert (nothing.code, nothing.out) == (0, "")
    assert nothing.err == "quaynotify: no rule matches repo_push on acme/other: nothing sent\n"
    as_json = cli("rule", "show", hook, "--json")
    assert json.loads(as_json.out)["uuid"] == hook and as_json.err == ""


# -- --json shapes of what emit, rule test and replay did -------------------------------------

DELIVERY_KEYS = ["id", "event", "repository", "rule_id", "method", "status", "error",
                 "performer", "created", "updated", "attempt_count", "attempts"]  # fmt: skip


def test_emit_rule_test_and_replay_report_deliveries_in_one_shape(cli: Cli, hook: str) -> None:
    emitted = json.loads(cli(*PUSH, "--json").out)
    assert list(emitted) == ["event", "repository", "deliveries"]
    assert (emitted["event"], emitted["repository"]) == ("repo_push", "acme/web")
    tested = json.loads(cli("rule", "test", hook, "--json").out)
    assert list(tested) == ["event", "repository", "deliveries"]
    assert (tested["event"], tested["repository"]) == ("repo_push", "acme/web")
    # A replay is of journaled deliveries, of any events and repositories: each delivery names
    # its own, and the document claims none.
    ids = [emitted["deliveries"][0]["id"], tested["deliveries"][0]["id"]]
    replayed = json.loads(cli("replay", *ids, "--json").out)
    assert list(replayed) == ["deliveries"]
    assert [(d["id"], d["event"], d["repository"]) for d in replayed["deliveries"]] == [
        (i, "repo_push", "acme/web") for i in ids
    ]
    nothing = cli("replay", "--failed", "--json")
    assert (nothing.code, json.loads(nothing.out)) == (0, {"deliveries": []})
    for document in (emitted, tested, replayed):
        assert [list(d) for d in document["deliveries"]] == [DELIVERY_KEYS] * len(
            document["deliveries"]
        )


# -- --quiet ------------------------------------------------------------------------------------

QUIET_SUCCESSES = [
    ("rule", "disable", "{id}"),
    ("rule", "enable", "{id}"),
    ("rule", "reset", "{id}"),
    ("rule", "list"),
    ("config", "check"),
    PUSH,
    ("emit", "repo_push", "--repo", "acme/other", "--set", 'updated_tags=["v1"]'),
    ("replay", "--failed"),
    ("inbox", "--user", "alice"),
    ("log",),
    ("events",),
    ("rule", "remove", "{id}"),
]


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_prints_nothing_on_stderr_when_all_goes_well(cli: Cli, hook: str, flag: str) -> None:
    for args in QUIET_SUCCESSES:
        result = cli(flag, *(a.format(id=hook) for a in args))
        assert (result.code, result.err) == (0, ""), args
    added = cli(flag, *ADD_HOOK, "--url", "https://hooks.example.com/y")
    assert (added.code, added.err) == (0, "")
    assert UUID.fullmatch(added.out.strip())  # results still go to stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("rule", "show", "nope"), 2),
        (("emit", "no_such_event", "--repo", "acme/web"), 2),
        (("emit", "build_failure", "--repo", "acme/web"), 2),  # a required field is missing
        (("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "carrier"), 2),
        (("rule", "frobnicate"), 2),
        (("--config", "{broken}", "rule", "list"), 3),
    ],
)
def test_quiet_still_prints_errors(
    cli: Cli, hook: str, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rule]\n")
    result = cli("--quiet", *(a.format(broken=broken) for a in args))
    assert result.code == code
    assert result.out == ""
    assert result.err.startswith("quaynotify: error: ") and result.err.count("\n") == 1


# -- every --help has an example ----------------------------------------------------------------


def _command_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)

    def walk(command: Any, ctx: typer.Context, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    yield from walk(
                        sub, typer.Context(sub, info_name=name, parent=ctx), (*path, name)
                    )

    return list(walk(root, typer.Context(root, info_name="quaynotify"), ()))


def test_the_tree_is_walked() -> None:
    paths = _command_paths()
    assert {(), ("emit",), ("rule",), ("rule", "add"), ("log", "show"), ("config", "path")} <= set(
        paths
    )


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "quaynotify")
def test_every_help_shows_an_example(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert (result.code, result.err) == (0, "")
    assert "Example:" in result.out, f"`quaynotify {' '.join(path)} --help` has no example"


# -- progress -----------------------------------------------------------------------------------


def _events_file(tmp_path: Path, count: int) -> Path:
    import json

    path = tmp_path / f"events-{count}.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "event": "repo_push",
                    "repository": "acme/web",
                    "data": {"updated_tags": [f"v{i}"]},
                }
            )
            + "\n"
            for i in range(count)
        )
    )
    return path


def test_a_stream_shows_a_progress_bar_on_a_terminal_for_more_than_a_handful(
    cli: Cli, config_file: Path, httpserver: Any, tmp_path: Path
) -> None:
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert cli(*ADD_HOOK, "--url", httpserver.url_for("/hook")).code == 0
    screen = on_a_terminal(["emit", "--from", str(_events_file(tmp_path, 12))])
    assert "emitting" in screen and "/12" in screen
    assert len(httpserver.log) == 12

    few = on_a_terminal(["emit", "--from", str(_events_file(tmp_path, 3))])
    assert "emitting" not in few, "a handful finishes before a bar is worth drawing"

    piped = cli("emit", "--from", str(_events_file(tmp_path, 12)))
    assert piped.code == 0, piped.err
    assert "emitting" not in piped.err and ESCAPE not in piped.err
