"""Output conventions and the exit-code contract: tables on a terminal (colour only when wanted:
NO_COLOR, CLICOLOR, CLICOLOR_FORCE), tab-separated lines when piped, results alone on stdout,
--quiet, --json before or after the command, one-line errors, --debug, an example in every
--help, and progress on a terminal."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import CONSOLE, ERROR, UUID, Cli, command_paths, one_error
from helpers.configs import add_webhook, rule_add
from helpers.terminal import Tmux, on_a_terminal, run_in_terminal, terminal_env
from pytest_httpserver import HTTPServer

from quaynotify.methods import METHODS

CONFIG = '[server]\nhostname = "quay.example.com"\n\n[delivery]\nbackoff = 0\nmax_attempts = 1\n'
PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
LONG_TITLE = "A very long title " + "x" * 300
ESCAPE = "\x1b["


@pytest.fixture
def receiver(config_file: Path, httpserver: HTTPServer) -> HTTPServer:
    """The config, and a receiver that says OK at /hook."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook").respond_with_data("ok")
    return httpserver


@pytest.fixture
def hook(cli: Cli, receiver: HTTPServer) -> str:
    """One webhook rule to the receiver; the rule's id."""
    return add_webhook(cli, receiver.url_for("/hook"))


@pytest.fixture
def world(cli: Cli, receiver: HTTPServer) -> dict[str, str]:
    """One webhook rule with a long title, and one delivery in the journal."""
    rule = add_webhook(cli, receiver.url_for("/hook"), "--title", LONG_TITLE)
    emitted = cli(*PUSH, "--json")
    assert emitted.code == 0, emitted.err
    (delivery,) = json.loads(emitted.out)["deliveries"]
    return {"rule": rule, "delivery": delivery["id"]}


# -- tables and TSV -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "columns"),
    [
        (("rule", "list"), 6),
        (("log",), 8),
        (("events",), 4),
        (("methods",), None),
    ],
)
def test_piped_output_is_tab_separated_without_a_header(
    cli: Cli, world: dict[str, str], args: tuple[str, ...], columns: int | None
) -> None:
    result = cli(*args)
    assert result.code == 0, result.err
    assert result.lines, "expected some rows"
    widths = {line.count("\t") + 1 for line in result.lines}
    assert len(widths) == 1 and widths.pop() > 1, result.out
    if columns is not None:
        assert result.lines[0].count("\t") + 1 == columns
    for line in result.lines:
        assert not re.match(r"(ID|DELIVERY|EVENT|METHOD|NAME)\t", line), "a header when piped"
        assert "  " not in line.replace(LONG_TITLE, ""), "padded like a table"


def test_piped_output_is_never_truncated(cli: Cli, world: dict[str, str]) -> None:
    (line,) = cli("rule", "list").lines
    assert line.split("\t") == [world["rule"], "acme/web", "repo_push", "webhook", "enabled",
                                LONG_TITLE]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (("rule", "list"), ["ID", "REPOSITORY", "EVENT", "METHOD", "STATUS", "TITLE"]),
        (("log",), ["DELIVERY", "WHEN", "EVENT", "REPOSITORY", "METHOD", "STATUS", "ATTEMPTS"]),
    ],
)
def test_a_terminal_gets_a_table(
    world: dict[str, str], args: tuple[str, ...], header: list[str]
) -> None:
    text = run_in_terminal(*args)
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].split()[: len(header)] == header
    assert "\t" not in text
    assert world["rule"] in text or world["delivery"] in text
    assert len(lines) >= 2


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
        [CONSOLE, "methods"],
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


def test_rule_add_prints_only_the_id_on_stdout_and_the_note_on_stderr(
    cli: Cli, config_file: Path
) -> None:
    result = cli(*rule_add("webhook", "--url", "https://hooks.example.com/x"))
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
    assert list(emitted) == ["event", "repository", "deliveries", "filtered"]
    assert (emitted["event"], emitted["repository"]) == ("repo_push", "acme/web")
    tested = json.loads(cli("rule", "test", hook, "--json").out)
    assert list(tested) == ["event", "repository", "deliveries", "filtered"]
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
    ("emit", "repo_push", "--repo", "acme/none", "--set", "updated_tags=[]"),
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
    added = cli(flag, *rule_add("webhook", "--url", "https://hooks.example.com/y"))
    assert (added.code, added.err) == (0, "")
    assert UUID.fullmatch(added.out.strip())  # results still go to stdout


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        (("rule", "show", "nope"), 2, "nope"),
        (("emit", "no_such_event", "--repo", "acme/web"), 2, "no_such_event"),
        (("emit", "build_failure", "--repo", "acme/web"), 2, "build_id"),  # a required field
        (rule_add("carrier"), 2, "carrier"),
        (rule_add("webhook"), 2, "Missing webhook URL"),
        (("rule", "frobnicate"), 2, "frobnicate"),
        (("--config", "{broken}", "rule", "list"), 3, "{broken}"),
    ],
)
def test_quiet_still_prints_errors(
    cli: Cli, hook: str, tmp_path: Path, args: tuple[str, ...], code: int, names: str
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rule]\n")
    assert names.format(broken=broken) in one_error(
        cli("--quiet", *(a.format(broken=broken) for a in args)), code
    )


# -- --json, before or after the command ---------------------------------------------------------

VOLATILE = {"created", "updated", "started", "duration", "date", "webhook-id"}


def normalised(document: Any) -> Any:
    """The document with ids and times replaced, so two runs can be compared."""
    if isinstance(document, dict):
        return {k: "<t>" if k in VOLATILE else normalised(v) for k, v in document.items()}
    if isinstance(document, list):
        return [normalised(v) for v in document]
    if isinstance(document, str):
        return UUID.sub("<uuid>", document)
    return document


JSON_COMMANDS: list[tuple[str, ...]] = [
    ("rule", "list"),
    ("rule", "show", "{rule}"),
    ("rule", "add", "--repo", "acme/web", "--event", "build_start", "--method", "webhook",
     "--url", "http://127.0.0.1:9/x"),
    ("rule", "test", "{rule}"),
    ("log",),
    ("log", "--failed"),
    ("log", "show", "{delivery}"),
    PUSH,
    (*PUSH, "--dry-run"),
    ("emit", "repo_push", "--repo", "acme/none", "--set", 'updated_tags=["v1"]'),
    ("events",),
    ("events", "build_failure"),
    ("methods",),
    ("methods", "webhook"),
]  # fmt: skip


@pytest.mark.parametrize("command", JSON_COMMANDS, ids=" ".join)
def test_json_before_or_after_the_command_is_one_document(
    cli: Cli, world: dict[str, str], command: tuple[str, ...]
) -> None:
    args = [part.format(**world) for part in command]
    documents = []
    for argv in (["--json", *args], [*args, "--json"]):
        result = cli(*argv)
        assert result.code == 0, (argv, result.err)
        documents.append(json.loads(result.out))  # one document, nothing else on stdout
        assert ERROR not in result.err
    assert normalised(documents[0]) == normalised(documents[1])


def test_every_json_record_names_its_own_id_id(cli: Cli, world: dict[str, str]) -> None:
    """One shape per record kind (DESIGN.md section 8): a record's own id is `id`, whatever
    else it carries (a rule keeps Quay's `uuid` beside it, the same id), and references to
    other records are `rule_id` and the like."""
    bell = cli(*rule_add("quay_notification", "--target", "user:alice"), "--json")
    assert bell.code == 0, bell.err
    assert cli(*PUSH).code == 0
    (record,) = json.loads(cli("inbox", "--user", "alice", "--json").out)
    records = {
        "rule add": json.loads(bell.out),
        "rule show": json.loads(cli("rule", "show", world["rule"], "--json").out),
        "rule list": json.loads(cli("rule", "list", "--json").out)[0],
        "log": json.loads(cli("log", "--json").out)[0],
        "log show": json.loads(cli("log", "show", world["delivery"], "--json").out),
        "emit": json.loads(cli(*PUSH, "--json").out)["deliveries"][0],
        "inbox": record,
        "inbox show": json.loads(cli("inbox", "show", record["id"], "--json").out),
    }  # fmt: skip
    for command, view in records.items():
        assert next(iter(view)) == "id" and UUID.fullmatch(view["id"]), (command, view)
        assert "uuid" not in view or view["uuid"] == view["id"], command
    for command in ("rule list", "rule show"):
        assert records[command]["id"] == world["rule"]
    assert records["log show"]["id"] == world["delivery"]
    assert records["log show"]["rule_id"] == world["rule"]


# -- errors and exit codes ----------------------------------------------------------------------

BAD_CONFIGS = [
    ("[server\nhostname = 'x'\n", "not valid TOML"),
    ("[[rule]]\nid = \n", "not valid TOML"),
    ("[server]\nhostname = 'x'\n[server]\n", "not valid TOML"),
    (b"# caf\xe9\n", "not UTF-8"),
    ("[smpt]\nhost = 'x'\n", "'smpt'"),
    ("[delivery]\nmax_attempts = 'three'\n", "max_attempts"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
@pytest.mark.parametrize(
    "args",
    [("rule", "list"), PUSH, ("rule", "show", "abc"), ("log", "--rule", "abc")],
    ids=" ".join,
)
def test_an_unusable_config_is_exit_3(
    cli: Cli, config_file: Path, text: str | bytes, message: str, args: tuple[str, ...]
) -> None:
    if isinstance(text, bytes):
        config_file.write_bytes(text)
    else:
        config_file.write_text(text)
    error = one_error(cli(*args), 3)
    assert str(config_file) in error and message in error


def test_a_config_that_is_a_directory_is_exit_3(cli: Cli, config_file: Path) -> None:
    config_file.unlink()
    config_file.mkdir()
    assert "directory" in one_error(cli("rule", "list"), 3)


def test_an_unusable_state_dir_is_exit_3(cli: Cli, world: dict[str, str], tmp_path: Path) -> None:
    # SQLite only, on purpose: a state dir that is a file, and a state.db that is not a database
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert str(blocker) in one_error(cli("--state-dir", str(blocker), *PUSH), 3)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "state.db").write_bytes(b"this is not a database, just some bytes" * 100)
    assert "state database" in one_error(cli("--state-dir", str(garbage), "log"), 3)


USAGE_ERRORS = [
    # (args, what the message names)
    (("emit", "repo_pushed", "--repo", "acme/web"), "unknown event 'repo_pushed'"),
    (("emit", "repo_push", "--repo", "acme"), "'acme'"),
    (("emit", "repo_push", "--repo", "acme/web"), "'updated_tags'"),
    (("emit", "build_start", "--repo", "acme/web", "--data", '{"build_id": 7}'), "'build_id'"),
    (("emit", "repo_push", "--repo", "acme/web", "--data", "{"), "--data"),
    (("emit", "repo_push"), "--repo"),
    (("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook",
      "--url", "ftp://x/"), "Invalid webhook URL"),
    (("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook"),
     "Missing webhook URL"),
    (("rule", "add", "--repo", "acme/web", "--event", "build_start", "--method", "webhook",
      "--url", "http://127.0.0.1:9/", "--ref-regex", "(unclosed"), "ref-regex"),
    (("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook",
      "--url", "http://127.0.0.1:9/", "--template", '{"a": "${}"}'), "Empty expression found"),
    (("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook",
      "--url", "http://127.0.0.1:9/", "--template", "{"), "Could not parse template: "),
    (("rule", "show", "ffffffff"), "ffffffff"),
    (("log", "show", "ffffffff"), "ffffffff"),
    (("rule", "list", "--bogus"), "--bogus"),
    (("--bogus", "rule", "list"), "--bogus"),
    (("emit", "repo_push", "--repo", "acme/web", "--dry-runn"), "--dry-runn"),
    (("frobnicate",), "frobnicate"),
    (("rule", "frobnicate"), "frobnicate"),
    (("log", "--limit", "many"), "--limit"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "names"), USAGE_ERRORS, ids=lambda v: " ".join(v)[:60])
def test_usage_errors_are_exit_2_in_one_line(
    cli: Cli, config_file: Path, args: tuple[str, ...], names: str
) -> None:
    config_file.write_text(CONFIG)
    before = config_file.read_bytes()
    assert names in one_error(cli(*args), 2)
    assert config_file.read_bytes() == before


def test_a_multi_line_message_is_folded_into_one_line(cli: Cli, config_file: Path) -> None:
    config_file.write_text(CONFIG)
    data = '{"updated_tags":\n\n  ["v1",\n}'
    error = one_error(cli("emit", "repo_push", "--repo", "acme/web", "--data", data), 2)
    assert "--data is not valid JSON" in error


def test_exit_0_1_for_deliveries(cli: Cli, world: dict[str, str], httpserver: HTTPServer) -> None:
    assert cli(*PUSH).code == 0
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    assert cli(*PUSH).code == 1


@pytest.mark.parametrize("args", [(), ("rule",)], ids=["top", "rule"])
def test_no_arguments_shows_readable_help(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code in (0, 2)
    text = result.out + result.err
    assert "quaynotify: error: Usage" not in text
    lines = text.splitlines()
    assert any(line.startswith("Usage: quaynotify") for line in lines)
    assert any(line.strip().startswith("list") or line.strip().startswith("rule") for line in lines)


# -- internal errors and --debug ----------------------------------------------------------------

# Makes config.load fail the way a bug would, then runs the CLI as the console script does.
FAULTY = """\
import sys
import quaynotify.config.load

def load(path):
    raise RuntimeError("simulated bug")

quaynotify.config.load.load = load
from quaynotify.cli import main
main()
"""


def run_faulty(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FAULTY, *args], capture_output=True, text=True, timeout=60
    )


def test_an_internal_error_is_exit_4_in_one_line_with_a_hint() -> None:
    proc = run_faulty("rule", "list")
    assert proc.returncode == 4
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(ERROR)
    assert "RuntimeError: simulated bug" in proc.stderr and "--debug" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback_of_an_internal_error() -> None:
    proc = run_faulty("--debug", "rule", "list")
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "RuntimeError: simulated bug" in proc.stderr


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        ([sys.executable, "-c", FAULTY, "--debug", "rule", "list"], 4),
        ([CONSOLE, "--debug", "emit", "nope", "--repo", "acme/web"], 2),
    ],
    ids=["internal", "usage"],
)
def test_debug_keeps_the_documented_exit_code(argv: list[str], code: int) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.returncode == code


# -- odd values ---------------------------------------------------------------------------------


def test_tabs_and_newlines_in_values_keep_the_tsv_columns(cli: Cli, config_file: Path) -> None:
    config_file.write_text(CONFIG)
    title = ("--title", "one\ttwo\nthree")
    added = cli("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method",
                "webhook", "--url", "http://127.0.0.1:9/", *title)  # fmt: skip
    assert added.code == 0, added.err
    (line,) = cli("rule", "list").lines
    assert line.count("\t") == 5 and line.endswith("\tone\\ttwo\\nthree")  # shown, not lost


def test_dry_run_json_is_a_list_of_previews_even_when_nothing_matches(
    cli: Cli, world: dict[str, str]
) -> None:
    (preview,) = json.loads(cli(*PUSH, "--dry-run", "--json").out)
    assert list(preview) == ["method", "target", "headers", "body"]
    none = cli("emit", "repo_push", "--repo", "acme/none", "--set", "updated_tags=[]",
               "--dry-run", "--json")  # fmt: skip
    assert (none.code, json.loads(none.out)) == (0, [])


def test_emit_prints_one_tsv_row_per_delivery(cli: Cli, world: dict[str, str]) -> None:
    result = cli(*PUSH)
    assert result.code == 0, result.err
    (line,) = result.lines
    delivery, rule, method, status, attempts, detail = line.split("\t")
    assert UUID.fullmatch(delivery) and rule == world["rule"]
    assert (method, status, attempts, detail) == ("webhook", "succeeded", "1", "200 OK")


# -- every --help has an example ----------------------------------------------------------------


def test_the_tree_is_walked() -> None:
    paths = command_paths()
    assert {(), ("emit",), ("rule",), ("rule", "add"), ("log", "show"), ("config", "path")} <= set(
        paths
    )


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "quaynotify")
def test_every_help_shows_an_example(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert (result.code, result.err) == (0, "")
    assert "Example:" in result.out, f"`quaynotify {' '.join(path)} --help` has no example"


# -- progress -----------------------------------------------------------------------------------


def _events_file(tmp_path: Path, count: int) -> Path:
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
    cli: Cli, hook: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    screen = on_a_terminal(["emit", "--from", str(_events_file(tmp_path, 12))])
    assert "emitting" in screen and "/12" in screen
    assert len(httpserver.log) == 12

    few = on_a_terminal(["emit", "--from", str(_events_file(tmp_path, 3))])
    assert "emitting" not in few, "a handful finishes before a bar is worth drawing"

    piped = cli("emit", "--from", str(_events_file(tmp_path, 12)))
    assert piped.code == 0, piped.err
    assert "emitting" not in piped.err and ESCAPE not in piped.err
