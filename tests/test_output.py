"""Output and exit codes (DESIGN section 8): tables on a terminal, TSV when piped, --json
before or after the command, one-line errors, the exit-code contract, --debug."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from terminal import QUAYNOTIFY, on_a_terminal

Cli = Callable[..., Any]  # the `cli` fixture of conftest.py

CONFIG = '[server]\nhostname = "quay.example.com"\n\n[delivery]\nbackoff = 0\nmax_attempts = 1\n'
PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LONG_TITLE = "A very long title " + "x" * 300
ERROR = "quaynotify: error: "


@pytest.fixture
def world(cli: Cli, config_file: Path, httpserver: HTTPServer) -> dict[str, str]:
    """A config with one webhook rule, and one delivery in the journal."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook").respond_with_data("ok")
    added = cli(
        "rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "webhook",
        "--url", httpserver.url_for("/hook"), "--title", LONG_TITLE,
    )  # fmt: skip
    assert added.code == 0, added.err
    emitted = cli(*PUSH, "--json")
    assert emitted.code == 0, emitted.err
    (delivery,) = json.loads(emitted.out)["deliveries"]
    return {"rule": added.out.strip(), "delivery": delivery["id"]}


def one_error(result: Any, code: int) -> str:
    """The error contract: the exit code, nothing on stdout, ONE line on stderr."""
    assert result.code == code, (result.code, result.err)
    assert result.out == ""
    assert result.err.startswith(ERROR), result.err
    assert result.err.endswith("\n") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    return str(result.err[len(ERROR) : -1])


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


def run_in_terminal(*args: str) -> str:
    """What the command showed on a wide terminal without colour, CSI sequences removed."""
    text = on_a_terminal(list(args), COLUMNS="400", LINES="50", NO_COLOR="1")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text.replace("\r\n", "\n"))


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
    config_file.mkdir()
    assert "directory" in one_error(cli("rule", "list"), 3)


def test_an_unusable_state_dir_is_exit_3(cli: Cli, world: dict[str, str], tmp_path: Path) -> None:
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


def test_quiet_keeps_results_and_errors_only(cli: Cli, config_file: Path) -> None:
    config_file.write_text(CONFIG)
    result = cli("--quiet", "rule", "add", "--repo", "acme/web", "--event", "repo_push",
                 "--method", "webhook", "--url", "http://127.0.0.1:9/")  # fmt: skip
    assert result.code == 0 and result.err == "" and UUID.fullmatch(result.out.strip())
    none = cli("--quiet", "emit", "repo_push", "--repo", "acme/none", "--set", "updated_tags=[]")
    assert (none.code, none.err) == (0, "")
    assert "Missing webhook URL" in one_error(
        cli("--quiet", "rule", "add", "--repo", "acme/web", "--event", "repo_push",
            "--method", "webhook"), 2)  # fmt: skip


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
        ([QUAYNOTIFY, "--debug", "emit", "nope", "--repo", "acme/web"], 2),
    ],
    ids=["internal", "usage"],
)
def test_debug_keeps_the_documented_exit_code(argv: list[str], code: int) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.returncode == code


# -- secrets and odd values ---------------------------------------------------------------------


def test_secrets_in_a_webhook_url_are_masked_everywhere(
    cli: Cli, config_file: Path, state_dir: Path, httpserver: HTTPServer
) -> None:
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    url = httpserver.url_for("/hook?token=t0ken-value").replace("://", "://bob:pa55word@")
    added = cli("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method",
                "webhook", "--url", url)  # fmt: skip
    assert added.code == 0, added.err
    rule_id = added.out.strip()
    emitted = cli(*PUSH)
    assert emitted.code == 1
    assert len(httpserver.log) == 1  # really sent, with the secrets
    (delivery,) = json.loads(cli("log", "--json").out)
    outputs = [
        added,
        emitted,
        cli(*PUSH, "--dry-run"),
        cli(*PUSH, "--dry-run", "--json"),
        cli("rule", "list"),
        cli("rule", "list", "--json"),
        cli("rule", "show", rule_id),
        cli("log"),
        cli("log", "show", delivery["id"]),
        cli("log", "show", delivery["id"], "--json"),
    ]
    for result in outputs:
        for secret in ("t0ken-value", "pa55word"):
            assert secret not in result.out and secret not in result.err
    assert "bob:********@" in emitted.err
    journal = b"".join(p.read_bytes() for p in state_dir.iterdir() if p.is_file())
    assert b"t0ken-value" not in journal and b"pa55word" not in journal
    shown = json.loads(cli("--show-secrets", "rule", "show", rule_id, "--json").out)
    assert shown["config"]["url"] == url


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("hipchat", ("--room-id", "7", "--notification-token", "env:HIPCHAT_TOKEN")),
        ("flowdock", ("--flow-api-token", "env:FLOWDOCK_TOKEN")),
    ],
)
def test_a_password_in_an_api_url_is_masked_wherever_the_rule_is_shown(
    cli: Cli, config_file: Path, method: str, options: tuple[str, ...]
) -> None:
    config_file.write_text(CONFIG)
    url = "https://svc:pa55word@chat.example.com:8443/base"
    added = cli("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", method,
                *options, "--api-url", url, "--json")  # fmt: skip
    assert added.code == 0, added.err
    rule_id = json.loads(added.out)["uuid"]
    outputs = [
        added,
        cli("rule", "list", "--json"),
        cli("rule", "show", rule_id),
        cli("rule", "show", rule_id, "--json"),
    ]
    for result in outputs:
        assert result.code == 0, result.err
        assert "pa55word" not in result.out + result.err
        assert "https://svc:********@chat.example.com:8443/base" in result.out
    shown = json.loads(cli("--show-secrets", "rule", "list", "--json").out)
    assert [r["config"]["api_url"] for r in shown] == [url]


def test_a_url_that_cannot_be_parsed_is_masked_whole_and_a_template_is_left_alone(
    cli: Cli, config_file: Path
) -> None:
    # Written by hand: `rule add` refuses the first URL, but `rule show` must not leak it.
    config_file.write_text(
        CONFIG + '[[rule]]\nid = "a"\nrepository = "acme/web"\nevent = "repo_push"\n'
        'method = "hipchat"\nconfig = { room_id = "1", notification_token = "env:T", '
        'api_url = "http://svc:pa55word@[bad/x" }\n\n[[rule]]\nid = "b"\n'
        'repository = "acme/web"\nevent = "repo_push"\nmethod = "webhook"\n'
        'config = { url = "http://h.example/", template = \'{"l": "https://x.example/?a=b"}\' }\n'
    )
    (bad, templated) = json.loads(cli("rule", "list", "--json").out)
    assert bad["config"]["api_url"] == "********"
    assert templated["config"]["template"] == '{"l": "https://x.example/?a=b"}'


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
