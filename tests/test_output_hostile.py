"""Output that data cannot subvert: control characters from rule titles, event data, the
performer or a receiver's reason phrase reach no terminal raw (they are shown as Python's repr
shows them, `\\x1b`); data (a title, a tag, a Location header) is never read as rich markup;
JSON stays exact; and every view shows any delivery status."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import add_rule, webhook_toml, write_config
from helpers.receivers import Answering
from helpers.terminal import Tmux, on_a_terminal
from pytest_httpserver import HTTPServer
from werkzeug import Response

from quaynotify.cli.emit import report
from quaynotify.delivery.plan import Outcome
from quaynotify.output import Output
from quaynotify.store import Store
from quaynotify.store.journal import Attempt, DeliveryRecord

CONFIG = "[delivery]\nbackoff = 0\nmax_attempts = 1\n"
# Each hostile string, and how it must be shown: the raw string literal is its visible form.
# Well-formed markup (rich would style it and hide a link); a stray "[/bold]" elsewhere.
MARKUP = "[bold]loud[/bold] [link=https://evil.example/]x[/link]"
CONTROLS = "evil\x1b]0;pwned\x07\x1b[2J\x9b2J\x7f\tend\nline"
CONTROLS_SHOWN = r"evil\x1b]0;pwned\x07\x1b[2J\x9b2J\x7f\tend\nline"
ARGUMENT = "evil\x1b]0;pwned\x07\x1b[2J\x9b2J\x7f" + MARKUP  # error lines fold tabs and newlines
ARGUMENT_SHOWN = r"evil\x1b]0;pwned\x07\x1b[2J\x9b2J\x7f" + MARKUP
TAG = "\x1b[2J[/bold]"
PERFORMER = "mallory\x1b]0;owned\x07"
REASON = "\x1b]0;pwned\x07 [/bold]"
LOCATION = "http://127.0.0.1:9/[/bold][link=https://evil.example/]x[/link]"
# httpx refuses a Location with control characters; markup in one it takes.
REDIRECT = (
    f"HTTP/1.1 302 Found\r\nLocation: {LOCATION}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
).encode()
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # any but tab and newline
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own styling, on a terminal with colour


@pytest.fixture
def hostile(cli: Cli, config_file: Path, httpserver: HTTPServer) -> Iterator[dict[str, Any]]:
    """Rules with a hostile title (control characters, or markup), receivers that answer with
    a hostile reason phrase or Location, and one emit with a hostile tag and performer: the
    ids to look at, and what each view must show."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/ok").respond_with_response(Response("", status=f"200 {REASON}"))
    with Answering(REDIRECT) as redirecting:

        def add(title: str, method: str, *options: str) -> str:
            return add_rule(cli, method, "--title", title, *options)

        bell = add(CONTROLS, "quay_notification", "--target", "user:alice")
        marked = add(MARKUP, "webhook", "--url", httpserver.url_for("/ok"))
        moved = add("moved", "webhook", "--url", redirecting.url("/hook"))
        push = ("emit", "repo_push", "--repo", "acme/web", "--set",
                f"updated_tags={json.dumps([TAG])}", "--performer", PERFORMER)  # fmt: skip
        assert cli(*push).code == 1  # the redirect fails
        deliveries = {d["rule_id"]: d["id"] for d in json.loads(cli("log", "--json").out)}
        (note,) = json.loads(cli("inbox", "--user", "alice", "--json").out)
        shown_reason = r"200 \x1b]0;pwned\x07 [/bold]"
        shown_tag = r"\x1b[2J[/bold]"
        yield {
            # view: (command line, exit status, what it must show)
            "rule list": (("rule", "list"), 0, [CONTROLS_SHOWN, MARKUP]),
            "rule show": (("rule", "show", bell), 0, [CONTROLS_SHOWN]),
            "rule show markup": (("rule", "show", marked), 0, [MARKUP]),
            "emit": (push, 1, [shown_reason, LOCATION]),
            "emit dry-run": ((*push, "--dry-run"), 0, ["# webhook: POST"]),
            "log": (("log",), 0, [shown_reason, LOCATION]),
            "log show performer": (
                ("log", "show", deliveries[bell]), 0, [r"mallory\x1b]0;owned\x07", "[/bold]"],
            ),
            "log show reason": (("log", "show", deliveries[marked]), 0, [shown_reason]),
            "log show location": (("log", "show", deliveries[moved]), 0, [LOCATION]),
            "inbox": (("inbox", "--user", "alice"), 0, [shown_tag]),
            "inbox show": (("inbox", "show", note["id"]), 0, [shown_tag, "[/bold]"]),
            "error line": (
                ("emit", ARGUMENT, "--repo", "acme/web"), 2, [f"unknown event '{ARGUMENT_SHOWN}'"],
            ),
        }  # fmt: skip


VIEWS = [
    "rule list", "rule show", "rule show markup", "emit", "emit dry-run", "log",
    "log show performer", "log show reason", "log show location", "inbox", "inbox show",
    "error line",
]  # fmt: skip


@pytest.mark.parametrize("view", VIEWS)
def test_control_characters_are_shown_as_escapes_when_piped(
    cli: Cli, hostile: dict[str, Any], view: str
) -> None:
    args, code, shown = hostile[view]
    result = cli(*args)
    assert result.code == code, result.err
    text = result.out + result.err
    assert not RAW_CONTROL.findall(text), text
    assert "\t" not in result.err
    for fragment in shown:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize("view", VIEWS)
def test_control_characters_are_shown_as_escapes_on_a_terminal(
    hostile: dict[str, Any], view: str
) -> None:
    args, code, shown = hostile[view]
    # Without colour nothing of ours is an escape sequence: every control character would be
    # the data's. Wide enough that no cell folds.
    screen = on_a_terminal(list(args), code=code, NO_COLOR="1", COLUMNS="1000")
    screen = screen.replace("\r\n", "\n")
    assert not RAW_CONTROL.findall(screen), screen
    for fragment in shown:
        assert fragment in screen, (fragment, screen)


@pytest.mark.parametrize("view", VIEWS)
def test_data_is_never_markup_on_a_terminal(hostile: dict[str, Any], view: str) -> None:
    args, code, shown = hostile[view]
    screen = on_a_terminal(list(args), code=code, COLUMNS="1000")  # in colour
    assert "MarkupError" not in screen and "internal error" not in screen
    assert "\x1b]8;" not in screen, "a hidden hyperlink"
    plain = SGR.sub("", screen).replace("\r\n", "\n")
    assert not RAW_CONTROL.findall(plain), plain
    for fragment in shown:
        assert fragment in plain, (fragment, plain)


def test_a_hostile_title_neither_retitles_nor_clears_the_terminal(
    tmux: Tmux, hostile: dict[str, Any]
) -> None:
    args, _, _ = hostile["rule show"]
    screen = tmux.screen(list(args), width=250)
    assert "pwned" not in tmux.title()
    assert screen[0].startswith("id:"), "the screen was cleared"
    assert any(CONTROLS_SHOWN in line for line in screen), screen


def test_piped_rows_and_fields_keep_their_shape(cli: Cli, hostile: dict[str, Any]) -> None:
    rows = cli("rule", "list").lines
    assert len(rows) == 3 and {row.count("\t") for row in rows} == {5}
    assert rows[0].split("\t")[5] == CONTROLS_SHOWN
    fields = cli(*hostile["rule show"][0]).lines
    assert {line.count("\t") for line in fields} == {1}
    assert dict(line.split("\t") for line in fields)["title"] == CONTROLS_SHOWN


@pytest.mark.parametrize(
    "args",
    [("rule", "list", "--json"), ("log", "--json")],
    ids=" ".join,
)
def test_json_is_exact_and_escapes_every_control_character(
    cli: Cli, hostile: dict[str, Any], args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.code == 0, result.err
    assert not RAW_CONTROL.findall(result.out), "JSON escapes them: \\u001b, \\u009b"
    document = json.loads(result.out)
    if args[0] == "rule":
        assert [r["title"] for r in document] == [CONTROLS, MARKUP, "moved"]
    else:
        assert PERFORMER in {d["performer"] for d in document}


def test_bidirectional_controls_cannot_reorder_what_a_line_shows(
    cli: Cli, config_file: Path
) -> None:
    title = "invoice\u202egpj.exe\u2066x\u2069"  # shows as "invoiceexe.jpg..." when raw
    write_config(config_file, webhook_toml("http://127.0.0.1:9/", id="b", title=title))
    (row,) = cli("rule", "list").lines
    assert row.split("\t")[5] == r"invoice\u202egpj.exe\u2066x\u2069"
    shown = cli("rule", "list", "--json").out
    assert "\u202e" not in shown and json.loads(shown)[0]["title"] == title


# -- any delivery status ------------------------------------------------------------------------


INTERRUPTED = DeliveryRecord(
    id="d0000000-0000-4000-8000-000000000000", event="repo_push", repository="acme/web",
    rule_id="r0000000-0000-4000-8000-000000000000", method="webhook", status="interrupted",
    data={"updated_tags": ["v1"]}, error="interrupted before the receiver answered",
    attempts=(Attempt(number=1, started=1.0, duration=0.5, ok=False, status=None,
                      message="interrupted"),),
)  # fmt: skip


def test_the_journal_views_show_a_status_they_do_not_know(
    cli: Cli, config_file: Path, store: Store
) -> None:
    # `interrupted` is coming (Ctrl-C); a view shows whatever status the journal holds, on
    # either backend.
    config_file.write_text(CONFIG)
    store.journal.record([INTERRUPTED])
    (row,) = [line.split("\t") for line in cli("log").lines]
    assert row[5] == "interrupted"
    assert ["status", "interrupted"] in [
        line.split("\t") for line in cli("log", "show", "d0").lines
    ]
    (view,) = json.loads(cli("log", "--failed", "--json").out)
    assert view["status"] == "interrupted"


def test_a_delivery_report_names_a_status_it_does_not_know(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = Outcome("repo_push", "acme/web", deliveries=(INTERRUPTED,), matched=1)
    assert report(Output(), outcome) == 1
    out, err = capsys.readouterr()
    assert out.split("\t")[3] == "interrupted"
    assert err == (
        f"quaynotify: warning: delivery {INTERRUPTED.id} to rule {INTERRUPTED.rule_id} "
        "interrupted after 1 attempt: interrupted before the receiver answered\n"
    )
