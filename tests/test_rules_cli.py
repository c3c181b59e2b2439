"""`rule add | list | show | remove | enable | disable`: ids, prefixes, Quay's validation
messages, and Quay's notification view for `rule list --json`."""

from __future__ import annotations

import json
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import NOWHERE, add_webhook, webhook_toml
from helpers.state import on_both_backends
from pytest_httpserver import HTTPServer

ADD = ("rule", "add", "--repo", "acme/web", "--method", "webhook")
URL = NOWHERE
VIEW_KEYS = [
    "id",
    "uuid",
    "title",
    "event",
    "method",
    "config",
    "event_config",
    "number_of_failures",
    "repository",
    "enabled",
]


def stored(config_file: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = tomllib.loads(config_file.read_text())["rule"]
    return rules


def one_error_line(result: Any) -> str:
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("quaynotify: error: ")
    assert "Traceback" not in result.err
    return str(result.err[len("quaynotify: error: ") :].rstrip("\n"))


# -- add ----------------------------------------------------------------------------------------


def test_add_prints_a_new_uuid_and_writes_the_rule(cli: Cli, config_file: Path) -> None:
    result = cli(*ADD, "--event", "repo_push", "--url", URL, "--title", "CI hook")
    assert result.code == 0, result.err
    rule_id = result.out.strip()
    assert result.out == f"{rule_id}\n"
    assert str(uuid.UUID(rule_id)) == rule_id and uuid.UUID(rule_id).version == 4
    assert stored(config_file) == [
        {
            "id": rule_id,
            "repository": "acme/web",
            "event": "repo_push",
            "method": "webhook",
            "title": "CI hook",
            "config": {"url": URL},
        }
    ]
    assert rule_id in result.err  # the note says what was added


def test_each_rule_gets_its_own_id(cli: Cli, config_file: Path) -> None:
    ids = {add_webhook(cli, URL) for _ in range(3)}
    assert len(ids) == 3
    assert {r["id"] for r in stored(config_file)} == ids


def test_add_stores_the_template_as_given(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    template = '{"hello": "${updated_tags[*]}", "repo": "${repository}"}'
    add_webhook(cli, URL, "--template", template)
    source = tmp_path / "body.json"
    source.write_text(template)
    add_webhook(cli, URL, "--template", f"@{source}")
    assert [r["config"] for r in stored(config_file)] == 2 * [{"url": URL, "template": template}]


@pytest.mark.parametrize(
    ("event", "options", "event_config"),
    [
        ("vulnerability_found", ("--level", "High"), {"level": "1"}),
        ("vulnerability_found", ("--level", "critical"), {"level": "0"}),
        ("vulnerability_found", ("--level", "4"), {"level": "4"}),
        ("vulnerability_found", ("--level", "Unknown"), {"level": "5"}),
        ("build_failure", ("--ref-regex", "refs/heads/(main|release-.*)"),
         {"ref-regex": "refs/heads/(main|release-.*)"}),
        ("build_queued", ("--ref-regex", ""), {}),  # blank: Quay fires for every build
        ("repo_image_expiry", ("--days", "7"), {"days": 7}),
        ("build_success", (), {}),
    ],
)  # fmt: skip
def test_add_stores_the_event_config_as_quay_does(
    cli: Cli, config_file: Path, event: str, options: tuple[str, ...], event_config: dict[str, Any]
) -> None:
    rule_id = add_webhook(cli, URL, *options, event=event)
    (rule,) = stored(config_file)
    assert rule.get("event_config", {}) == event_config
    shown = json.loads(cli("rule", "show", rule_id, "--json").out)
    assert shown["event_config"] == event_config


INVALID = [
    # (options, message): Quay's messages where Quay has one
    (("--event", "repo_push"), "Missing webhook URL"),
    (("--event", "repo_push", "--url", ""), "Missing webhook URL"),
    (("--event", "repo_push", "--url", "ftp://example.com/hook"), "Invalid webhook URL"),
    (("--event", "repo_push", "--url", "example.com/hook"), "Invalid webhook URL"),
    (("--event", "repo_push", "--url", "http:///hook"), "Invalid webhook URL"),
    (("--event", "repo_push", "--url", "http://example.com:99999/"), "Invalid webhook URL"),
    (
        ("--event", "repo_push", "--url", URL, "--template", '{"hello": "}'),
        "Could not parse template: Unterminated string starting at: line 1 column 11 (char 10)",
    ),
    (
        ("--event", "repo_push", "--url", URL, "--template", "not json"),
        "Could not parse template: Expecting value: line 1 column 1 (char 0)",
    ),
    (("--event", "repo_push", "--url", URL, "--template", '{"a":"${}"}'), "Empty expression found"),
    (
        ("--event", "repo_push", "--url", URL, "--template", '{"a": "${;;}"}'),
        "For expression `;;`: Error on line 1, col 0: Unexpected character: ;",
    ),
    (
        ("--event", "repo_push", "--url", URL, "--template", '{"a": "x ${..a}"}'),
        "For expression `..a`: Parse error at 1:0 near token .. (DOUBLEDOT)",
    ),
    (("--event", "build_success", "--url", URL, "--ref-regex", "]["), "ref-regex"),
    (("--event", "vulnerability_found", "--url", URL, "--level", "Severe"), "'Severe'"),
    (("--event", "vulnerability_found", "--url", URL, "--level", "6"), "'6'"),
    (("--event", "repo_image_expiry", "--url", URL, "--days", "0"),
     "number of days should be more than 0."),
    (("--event", "repo_push", "--url", URL, "--ref-regex", "main"), "ref-regex"),
    (("--event", "build_start", "--url", URL, "--level", "High"), "level"),
    (("--event", "repo_pushed", "--url", URL), "unknown event 'repo_pushed'"),
    (("--event", "repo_push", "--url", URL, "--email", "a@example.com"), "--email"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "message"), INVALID)
@pytest.mark.parametrize("existing", [False, True], ids=["no-file", "existing-file"])
def test_an_invalid_rule_is_refused_with_quays_message_and_never_written(
    cli: Cli, config_file: Path, existing: bool, options: tuple[str, ...], message: str
) -> None:
    if existing:
        config_file.write_text("# keep me\n[server]\nhostname = 'quay.example.com'\n")
        before = config_file.read_bytes(), config_file.stat().st_mtime_ns
    result = cli(*ADD, *options)
    assert result.code == 2
    assert message in one_error_line(result)
    if existing:
        assert (config_file.read_bytes(), config_file.stat().st_mtime_ns) == before
    else:
        assert config_file.read_bytes() == b"", "the empty config was written"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--url", "ftp://x/"), "Invalid webhook URL"),
        (("--url", URL, "--template", '{"a": "${}"}'), "Empty expression found"),
    ],
)
def test_quays_messages_are_the_whole_message(
    cli: Cli, options: tuple[str, ...], message: str
) -> None:
    assert one_error_line(cli(*ADD, "--event", "repo_push", *options)) == message


@pytest.mark.parametrize(
    ("repo", "named"),
    [
        ("acme", "'acme'"),
        ("acme/web/x", "'acme/web/x'"),
        ("Acme/web", "'Acme'"),
        ("a/web", "'a'"),
        ("acme/", "'acme/'"),
        ("acme/web app", "'web app'"),
    ],
)
def test_add_refuses_a_bad_repository(cli: Cli, config_file: Path, repo: str, named: str) -> None:
    result = cli(*ADD[:2], "--repo", repo, *ADD[4:], "--event", "repo_push", "--url", URL)
    assert result.code == 2
    message = one_error_line(result)
    assert "repository" in message and named in message
    assert config_file.read_bytes() == b"", "the empty config was written"


def test_add_refuses_an_unknown_method(cli: Cli, config_file: Path) -> None:
    result = cli("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method", "sms")
    assert result.code == 2
    assert "'sms'" in one_error_line(result)
    assert config_file.read_bytes() == b"", "the empty config was written"


# -- list and show ------------------------------------------------------------------------------


def test_list_is_tab_separated_in_file_order(cli: Cli) -> None:
    first = add_webhook(cli, URL, "--title", "Pushes")
    second = add_webhook(cli, URL, "--ref-regex", "refs/heads/main", event="build_failure")
    result = cli("rule", "list")
    assert result.code == 0
    assert result.lines == [
        f"{first}\tacme/web\trepo_push\twebhook\tenabled\tPushes",
        f"{second}\tacme/web\tbuild_failure\twebhook\tenabled\t",
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--repo", "acme/api"), ["api-push"]),
        (("--event", "repo_push"), ["web-push", "api-push"]),
        (("--event", "build_start", "--repo", "acme/web"), ["web-build"]),
        (("--method", "webhook"), ["web-push", "web-build", "api-push"]),
        (("--repo", "acme/none"), []),
    ],
)
def test_list_filters(cli: Cli, options: tuple[str, ...], expected: list[str]) -> None:
    add_webhook(cli, URL, "--title", "web-push")
    add_webhook(cli, URL, "--title", "web-build", event="build_start")
    result = cli(
        *ADD[:2],
        "--repo",
        "acme/api",
        *ADD[4:],
        "--event",
        "repo_push",
        "--url",
        URL,
        "--title",
        "api-push",
    )
    assert result.code == 0
    listed = cli("rule", "list", *options)
    assert listed.code == 0
    assert [line.split("\t")[-1] for line in listed.lines] == expected


@pytest.mark.parametrize("where", ["after", "before"])
def test_list_json_is_quays_notification_view(cli: Cli, where: str) -> None:
    push = add_webhook(cli, URL, "--title", "Pushes", "--template", '{"t": "${updated_tags}"}')
    vuln = add_webhook(cli, URL, "--level", "High", event="vulnerability_found")
    assert cli("rule", "disable", vuln[:8]).code == 0
    args = ("rule", "list", "--json") if where == "after" else ("--json", "rule", "list")
    result = cli(*args)
    assert result.code == 0
    views = json.loads(result.out)
    assert [list(v) for v in views] == [VIEW_KEYS, VIEW_KEYS]
    assert views == [
        {
            "id": push,
            "uuid": push,
            "title": "Pushes",
            "event": "repo_push",
            "method": "webhook",
            "config": {"url": URL, "template": '{"t": "${updated_tags}"}'},
            "event_config": {},
            "number_of_failures": 0,
            "repository": "acme/web",
            "enabled": True,
        },
        {
            "id": vuln,
            "uuid": vuln,
            "title": None,
            "event": "vulnerability_found",
            "method": "webhook",
            "config": {"url": URL},
            "event_config": {"level": "1"},
            "number_of_failures": 0,
            "repository": "acme/web",
            "enabled": False,
        },
    ]


def test_list_json_of_no_rules_is_an_empty_list(cli: Cli) -> None:
    result = cli("rule", "list", "--json")
    assert (result.code, json.loads(result.out)) == (0, [])


@on_both_backends
def test_list_counts_failures_from_the_journal(cli: Cli, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    emit = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    assert cli(*emit, "--max-attempts", "1").code == 1
    (view,) = json.loads(cli("rule", "list", "--json").out)
    assert (view["id"], view["number_of_failures"], view["enabled"]) == (rule_id, 1, True)


@on_both_backends
def test_reset_forgets_the_failures_rule_list_and_show_count(
    cli: Cli, httpserver: HTTPServer
) -> None:
    """The health `rule list` and `rule show` read is the state's: `rule reset` clears it."""
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    emit = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    for _ in range(2):
        assert cli(*emit, "--max-attempts", "1").code == 1
    assert json.loads(cli("rule", "show", rule_id, "--json").out)["number_of_failures"] == 2
    reset = cli("rule", "reset", rule_id[:8])
    assert reset.code == 0, reset.err
    (view,) = json.loads(cli("rule", "list", "--json").out)
    assert (view["number_of_failures"], view["enabled"]) == (0, True)
    assert json.loads(cli("rule", "show", rule_id, "--json").out)["number_of_failures"] == 0


def test_show_by_prefix(cli: Cli) -> None:
    rule_id = add_webhook(
        cli, URL, "--ref-regex", "refs/heads/main", "--title", "Broken", event="build_failure"
    )
    for given in (rule_id, rule_id[:8], rule_id[:1], rule_id.upper()[:8]):
        result = cli("rule", "show", given, "--json")
        assert result.code == 0, (given, result.err)
        view = json.loads(result.out)
        assert list(view) == VIEW_KEYS and view["id"] == view["uuid"] == rule_id
    fields = dict(line.split("\t", 1) for line in cli("rule", "show", rule_id[:8]).lines)
    assert fields["id"] == rule_id
    assert (fields["repository"], fields["event"]) == ("acme/web", "build_failure")
    assert (fields["method"], fields["title"], fields["status"]) == ("webhook", "Broken", "enabled")
    assert json.loads(fields["config"]) == {"url": URL}
    assert json.loads(fields["event_config"]) == {"ref-regex": "refs/heads/main"}


# -- ids: prefixes, ambiguity -------------------------------------------------------------------

TWINS = webhook_toml("http://127.0.0.1:9/1", id="abcd1111-0000-4000-8000-000000000001")
TWINS += webhook_toml("http://127.0.0.1:9/2", id="abcd2222-0000-4000-8000-000000000002")


@pytest.mark.parametrize(
    "command",
    [("show",), ("remove",), ("enable",), ("disable",), ("reset",)],
)
@pytest.mark.parametrize(
    ("given", "message"),
    [("abcd", "ambiguous"), ("ffff", "no rule"), ("", "no rule")],
)
def test_an_ambiguous_or_unknown_id_is_a_usage_error(
    cli: Cli, config_file: Path, command: tuple[str, ...], given: str, message: str
) -> None:
    config_file.write_text(TWINS)
    result = cli("rule", *command, given)
    assert result.code == 2
    assert message in one_error_line(result)
    assert config_file.read_text() == TWINS


def test_a_unique_prefix_is_enough(cli: Cli, config_file: Path) -> None:
    config_file.write_text(TWINS)
    assert json.loads(cli("rule", "show", "abcd2", "--json").out)["id"].startswith("abcd2222")
    assert cli("rule", "remove", "abcd1").code == 0
    assert [r["id"][:8] for r in stored(config_file)] == ["abcd2222"]


# -- remove, enable, disable ---------------------------------------------------------------------


def test_remove_several_rules_at_once(cli: Cli, config_file: Path) -> None:
    ids = [add_webhook(cli, URL) for _ in range(3)]
    result = cli("rule", "remove", ids[0][:8], ids[2])
    assert result.code == 0, result.err
    assert [r["id"] for r in stored(config_file)] == [ids[1]]
    assert ids[0] in result.err and ids[2] in result.err


def test_remove_is_all_or_nothing(cli: Cli, config_file: Path) -> None:
    ids = [add_webhook(cli, URL) for _ in range(2)]
    before = config_file.read_bytes()
    result = cli("rule", "remove", ids[0], "ffffffff")
    assert result.code == 2
    assert "ffffffff" in one_error_line(result)
    assert config_file.read_bytes() == before


def test_remove_the_last_rule_leaves_a_valid_config(cli: Cli, config_file: Path) -> None:
    rule_id = add_webhook(cli, URL)
    assert cli("rule", "remove", rule_id).code == 0
    assert "rule" not in tomllib.loads(config_file.read_text())
    assert cli("rule", "list").out == ""


def test_disable_and_enable(cli: Cli, config_file: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    emit = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')

    assert cli("rule", "disable", rule_id[:8]).code == 0
    assert stored(config_file)[0]["enabled"] is False
    assert cli("rule", "list").lines[0].split("\t")[4] == "disabled"
    skipped = cli(*emit)
    assert skipped.code == 0 and "no rule matches" in skipped.err
    assert httpserver.log == []

    assert cli("rule", "enable", rule_id[:8]).code == 0
    assert stored(config_file)[0].get("enabled", True) is True
    assert cli("rule", "list").lines[0].split("\t")[4] == "enabled"
    assert cli(*emit).code == 0
    assert len(httpserver.log) == 1


def test_disable_twice_is_harmless(cli: Cli, config_file: Path) -> None:
    rule_id = add_webhook(cli, URL)
    assert cli("rule", "disable", rule_id).code == 0
    once = config_file.read_text()
    result = cli("rule", "disable", rule_id)
    assert result.code == 0 and "disabled" in result.err
    assert config_file.read_text() == once
